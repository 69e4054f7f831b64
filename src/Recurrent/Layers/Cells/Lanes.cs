using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Tensors;

namespace Recurrent.Layers.Cells;

/// <summary>
/// Loads and stores of up to one vector of floats (TV.Count: 16, 8 or 4, the width picked at startup) at an offset
/// into a row, for the cell kernels. A row is a reference to its first float, taken by <see cref="Row"/> once its
/// length has been checked, so the loop's loads and stores are plain vector moves: slicing a span for every vector,
/// with its bounds checks, made the LSTM cell's forward step 16–22 % slower at AVX2 (4.8–5.1 ns a unit against 4.2).
/// A kernel's loop body takes lanes [at, at + count), count ≤ TV.Count, and is written once: inlined into the
/// whole-vector loop with count = TV.Count (a constant to the JIT, which folds the tests below), and called for the
/// tail through a method of its own that is not inlined. The JIT inlines both arms of a test before it folds it, and
/// the temporaries of a second inlined copy of the body, or of the masked moves inlined into the first, made it spill
/// the loop's vectors: the LSTM cell took 4.7–4.9 ns a unit at AVX2 with either, 4.2 with neither. Those calls are
/// compiled fully optimized at once (AggressiveOptimization, as the kernels): left to tiering, a row with a tail (H = 150
/// or 200 at AVX-512) ran 5–8× slower until they were recompiled. Lanes past count read as zero and are never written.
/// </summary>
internal static class Lanes
{
    /// <summary>The first float of a row of which the kernel touches [0, length), after checking it is that long.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref float Row(ReadOnlySpan<float> row, int length)
    {
        if ((uint)length > (uint)row.Length) TooShort(row.Length, length);
        return ref MemoryMarshal.GetReference(row);
    }

    /// <summary>Throws unless 0 ≤ from ≤ to: the unit range of a kernel call, whose rows were checked for `to` units.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CheckRange(int from, int to)
    {
        if (from < 0 || from > to) BadRange(from, to);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(ref float row, int at, int count) where TV : struct, IFloatVector<TV> =>
        count == TV.Count ? TV.Load(ref row, (nuint)at) : LoadPartial<TV>(ref Unsafe.Add(ref row, at), count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(TV value, ref float row, int at, int count) where TV : struct, IFloatVector<TV>
    {
        if (count == TV.Count) TV.Store(value, ref row, (nuint)at);
        else StorePartial(value, ref Unsafe.Add(ref row, at), count);
    }

    // The masked moves are calls, not inlined (see the class comment).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static TV LoadPartial<TV>(ref float src, int count) where TV : struct, IFloatVector<TV> =>
        TV.LoadPartial(ref src, count, TV.Zero);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void StorePartial<TV>(TV value, ref float dst, int count) where TV : struct, IFloatVector<TV> =>
        TV.StorePartial(value, ref dst, count);

    // Throwing apart, so that the checks above inline (the JIT does not inline a method that throws).
    private static void TooShort(int length, int needed) =>
        throw new ArgumentException($"cell kernel: a row of {length} floats where {needed} are needed");

    private static void BadRange(int from, int to) =>
        throw new ArgumentOutOfRangeException(nameof(from), $"cell kernel: units [{from}, {to})");
}
