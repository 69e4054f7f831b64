using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Recurrent.Tensors;

namespace Recurrent.Layers.Cells;

/// <summary>
/// Loads and stores of up to 16 floats as one Vector512 on spans, so a cell kernel is written once for whole vectors
/// and for the tail of a row whose length is not a multiple of 16 (the tail goes through <see cref="Tail"/>'s masked
/// load and store; lanes past the row read as zero and are never written).
/// </summary>
internal static class Lanes
{
    public const int Width = 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ReadOnlySpan<float> source, int count) =>
        count == Width ? Vector512.Create(source) : Tail.Load(ref MemoryMarshal.GetReference(source), count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, Span<float> destination, int count)
    {
        if (count == Width) value.CopyTo(destination);
        else Tail.Store(ref MemoryMarshal.GetReference(destination), count, value);
    }
}
