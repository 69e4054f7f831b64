using System.Runtime.CompilerServices;
using Recurrent.Tensors;

namespace Recurrent.Layers.Cells;

/// <summary>
/// The pointwise part of one leaky-integrator step for one batch row (see <see cref="Leak"/>):
///   n = tanh(a),  h_t = (1 − α) ⊙ h_{t−1} + α ⊙ n,   a = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
/// Backward: da = dh ⊙ α ⊙ (1 − n²); h_{t−1} gets dh ⊙ (1 − α) directly (plus da W_hh, the caller's GEMM), as the GRU's
/// z ⊙ h_{t−1} term; dα = dh ⊙ (n − h_{t−1}). Kept for backward: n (in the gate row) and h_{t−1} (the caller's states).
/// h_t is written as (1 − α)·h_{t−1} + α·n so that α = 1 gives tanh(a) to the bit, as the tanh RNN's kernel does.
/// Each call covers hidden units [from, to) of the row: one thread's share of a step.
/// </summary>
internal static class LeakyKernels
{
    /// <param name="gates">[H]: a in, n = tanh(a) out (kept for backward).</param>
    /// <param name="alpha">[H] each unit's α.</param>
    /// <param name="h">[H] h_t out; may be hPrev itself (each unit is read before it is written). output: h_t again.</param>
    /// <param name="hPrev">[H] h_{t−1}.</param>
    /// <param name="output">[H] out: h_t again, the layer's output row.</param>
    /// <param name="from">the first hidden unit of this call's share.</param>
    /// <param name="to">one past its last.</param>
    public static void Forward(Span<float> gates, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> alpha, Span<float> h, Span<float> output,
        int from, int to)
    {
        if (Simd.Is512) Forward<Vec512>(gates, hPrev, alpha, h, output, from, to);
        else if (Simd.Is256) Forward<Vec256>(gates, hPrev, alpha, h, output, from, to);
        else Forward<Vec128>(gates, hPrev, alpha, h, output, from, to);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Forward<V>(Span<float> gates, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> alpha, Span<float> h,
        Span<float> output, int from, int to)
        where V : struct, IFloatVector<V>
    {
        Lanes.CheckRange(from, to);
        ref float g = ref Lanes.Row(gates, to), prev = ref Lanes.Row(hPrev, to), al = ref Lanes.Row(alpha, to);
        ref float hr = ref Lanes.Row(h, to), or = ref Lanes.Row(output, to);
        int j = from;
        for (; j + V.Count <= to; j += V.Count) ForwardUnits<V>(ref g, ref prev, ref al, ref hr, ref or, j, V.Count);
        if (j < to) ForwardTail<V>(ref g, ref prev, ref al, ref hr, ref or, j, to - j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void ForwardTail<V>(ref float gates, ref float hPrev, ref float alpha, ref float h, ref float output,
        int j, int k)
        where V : struct, IFloatVector<V> => ForwardUnits<V>(ref gates, ref hPrev, ref alpha, ref h, ref output, j, k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardUnits<V>(ref float gates, ref float hPrev, ref float alpha, ref float h, ref float output,
        int j, int k)
        where V : struct, IFloatVector<V>
    {
        V n = VectorMath.Tanh(Lanes.Load<V>(ref gates, j, k));
        V a = Lanes.Load<V>(ref alpha, j, k);
        V ht = (V.One - a) * Lanes.Load<V>(ref hPrev, j, k) + a * n;
        Lanes.Store(n, ref gates, j, k);
        Lanes.Store(ht, ref h, j, k);
        Lanes.Store(ht, ref output, j, k);
    }

    /// <param name="gates">[H]: n in, da out (in place).</param>
    /// <param name="dh">[H] dL/dh_t in full.</param>
    /// <param name="dhPrev">[H] out: dh ⊙ (1 − α), the part of dL/dh_{t−1} that bypasses W_hh.</param>
    /// <param name="dAlpha">[H] += dh ⊙ (n − h_{t−1}); empty when α is fixed (nothing to learn).</param>
    /// <param name="hPrev">[H] h_{t−1}.</param>
    /// <param name="alpha">[H] each unit's α.</param>
    /// <param name="from">the first hidden unit of this call's share.</param>
    /// <param name="to">one past its last.</param>
    public static void Backward(Span<float> gates, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> alpha, ReadOnlySpan<float> dh,
        Span<float> dhPrev, Span<float> dAlpha, int from, int to)
    {
        if (Simd.Is512) Backward<Vec512>(gates, hPrev, alpha, dh, dhPrev, dAlpha, from, to);
        else if (Simd.Is256) Backward<Vec256>(gates, hPrev, alpha, dh, dhPrev, dAlpha, from, to);
        else Backward<Vec128>(gates, hPrev, alpha, dh, dhPrev, dAlpha, from, to);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Backward<V>(Span<float> gates, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> alpha, ReadOnlySpan<float> dh,
        Span<float> dhPrev, Span<float> dAlpha, int from, int to)
        where V : struct, IFloatVector<V>
    {
        Lanes.CheckRange(from, to);
        bool learned = !dAlpha.IsEmpty;
        ref float g = ref Lanes.Row(gates, to), prev = ref Lanes.Row(hPrev, to), al = ref Lanes.Row(alpha, to);
        ref float dhr = ref Lanes.Row(dh, to), dprev = ref Lanes.Row(dhPrev, to);
        ref float da = ref Lanes.Row(dAlpha, learned ? to : 0);
        int j = from;
        for (; j + V.Count <= to; j += V.Count) BackwardUnits<V>(ref g, ref prev, ref al, ref dhr, ref dprev, ref da, learned, j, V.Count);
        if (j < to) BackwardTail<V>(ref g, ref prev, ref al, ref dhr, ref dprev, ref da, learned, j, to - j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BackwardTail<V>(ref float gates, ref float hPrev, ref float alpha, ref float dh, ref float dhPrev,
        ref float dAlpha, bool learned, int j, int k)
        where V : struct, IFloatVector<V> => BackwardUnits<V>(ref gates, ref hPrev, ref alpha, ref dh, ref dhPrev,
            ref dAlpha, learned, j, k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BackwardUnits<V>(ref float gates, ref float hPrev, ref float alpha, ref float dh, ref float dhPrev,
        ref float dAlpha, bool learned, int j, int k)
        where V : struct, IFloatVector<V>
    {
        V n = Lanes.Load<V>(ref gates, j, k);
        V a = Lanes.Load<V>(ref alpha, j, k);
        V dhv = Lanes.Load<V>(ref dh, j, k);
        Lanes.Store(dhv * a * (V.One - n * n), ref gates, j, k);
        Lanes.Store(dhv * (V.One - a), ref dhPrev, j, k);
        if (learned) Lanes.Store(Lanes.Load<V>(ref dAlpha, j, k) + dhv * (n - Lanes.Load<V>(ref hPrev, j, k)), ref dAlpha, j, k);
    }
}
