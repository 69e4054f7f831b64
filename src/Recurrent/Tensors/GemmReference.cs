namespace Recurrent.Tensors;

/// <summary>
/// The naive triple loop that defines what Gemm computes; kept beside the fast one as the reference the tests compare to.
/// C[m,n] = op(A)[m,k] · op(B)[k,n] (+ C when accumulate). Row-major; op(A) = Aᵀ when transA, where A is stored [k, lda].
/// </summary>
public static class GemmReference
{
    /// <summary>C[m,n] = op(A)[m,k] · op(B)[k,n] (+ C when accumulate) by three nested loops in double; no size checks.</summary>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate = false)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)av * bv;
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + (float)sum : (float)sum;
            }
    }
}
