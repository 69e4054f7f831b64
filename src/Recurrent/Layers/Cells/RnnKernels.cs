using System.Runtime.Intrinsics;
using Recurrent.Tensors;
using V = System.Runtime.Intrinsics.Vector512<float>;

namespace Recurrent.Layers.Cells;

/// <summary>
/// The pointwise part of one vanilla RNN step for one batch row: h_t = act(a), a = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh,
/// act = tanh, or ReLU for the IRNN. Backward: da = dh ⊙ act'(a), written with h_t alone (1 − h² or [h > 0]).
/// </summary>
internal static class RnnKernels
{
    /// <param name="preactivation">[H]: a in, h_t out (in place; it is the only thing backward needs).</param>
    public static void Forward(Span<float> preactivation, bool relu, int hidden)
    {
        for (int j = 0; j < hidden; j += Lanes.Width)
        {
            int k = Math.Min(Lanes.Width, hidden - j);
            V a = Lanes.Load(preactivation[j..], k);
            Lanes.Store(relu ? Vector512.Max(a, V.Zero) : VectorMath.Tanh(a), preactivation[j..], k);
        }
    }

    /// <param name="h">[H]: h_t in, da out (in place).</param>
    public static void Backward(Span<float> h, ReadOnlySpan<float> dh, bool relu, int hidden)
    {
        for (int j = 0; j < hidden; j += Lanes.Width)
        {
            int k = Math.Min(Lanes.Width, hidden - j);
            V hv = Lanes.Load(h[j..], k);
            V dhv = Lanes.Load(dh[j..], k);
            V da = relu ? Vector512.ConditionalSelect(Vector512.GreaterThan(hv, V.Zero), dhv, V.Zero) : dhv * (V.One - hv * hv);
            Lanes.Store(da, h[j..], k);
        }
    }
}
