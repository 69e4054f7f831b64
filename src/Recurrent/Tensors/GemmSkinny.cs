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
        {
            float* a = g.A + (long)i * g.Lda;
            float* c = g.C + (long)i * g.Ldc;
            int j = j0;
            for (; j + 4 <= j1; j += 4)
            {
                float* b = g.B + (long)j * g.Ldb;
                var (s0, s1, s2, s3) = Dot4(a, b, b + g.Ldb, b + 2 * g.Ldb, b + 3 * g.Ldb, g.K, b + 4 * (long)g.Ldb, g.Ldb);
                Store(g, c, j, s0);
                Store(g, c, j + 1, s1);
                Store(g, c, j + 2, s2);
                Store(g, c, j + 3, s3);
            }
            for (; j < j1; j++)
            {
                float* b = g.B + (long)j * g.Ldb;
                Store(g, c, j, Dot4(a, b, b, b, b, g.K, null, 0).Item1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(in GemmProblem g, float* c, int j, float value) =>
        c[j] = g.Accumulate ? c[j] + value : g.Bias != null ? value + g.Bias[j] : value;

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
