using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>
/// C[m,n] = op(A)[m,k] · op(B)[k,n] (+ C when accumulate). Row-major with leading dimensions.
/// A is stored [m, lda] (or [k, lda] when transA); B is stored [k, ldb] (or [n, ldb] when transB); C is [m, ldc].
/// Cache-blocked with packed panels and a 12×32 AVX-512 FMA microkernel (6×16 AVX2 fallback), parallel over
/// rectangles of C on <see cref="Threads"/> threads. Deterministic: every element of C is the same chain of FMAs
/// over k whatever the thread count, kernel width or blocking, so results are bit-identical across them.
/// <see cref="GemmReference"/> is the definition it is tested against. The hot methods are marked
/// AggressiveOptimization: fully optimised from the first call, with no slow tier-0 GEMMs while a run warms up.
/// </summary>
public static class Gemm
{
    private static int _threads = Environment.ProcessorCount;

    /// <summary>How many threads Multiply may use; defaults to all cores.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Gemm.Threads must be at least 1");
    }

    /// <summary>Below this many multiply-adds a second thread costs more (wake-up, cache traffic) than it saves.</summary>
    internal const long ParallelMinMultiplyAdds = 1 << 20;

    /// <summary>The AVX-512 kernel where the hardware has it, else the Vector256 one.</summary>
    internal static bool Vector512Default => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate = false)
        => Multiply(a, lda, transA, b, ldb, transB, c, ldc, m, n, k, accumulate, _threads, Vector512Default);

    /// <summary>Multiply with an explicit thread count and kernel width (tests compare them).</summary>
    internal static unsafe void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int threads, bool vector512)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Gemm.Multiply: negative size m={m}, n={n}, k={k}");
        RequireMatrix("A", a.Length, transA ? k : m, transA ? m : k, lda);
        RequireMatrix("B", b.Length, transB ? n : k, transB ? k : n, ldb);
        RequireMatrix("C", c.Length, m, n, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }
        if (vector512 && !Vector512.IsHardwareAccelerated) vector512 = false;
        int mr = vector512 ? GemmKernel512.MR : GemmKernel256.MR, nr = vector512 ? GemmKernel512.NR : GemmKernel256.NR;
        fixed (float* pa = a, pb = b, pc = c)
        {
            var problem = new GemmProblem(pa, lda, transA, pb, ldb, transB, pc, ldc, m, n, k, accumulate);
            if (threads > 1 && (long)m * n * k >= ParallelMinMultiplyAdds)
            {
                var partition = GemmPartition.Choose(threads, m, n, mr, nr);
                if (partition.Parts > 1 && GemmThreadPool.TryRun(problem, partition, vector512)) return;
            }
            GemmBlocked.Run(problem, vector512, 0, m, 0, n);
        }
    }

    /// <summary>A [rows, cols] matrix with leading dimension ld must fit in the span it is read from.</summary>
    private static void RequireMatrix(string name, int length, int rows, int cols, int ld)
    {
        if (ld < cols)
            throw new ArgumentException($"Gemm.Multiply: {name} is [{rows}, {cols}] but its leading dimension is {ld} (< {cols})");
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"Gemm.Multiply: {name} is [{rows}, {cols}] with leading dimension {ld}, needing {need} floats, but has {length}");
    }
}
