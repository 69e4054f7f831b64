using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>
/// C[m,n] = op(A)[m,k] · op(B)[k,n] (+ C when accumulate). Row-major with leading dimensions.
/// A is stored [m, lda] (or [k, lda] when transA); B is stored [k, ldb] (or [n, ldb] when transB); C is [m, ldc].
/// Cache-blocked with packed panels and a 12×32 AVX-512 FMA microkernel (6×16 AVX2 fallback), parallel over
/// rectangles of C on <see cref="Threads"/> threads. Deterministic: every element of C is the same chain of FMAs
/// over k whatever the thread count, kernel width or blocking, so results are bit-identical across them. Products of
/// at most four rows with Bᵀ (batch-1 sampling) take <see cref="GemmSkinny"/>'s dot products instead, also the same
/// whatever the thread count.
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

    /// <summary>
    /// Below this many multiply-adds (about 1 µs on one core) a second thread costs more than it saves; above it, with
    /// the workers awake, 2 threads already gain 30% (64×64×64) to 70% (32×256×128).
    /// </summary>
    internal const long ParallelMinMultiplyAdds = 1 << 18;

    /// <summary>The cache blocking this machine gets, in one line (for benchmark output).</summary>
    public static string Blocking =>
        $"k blocks ≤ {GemmBlocked.KC} deep, B blocks {GemmBlocked.NC} wide " +
        $"(L2 {(CacheSize.L2Bytes > 0 ? $"{CacheSize.L2Bytes / 1024} KB" : "unknown")} a core)";

    /// <summary>The AVX-512 kernel where the hardware has it, else the Vector256 one.</summary>
    internal static bool Vector512Default => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// C[m,n] = op(A)[m,k] · op(B)[k,n], or C += that when <paramref name="accumulate"/>, on <see cref="Threads"/> threads.
    /// op(A) = Aᵀ when <paramref name="transA"/> (A stored [k, lda]), else A (stored [m, lda]); likewise B, stored [k, ldb]
    /// or [n, ldb] when transposed. Throws <see cref="ArgumentException"/> for a negative size, a leading dimension smaller
    /// than the row width, or a span too short for its matrix.
    /// </summary>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate = false)
        => Multiply(a, lda, transA, b, ldb, transB, c, ldc, m, n, k, accumulate, _threads, Vector512Default);

    /// <summary>
    /// C[m,n] = op(A)[m,k] · op(B)[k,n] + bias[n] on every row: a layer's affine map, with the bias added as C is
    /// stored rather than filled in first (one pass over C instead of three). Bit-identical to filling C with the bias
    /// and multiplying with accumulate.
    /// </summary>
    public static void MultiplyAddBias(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB, ReadOnlySpan<float> bias,
        Span<float> c, int ldc, int m, int n, int k)
    {
        if (bias.Length != n) throw new ArgumentException($"Gemm.MultiplyAddBias: bias has {bias.Length} floats for {n} columns");
        Multiply(a, lda, transA, b, ldb, transB, c, ldc, m, n, k, accumulate: false, _threads, Vector512Default, bias);
    }

    /// <summary>Multiply with an explicit thread count and kernel width (tests compare them), and an optional bias.</summary>
    internal static unsafe void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int threads, bool vector512,
        ReadOnlySpan<float> bias = default)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Gemm.Multiply: negative size m={m}, n={n}, k={k}");
        RequireMatrix("Gemm.Multiply", "A", a.Length, transA ? k : m, transA ? m : k, lda);
        RequireMatrix("Gemm.Multiply", "B", b.Length, transB ? n : k, transB ? k : n, ldb);
        RequireMatrix("Gemm.Multiply", "C", c.Length, m, n, ldc);
        if (!bias.IsEmpty && k == 0)
        {
            for (int i = 0; i < m; i++) bias.CopyTo(c.Slice(i * ldc, n));
            return;
        }
        if (PrepareTrivial(c, ldc, m, n, k, accumulate)) return;
        fixed (float* pa = a, pb = b, pc = c, pbias = bias)
            Run(new GemmProblem(pa, lda, transA, pb, ldb, transB, pc, ldc, m, n, k, accumulate, bias: bias.IsEmpty ? null : pbias),
                threads, vector512);
    }

    /// <summary>Handles the products with nothing to multiply (m, n or k zero); true when that was all.</summary>
    private static bool PrepareTrivial(Span<float> c, int ldc, int m, int n, int k, bool accumulate)
    {
        if (m == 0 || n == 0) return true;
        if (k != 0) return false;
        if (!accumulate)
            for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
        return true;
    }

    private static void Run(in GemmProblem problem, int threads, bool vector512)
    {
        if (vector512 && !Vector512.IsHardwareAccelerated) vector512 = false;
        int mr = vector512 ? GemmKernel512.MR : GemmKernel256.MR, nr = vector512 ? GemmKernel512.NR : GemmKernel256.NR;
        if (threads > 1 && WorthThreads(problem))
        {
            var partition = GemmPartition.Choose(threads, problem.M, problem.N, mr, nr);
            if (partition.Parts > 1 && WorkerPool.TryRun(GemmWork.Prepare(problem, partition, vector512), partition.Parts)) return;
        }
        var all = new ColumnRange(0, problem.N);
        RunPart(problem, vector512, 0, problem.M, new ReadOnlySpan<ColumnRange>(in all));
    }

    private static bool WorthThreads(in GemmProblem p) =>
        (long)p.M * p.N * p.K >= ParallelMinMultiplyAdds || GemmSkinny.Applies(p) && (long)p.N * p.K >= GemmSkinny.ParallelMinFloats;

    /// <summary>
    /// One thread's share of C: rows [i0, i1) over the column ranges given, by the path that suits the problem's
    /// shape. Each range starts on a kernel panel boundary (and, with a segmented packed B, stays in its segment).
    /// </summary>
    internal static void RunPart(in GemmProblem problem, bool vector512, int i0, int i1, ReadOnlySpan<ColumnRange> columns)
    {
        if (GemmSkinny.Applies(problem))
            foreach (var (j0, j1) in columns) GemmSkinny.Run(problem, i0, i1, j0, j1);
        else GemmBlocked.Run(problem, vector512, i0, i1, columns);
    }

    /// <summary>
    /// The columns given of C = (C +) A·B with a packed B, on the calling thread only: one thread's share of a product
    /// whose parts are run by the caller's own parallel work (the recurrent layers' time steps). Ranges start on
    /// multiples of 32 columns within one segment of B.
    /// </summary>
    internal static unsafe void MultiplyColumns(ReadOnlySpan<float> a, int lda, GemmPackedB b, Span<float> c, int ldc, int m,
        bool accumulate, ReadOnlySpan<ColumnRange> columns)
    {
        RequireMatrix("Gemm.MultiplyColumns", "A", a.Length, m, b.K, lda);
        RequireMatrix("Gemm.MultiplyColumns", "C", c.Length, m, b.N, ldc);
        if (PrepareTrivial(c, ldc, m, b.N, b.K, accumulate)) return;
        fixed (float* pa = a, pc = c)
            RunPart(new GemmProblem(pa, lda, false, null, 0, false, pc, ldc, m, b.N, b.K, accumulate, b), b.Wide, 0, m, columns);
        b.KeepAlive();
    }

    /// <summary>The same with B unpacked, [n, ldb] (C = (C +) A·Bᵀ): the few-row products of sampling.</summary>
    internal static unsafe void MultiplyColumns(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> bT, int ldb, Span<float> c,
        int ldc, int m, int n, int k, bool accumulate, ReadOnlySpan<ColumnRange> columns)
    {
        RequireMatrix("Gemm.MultiplyColumns", "A", a.Length, m, k, lda);
        RequireMatrix("Gemm.MultiplyColumns", "B", bT.Length, n, k, ldb);
        RequireMatrix("Gemm.MultiplyColumns", "C", c.Length, m, n, ldc);
        if (PrepareTrivial(c, ldc, m, n, k, accumulate)) return;
        fixed (float* pa = a, pb = bT, pc = c)
            RunPart(new GemmProblem(pa, lda, false, pb, ldb, true, pc, ldc, m, n, k, accumulate), Vector512Default, 0, m, columns);
    }

    /// <summary>
    /// C[m,n] = (C +) op(A)[m,k] · B where B is an op(B) [k, n] packed beforehand (k = b.K, n = b.N); bit-identical to
    /// the unpacked Multiply with the same operands (but for the skinny products above, which never need a packed B).
    /// </summary>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA, GemmPackedB b, Span<float> c, int ldc, int m, bool accumulate = false)
        => Multiply(a, lda, transA, b, c, ldc, m, accumulate, _threads);

    internal static unsafe void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA, GemmPackedB b, Span<float> c, int ldc, int m, bool accumulate, int threads)
    {
        ArgumentNullException.ThrowIfNull(b);
        int n = b.N, k = b.K;
        if (m < 0) throw new ArgumentException($"Gemm.Multiply: negative size m={m}");
        RequireMatrix("Gemm.Multiply", "A", a.Length, transA ? k : m, transA ? m : k, lda);
        RequireMatrix("Gemm.Multiply", "C", c.Length, m, n, ldc);
        if (PrepareTrivial(c, ldc, m, n, k, accumulate)) return;
        fixed (float* pa = a, pc = c)
        {
            var problem = new GemmProblem(pa, lda, transA, null, 0, false, pc, ldc, m, n, k, accumulate, b);
            Run(problem, threads, b.Wide);
        }
        b.KeepAlive();
    }

    /// <summary>A [rows, cols] matrix with leading dimension ld must fit in the span it is read from.</summary>
    internal static void RequireMatrix(string place, string name, int length, int rows, int cols, int ld)
    {
        if (ld < cols)
            throw new ArgumentException($"{place}: {name} is [{rows}, {cols}] but its leading dimension is {ld} (< {cols})");
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"{place}: {name} is [{rows}, {cols}] with leading dimension {ld}, needing {need} floats, but has {length}");
    }
}
