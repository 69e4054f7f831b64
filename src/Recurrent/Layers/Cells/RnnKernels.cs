using System.Runtime.CompilerServices;
using Recurrent.Tensors;

namespace Recurrent.Layers.Cells;

/// <summary>
/// The pointwise part of one vanilla RNN step for one batch row: h_t = act(a), a = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh,
/// act = tanh, or ReLU for the IRNN. Backward: da = dh ⊙ act'(a), written with h_t alone (1 − h² or [h > 0]).
/// Each call covers hidden units [from, to) of the row: one thread's share of a step.
/// </summary>
internal static class RnnKernels
{
    /// <param name="preactivation">[H]: a in, h_t out (in place; it is the only thing backward needs).</param>
    /// <param name="h">[H] h_t out again (the state), and output: the layer's output row.</param>
    /// <param name="output">[H] out: h_t again, the layer's output row.</param>
    /// <param name="relu">ReLU (the IRNN) instead of tanh.</param>
    /// <param name="from">the first hidden unit of this call's share.</param>
    /// <param name="to">one past its last.</param>
    public static void Forward(Span<float> preactivation, Span<float> h, Span<float> output, bool relu, int from, int to)
    {
        if (Simd.Is512) Forward<Vec512>(preactivation, h, output, relu, from, to);
        else if (Simd.Is256) Forward<Vec256>(preactivation, h, output, relu, from, to);
        else Forward<Vec128>(preactivation, h, output, relu, from, to);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Forward<V>(Span<float> preactivation, Span<float> h, Span<float> output, bool relu, int from, int to)
        where V : struct, IFloatVector<V>
    {
        Lanes.CheckRange(from, to);
        ref float a = ref Lanes.Row(preactivation, to), hr = ref Lanes.Row(h, to), or = ref Lanes.Row(output, to);
        int j = from;
        for (; j + V.Count <= to; j += V.Count) ForwardUnits<V>(ref a, ref hr, ref or, relu, j, V.Count);
        if (j < to) ForwardTail<V>(ref a, ref hr, ref or, relu, j, to - j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void ForwardTail<V>(ref float preactivation, ref float h, ref float output, bool relu, int j, int k)
        where V : struct, IFloatVector<V> => ForwardUnits<V>(ref preactivation, ref h, ref output, relu, j, k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardUnits<V>(ref float preactivation, ref float h, ref float output, bool relu, int j, int k)
        where V : struct, IFloatVector<V>
    {
        V a = Lanes.Load<V>(ref preactivation, j, k);
        V ht = relu ? V.Max(a, V.Zero) : VectorMath.Tanh(a);
        Lanes.Store(ht, ref preactivation, j, k);
        Lanes.Store(ht, ref h, j, k);
        Lanes.Store(ht, ref output, j, k);
    }

    /// <param name="h">[H]: h_t in, da out (in place).</param>
    /// <param name="dh">[H] dL/dh_t in full.</param>
    /// <param name="relu">ReLU (the IRNN) instead of tanh.</param>
    /// <param name="from">the first hidden unit of this call's share.</param>
    /// <param name="to">one past its last.</param>
    public static void Backward(Span<float> h, ReadOnlySpan<float> dh, bool relu, int from, int to)
    {
        if (Simd.Is512) Backward<Vec512>(h, dh, relu, from, to);
        else if (Simd.Is256) Backward<Vec256>(h, dh, relu, from, to);
        else Backward<Vec128>(h, dh, relu, from, to);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Backward<V>(Span<float> h, ReadOnlySpan<float> dh, bool relu, int from, int to)
        where V : struct, IFloatVector<V>
    {
        Lanes.CheckRange(from, to);
        ref float hr = ref Lanes.Row(h, to), dhr = ref Lanes.Row(dh, to);
        int j = from;
        for (; j + V.Count <= to; j += V.Count) BackwardUnits<V>(ref hr, ref dhr, relu, j, V.Count);
        if (j < to) BackwardTail<V>(ref hr, ref dhr, relu, j, to - j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BackwardTail<V>(ref float h, ref float dh, bool relu, int j, int k)
        where V : struct, IFloatVector<V> => BackwardUnits<V>(ref h, ref dh, relu, j, k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BackwardUnits<V>(ref float h, ref float dh, bool relu, int j, int k)
        where V : struct, IFloatVector<V>
    {
        V hv = Lanes.Load<V>(ref h, j, k);
        V dhv = Lanes.Load<V>(ref dh, j, k);
        V da = relu ? V.ConditionalSelect(V.GreaterThan(hv, V.Zero), dhv, V.Zero) : dhv * (V.One - hv * hv);
        Lanes.Store(da, ref h, j, k);
    }
}
