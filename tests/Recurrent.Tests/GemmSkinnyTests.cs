using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>The dot-product path for a few rows times Bᵀ (batch-1 sampling) against the reference.</summary>
public class GemmSkinnyTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 7, 15)]
    [InlineData(2, 2048, 512)]
    [InlineData(1, 2048, 64)] // few multiply-adds, but enough of B to split between threads
    [InlineData(3, 13, 33)]
    [InlineData(4, 1030, 517)]
    public void MatchesTheReferenceOnAnyThreadCount(int m, int n, int k)
    {
        var rng = new Rng(11);
        int lda = k + 3, ldb = k + 1, ldc = n + 2;
        float[] a = GradCheck.RandomArray(rng, m * lda), b = GradCheck.RandomArray(rng, n * ldb);
        float[] start = GradCheck.RandomArray(rng, m * ldc);
        foreach (bool accumulate in new[] { false, true })
        {
            float[] expected = (float[])start.Clone();
            GemmReference.Multiply(a, lda, false, b, ldb, true, expected, ldc, m, n, k, accumulate);
            float[]? first = null;
            foreach (int threads in new[] { 1, 2 })
            {
                float[] c = (float[])start.Clone();
                Gemm.Multiply(a, lda, false, b, ldb, true, c, ldc, m, n, k, accumulate, threads, vector512: true);
                for (int i = 0; i < c.Length; i++)
                    Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-5f * (k + 1), $"[{i}] {c[i]} vs {expected[i]}");
                if (first == null) first = c;
                else Assert.Equal(first, c);
            }
        }
    }
}
