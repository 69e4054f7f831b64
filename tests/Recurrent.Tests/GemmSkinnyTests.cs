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

    [Theory]
    [InlineData(7, 15, 0, 7)]
    [InlineData(2048, 64, 0, 2048)]
    [InlineData(1030, 517, 3, 1027)]
    [InlineData(9, 5, 2, 3)]
    public void RowsGiveTheProductsBitsInEitherOrder(int n, int k, int j0, int j1)
    {
        // One row of A times Bᵀ plus a bias, as Gemm computes it (the skinny path): Rows must give the same bits for rows
        // [j0, j1) forwards and backwards, and leave the others alone.
        var rng = new Rng(5);
        int ldb = k + 1;
        float[] x = GradCheck.RandomArray(rng, k), b = GradCheck.RandomArray(rng, n * ldb), bias = GradCheck.RandomArray(rng, n);
        float[] expected = new float[n];
        Gemm.Multiply(x, k, false, b, ldb, true, expected, n, 1, n, k, accumulate: false, threads: 1, vector512: true, bias);
        foreach (bool descending in new[] { false, true })
        {
            float[] y = Enumerable.Repeat(-7f, n).ToArray();
            GemmSkinny.Rows(x, b, ldb, k, bias, y, j0, j1, descending);
            for (int j = 0; j < n; j++) Assert.Equal(j >= j0 && j < j1 ? expected[j] : -7f, y[j]);
        }
        Assert.Throws<ArgumentException>(() => GemmSkinny.Rows(x, b, ldb, k, bias, new float[n], 0, n + 1, false));
    }
}
