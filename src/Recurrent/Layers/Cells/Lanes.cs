using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Tensors;

namespace Recurrent.Layers.Cells;

/// <summary>
/// Loads and stores of up to one vector of floats (TV.Count: 16, 8 or 4, the width picked at startup) on spans, so a
/// cell kernel is written once for whole vectors and for the tail of a row whose length is not a multiple of the
/// width (the tail goes through the vector's masked load and store; lanes past the row read as zero and are never
/// written).
/// </summary>
internal static class Lanes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(ReadOnlySpan<float> source, int count) where TV : struct, IFloatVector<TV> =>
        count == TV.Count
            ? TV.Load(ref MemoryMarshal.GetReference(source[..TV.Count]), 0)
            : TV.LoadPartial(ref MemoryMarshal.GetReference(source), count, TV.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(TV value, Span<float> destination, int count) where TV : struct, IFloatVector<TV>
    {
        if (count == TV.Count) TV.Store(value, ref MemoryMarshal.GetReference(destination[..TV.Count]), 0);
        else TV.StorePartial(value, ref MemoryMarshal.GetReference(destination), count);
    }
}
