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
        Lanes.CheckRange(from, to);
        ref float a = ref Lanes.Row(gates, 2 * hidden + to), hp = ref Lanes.Row(hiddenProjection, 2 * hidden + to);
        ref float b = ref Lanes.Row(biasHn, to), prev = ref Lanes.Row(hPrev, to), hnr = ref Lanes.Row(hn, to);
        ref float hr = ref Lanes.Row(h, to), or = ref Lanes.Row(output, to);
        int j = from;
        for (; j + V.Count <= to; j += V.Count) ForwardUnits<V>(ref a, ref hp, ref b, ref prev, ref hnr, ref hr, ref or,
            hidden, j, V.Count);
        if (j < to) ForwardTail<V>(ref a, ref hp, ref b, ref prev, ref hnr, ref hr, ref or, hidden, j, to - j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void ForwardTail<V>(ref float gates, ref float hiddenProjection, ref float biasHn, ref float hPrev,
        ref float hn, ref float h, ref float output, int hidden, int j, int k)
        where V : struct, IFloatVector<V> => ForwardUnits<V>(ref gates, ref hiddenProjection, ref biasHn, ref hPrev,
            ref hn, ref h, ref output, hidden, j, k);

    /// <summary>Units [j, j + k) of <see cref="Forward"/>, k ≤ V.Count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardUnits<V>(ref float gates, ref float hiddenProjection, ref float biasHn, ref float hPrev,
        ref float hn, ref float h, ref float output, int hidden, int j, int k)
        where V : struct, IFloatVector<V>
    {
        V r = VectorMath.Sigmoid(Lanes.Load<V>(ref gates, j, k) + Lanes.Load<V>(ref hiddenProjection, j, k));
        V z = VectorMath.Sigmoid(Lanes.Load<V>(ref gates, hidden + j, k) + Lanes.Load<V>(ref hiddenProjection, hidden + j, k));
        V hnv = Lanes.Load<V>(ref hiddenProjection, 2 * hidden + j, k) + Lanes.Load<V>(ref biasHn, j, k);
        V n = VectorMath.Tanh(Lanes.Load<V>(ref gates, 2 * hidden + j, k) + r * hnv);
        Lanes.Store(r, ref gates, j, k);
        Lanes.Store(z, ref gates, hidden + j, k);
        Lanes.Store(n, ref gates, 2 * hidden + j, k);
        Lanes.Store(hnv, ref hn, j, k);
        V ht = n + z * (Lanes.Load<V>(ref hPrev, j, k) - n);
        Lanes.Store(ht, ref h, j, k);
        Lanes.Store(ht, ref output, j, k);
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
        Lanes.CheckRange(from, to);
        ref float a = ref Lanes.Row(gates, 2 * hidden + to), hnr = ref Lanes.Row(hn, to), prev = ref Lanes.Row(hPrev, to);
        ref float dhr = ref Lanes.Row(dh, to);
        ref float gn = ref Lanes.Row(hiddenGradN, to), dprev = ref Lanes.Row(dhPrev, to);
        int j = from;
        for (; j + V.Count <= to; j += V.Count) BackwardUnits<V>(ref a, ref hnr, ref prev, ref dhr, ref gn, ref dprev, hidden, j, V.Count);
        if (j < to) BackwardTail<V>(ref a, ref hnr, ref prev, ref dhr, ref gn, ref dprev, hidden, j, to - j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BackwardTail<V>(ref float gates, ref float hn, ref float hPrev, ref float dh,
        ref float hiddenGradN, ref float dhPrev, int hidden, int j, int k)
        where V : struct, IFloatVector<V> => BackwardUnits<V>(ref gates, ref hn, ref hPrev, ref dh, ref hiddenGradN,
            ref dhPrev, hidden, j, k);

    /// <summary>Units [j, j + k) of <see cref="Backward"/>, k ≤ V.Count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BackwardUnits<V>(ref float gates, ref float hn, ref float hPrev, ref float dh,
        ref float hiddenGradN, ref float dhPrev, int hidden, int j, int k)
        where V : struct, IFloatVector<V>
    {
        V one = V.One;
        V r = Lanes.Load<V>(ref gates, j, k);
        V z = Lanes.Load<V>(ref gates, hidden + j, k);
        V n = Lanes.Load<V>(ref gates, 2 * hidden + j, k);
        V dhv = Lanes.Load<V>(ref dh, j, k);
        V dan = dhv * (one - z) * (one - n * n);
        V dar = dan * Lanes.Load<V>(ref hn, j, k) * r * (one - r);
        V daz = dhv * (Lanes.Load<V>(ref hPrev, j, k) - n) * z * (one - z);
        Lanes.Store(dar, ref gates, j, k);
        Lanes.Store(daz, ref gates, hidden + j, k);
        Lanes.Store(dan, ref gates, 2 * hidden + j, k);
        Lanes.Store(dan * r, ref hiddenGradN, j, k);
        Lanes.Store(dhv * z, ref dhPrev, j, k);
    }
}
