using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Recurrent.Tensors;
using V = System.Runtime.Intrinsics.Vector512<float>;

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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(Span<float> preactivation, Span<float> h, Span<float> output, bool relu, int from, int to)
    {
        for (int j = from; j < to; j += Lanes.Width)
        {
            int k = Math.Min(Lanes.Width, to - j);
            V a = Lanes.Load(preactivation[j..], k);
            V ht = relu ? Vector512.Max(a, V.Zero) : VectorMath.Tanh(a);
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(Span<float> h, ReadOnlySpan<float> dh, bool relu, int from, int to)
    {
        for (int j = from; j < to; j += Lanes.Width)
        {
            int k = Math.Min(Lanes.Width, to - j);
            V hv = Lanes.Load(h[j..], k);
            V dhv = Lanes.Load(dh[j..], k);
            V da = relu ? Vector512.ConditionalSelect(Vector512.GreaterThan(hv, V.Zero), dhv, V.Zero) : dhv * (V.One - hv * hv);
            Lanes.Store(da, h[j..], k);
        }
    }
}
