namespace Recurrent.Tensors;

/// <summary>
/// C[m,n] = op(A)[m,k] · op(B)[k,n] (+ C when accumulate). Row-major with leading dimensions.
/// A is stored [m, lda] (or [k, lda] when transA); B is stored [k, ldb] (or [n, ldb] when transB).
/// TEMPORARY: forwards to the reference until the blocked SIMD kernel lands.
/// </summary>
public static class Gemm
{
    /// <summary>How many threads Multiply may use; defaults to all cores.</summary>
    public static int Threads { get; set; } = Environment.ProcessorCount;

    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate = false)
        => GemmReference.Multiply(a, lda, transA, b, ldb, transB, c, ldc, m, n, k, accumulate);
}
