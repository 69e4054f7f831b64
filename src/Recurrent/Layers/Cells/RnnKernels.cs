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
        for (int j = from; j < to; j += V.Count)
        {
            int k = Math.Min(V.Count, to - j);
            V a = Lanes.Load<V>(preactivation[j..], k);
            V ht = relu ? V.Max(a, V.Zero) : VectorMath.Tanh(a);
            Lanes.Store(ht, preactivation[j..], k);
            Lanes.Store(ht, h[j..], k);
            Lanes.Store(ht, output[j..], k);
        }
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
        for (int j = from; j < to; j += V.Count)
        {
            int k = Math.Min(V.Count, to - j);
            V hv = Lanes.Load<V>(h[j..], k);
            V dhv = Lanes.Load<V>(dh[j..], k);
            V da = relu ? V.ConditionalSelect(V.GreaterThan(hv, V.Zero), dhv, V.Zero) : dhv * (V.One - hv * hv);
            Lanes.Store(da, h[j..], k);
        }
    }
}
