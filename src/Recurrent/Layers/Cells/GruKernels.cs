using System.Runtime.CompilerServices;
using Recurrent.Tensors;

namespace Recurrent.Layers.Cells;

/// <summary>
/// The fused pointwise part of one GRU step for one batch row (gate order r, z, n as PyTorch):
///   r = σ(a_r), z = σ(a_z), n = tanh(x_n + r ⊙ (W_hn h_{t−1} + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
/// where a_r, a_z = W_i· x + b_i· + W_h· h + b_h· and x_n = W_in x + b_in. The reset gate multiplies the hidden
/// projection including b_hn, so that part is kept apart from the input part.
/// Each call covers hidden units [from, to) of the row (every gate's block): one thread's share of a step.
/// </summary>
internal static class GruKernels
{
    /// <param name="gates">[3H]: (a_r, a_z, x_n) in, activations (r, z, n) out — kept for backward.</param>
    /// <param name="hiddenProjection">[3H] W_hh h_{t−1} (no bias); only its n block is read here.</param>
    /// <param name="hn">[H] out: W_hn h_{t−1} + b_hn, kept for backward.</param>
    /// <param name="h">[H] h_t out; output: h_t again, the layer's output row.</param>
    /// <param name="biasHn">[H] b_hn.</param>
    /// <param name="hPrev">[H] h_{t−1}.</param>
    /// <param name="output">[H] out: h_t again, the layer's output row.</param>
    /// <param name="hidden">H: the width of one gate block.</param>
    /// <param name="from">the first hidden unit of this call's share.</param>
    /// <param name="to">one past its last.</param>
    public static void Forward(Span<float> gates, ReadOnlySpan<float> hiddenProjection, ReadOnlySpan<float> biasHn,
        ReadOnlySpan<float> hPrev, Span<float> hn, Span<float> h, Span<float> output, int hidden, int from, int to)
    {
        if (Simd.Is512) Forward<Vec512>(gates, hiddenProjection, biasHn, hPrev, hn, h, output, hidden, from, to);
        else if (Simd.Is256) Forward<Vec256>(gates, hiddenProjection, biasHn, hPrev, hn, h, output, hidden, from, to);
        else Forward<Vec128>(gates, hiddenProjection, biasHn, hPrev, hn, h, output, hidden, from, to);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Forward<V>(Span<float> gates, ReadOnlySpan<float> hiddenProjection, ReadOnlySpan<float> biasHn,
        ReadOnlySpan<float> hPrev, Span<float> hn, Span<float> h, Span<float> output, int hidden, int from, int to)
        where V : struct, IFloatVector<V>
    {
        for (int j = from; j < to; j += V.Count)
        {
            int k = Math.Min(V.Count, to - j);
            V r = VectorMath.Sigmoid(Lanes.Load<V>(gates[j..], k) + Lanes.Load<V>(hiddenProjection[j..], k));
            V z = VectorMath.Sigmoid(Lanes.Load<V>(gates[(hidden + j)..], k) + Lanes.Load<V>(hiddenProjection[(hidden + j)..], k));
            V hnv = Lanes.Load<V>(hiddenProjection[(2 * hidden + j)..], k) + Lanes.Load<V>(biasHn[j..], k);
            V n = VectorMath.Tanh(Lanes.Load<V>(gates[(2 * hidden + j)..], k) + r * hnv);
            Lanes.Store(r, gates[j..], k);
            Lanes.Store(z, gates[(hidden + j)..], k);
            Lanes.Store(n, gates[(2 * hidden + j)..], k);
            Lanes.Store(hnv, hn[j..], k);
            V ht = n + z * (Lanes.Load<V>(hPrev[j..], k) - n);
            Lanes.Store(ht, h[j..], k);
            Lanes.Store(ht, output[j..], k);
        }
    }

    /// <summary>
    /// Backward through one step: dn = dh(1−z), dz = dh(h_{t−1} − n), da_n = dn(1−n²), dr = da_n ⊙ hn,
    /// da_r = dr r(1−r), da_z = dz z(1−z); the input side gets (da_r, da_z, da_n), the hidden side (da_r, da_z, da_n ⊙ r),
    /// and h_{t−1} gets dh ⊙ z directly (plus the hidden side through W_hh, added by the caller's GEMM). The hidden
    /// side's r and z blocks are the input side's, so only its n block is written.
    /// </summary>
    /// <param name="gates">[3H]: (r, z, n) in, input-side gradients out (in place).</param>
    /// <param name="hiddenGradN">[H] out: the hidden side's n block, da_n ⊙ r.</param>
    /// <param name="dhPrev">[H] out: dh ⊙ z.</param>
    /// <param name="hn">[H] W_hn h_{t−1} + b_hn, kept by Forward.</param>
    /// <param name="hPrev">[H] h_{t−1}.</param>
    /// <param name="dh">[H] dL/dh_t in full.</param>
    /// <param name="hidden">H: the width of one gate block.</param>
    /// <param name="from">the first hidden unit of this call's share.</param>
    /// <param name="to">one past its last.</param>
    public static void Backward(Span<float> gates, ReadOnlySpan<float> hn, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> dh, Span<float> hiddenGradN, Span<float> dhPrev, int hidden, int from, int to)
    {
        if (Simd.Is512) Backward<Vec512>(gates, hn, hPrev, dh, hiddenGradN, dhPrev, hidden, from, to);
        else if (Simd.Is256) Backward<Vec256>(gates, hn, hPrev, dh, hiddenGradN, dhPrev, hidden, from, to);
        else Backward<Vec128>(gates, hn, hPrev, dh, hiddenGradN, dhPrev, hidden, from, to);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Backward<V>(Span<float> gates, ReadOnlySpan<float> hn, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> dh, Span<float> hiddenGradN, Span<float> dhPrev, int hidden, int from, int to)
        where V : struct, IFloatVector<V>
    {
        V one = V.One;
        for (int j = from; j < to; j += V.Count)
        {
            int k = Math.Min(V.Count, to - j);
            V r = Lanes.Load<V>(gates[j..], k);
            V z = Lanes.Load<V>(gates[(hidden + j)..], k);
            V n = Lanes.Load<V>(gates[(2 * hidden + j)..], k);
            V dhv = Lanes.Load<V>(dh[j..], k);
            V dan = dhv * (one - z) * (one - n * n);
            V dar = dan * Lanes.Load<V>(hn[j..], k) * r * (one - r);
            V daz = dhv * (Lanes.Load<V>(hPrev[j..], k) - n) * z * (one - z);
            Lanes.Store(dar, gates[j..], k);
            Lanes.Store(daz, gates[(hidden + j)..], k);
            Lanes.Store(dan, gates[(2 * hidden + j)..], k);
            Lanes.Store(dan * r, hiddenGradN[j..], k);
            Lanes.Store(dhv * z, dhPrev[j..], k);
        }
    }
}
