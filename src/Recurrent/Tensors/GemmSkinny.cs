using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>
/// C[i, j] (+)= Σ_p A[i, p]·B[j, p] for a handful of rows of A (m ≤ <see cref="MaxRows"/>) times Bᵀ: batch-1 sampling's
/// x·W_ihᵀ and h·W_hhᵀ. Each output is a dot product of two contiguous rows, so B is streamed once straight from
/// where it lives; packing it (as the blocked path does) would cost more than the product. Four rows of B at a time
/// share each load of A, while the next four rows are prefetched: B (W_hh, 4 MiB for LSTM 512) comes from L3 at every
/// step, and the hardware prefetcher alone leaves the loads waiting (sampling was faster in 9 of 10 alternating runs).
/// Deterministic: an element's sum depends on k alone, never on the thread split.
/// </summary>
internal static unsafe class GemmSkinny
{
    public const int MaxRows = 4;

    /// <summary>
    /// A few rows times B read B once: the product costs its bytes, not its FLOPs, and is worth a second thread from
    /// 256 KiB of B on (an embedding-sized W_ih, 2048×64), below Gemm's threshold in multiply-adds.
    /// </summary>
    public const long ParallelMinFloats = 1 << 16;

    public static bool Applies(in GemmProblem g) => g.PackedB == null && g.M <= MaxRows && !g.TransA && g.TransB;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem g, int i0, int i1, int j0, int j1)
    {
        for (int i = i0; i < i1; i++)
            Sweep(g.A + (long)i * g.Lda, g.B, g.Ldb, g.K, g.C + (long)i * g.Ldc, g.Bias, g.Accumulate, j0, j1, descending: false);
    }

    /// <summary>
    /// y[j] = x·W[j] (+ bias[j]) for the rows j in [j0, j1) of W [n, ldw] (k used columns): the dot products
    /// <see cref="Run"/> computes for one row of A, to the bit, in ascending or descending order of j. Batch-1 sampling
    /// sweeps its weights in alternate directions, so that a sweep starts on the rows the last one left in the cache.
    /// </summary>
    public static void Rows(ReadOnlySpan<float> x, ReadOnlySpan<float> w, int ldw, int k, ReadOnlySpan<float> bias,
        Span<float> y, int j0, int j1, bool descending)
    {
        if (j0 < 0 || x.Length < k || (long)(j1 - 1) * ldw + k > w.Length || y.Length < j1 || !bias.IsEmpty && bias.Length < j1)
            throw new ArgumentException($"GemmSkinny.Rows: rows [{j0}, {j1}) of k = {k} do not fit the spans");
        if (j0 >= j1) return;
        fixed (float* a = x, b = w, c = y, pb = bias)
            Sweep(a, b, ldw, k, c, bias.IsEmpty ? null : pb, accumulate: false, j0, j1, descending);
    }

    /// <summary>
    /// c[j] (+)= a·b[j] (+ bias[j] when not accumulating) for j in [j0, j1), four rows of b at a time while the next
    /// four are prefetched, from the low end or the high end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sweep(float* a, float* b, int ldb, int k, float* c, float* bias, bool accumulate, int j0, int j1,
        bool descending)
    {
        if (!descending)
        {
            int j = j0;
            for (; j + 4 <= j1; j += 4)
            {
                float* r = b + (long)j * ldb;
                var (s0, s1, s2, s3) = Dot4(a, r, r + ldb, r + 2 * ldb, r + 3 * ldb, k, r + 4 * (long)ldb, ldb);
                Store(c, bias, accumulate, j, s0, s1, s2, s3);
            }
            for (; j < j1; j++)
            {
                float* r = b + (long)j * ldb;
                Store(c, bias, accumulate, j, Dot4(a, r, r, r, r, k, null, 0).Item1);
            }
        }
        else
        {
            int j = j1;
            for (; j - 4 >= j0; j -= 4)
            {
                float* r = b + (long)(j - 4) * ldb;
                var (s0, s1, s2, s3) = Dot4(a, r, r + ldb, r + 2 * ldb, r + 3 * ldb, k, j - 8 >= j0 ? r - 4 * (long)ldb : null, ldb);
                Store(c, bias, accumulate, j - 4, s0, s1, s2, s3);
            }
            for (; j > j0; j--)
            {
                float* r = b + (long)(j - 1) * ldb;
                Store(c, bias, accumulate, j - 1, Dot4(a, r, r, r, r, k, null, 0).Item1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, float* bias, bool accumulate, int j, float s0, float s1, float s2, float s3)
    {
        Store(c, bias, accumulate, j, s0);
        Store(c, bias, accumulate, j + 1, s1);
        Store(c, bias, accumulate, j + 2, s2);
        Store(c, bias, accumulate, j + 3, s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, float* bias, bool accumulate, int j, float value) =>
        c[j] = accumulate ? c[j] + value : bias != null ? value + bias[j] : value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float, float, float, float) Dot4(float* a, float* b0, float* b1, float* b2, float* b3, int k,
        float* next, int ldb)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        var acc2 = Vector512<float>.Zero;
        var acc3 = Vector512<float>.Zero;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            if (Sse.IsSupported && next != null)
            {
                Sse.Prefetch0(next + p);
                Sse.Prefetch0(next + ldb + p);
                Sse.Prefetch0(next + 2 * ldb + p);
                Sse.Prefetch0(next + 3 * ldb + p);
            }
            var av = Vector512.Load(a + p);
            acc0 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b0 + p), acc0);
            acc1 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b1 + p), acc1);
            acc2 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b2 + p), acc2);
            acc3 = Vector512.FusedMultiplyAdd(av, Vector512.Load(b3 + p), acc3);
        }
        float s0 = Vector512.Sum(acc0), s1 = Vector512.Sum(acc1), s2 = Vector512.Sum(acc2), s3 = Vector512.Sum(acc3);
        for (; p < k; p++)
        {
            float av = a[p];
            s0 = MathF.FusedMultiplyAdd(av, b0[p], s0);
            s1 = MathF.FusedMultiplyAdd(av, b1[p], s1);
            s2 = MathF.FusedMultiplyAdd(av, b2[p], s2);
            s3 = MathF.FusedMultiplyAdd(av, b3[p], s3);
        }
        return (s0, s1, s2, s3);
    }
}
