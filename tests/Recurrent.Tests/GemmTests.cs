using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Runs alone (the Gemm.Threads collection): the allocation test below counts bytes while calls go through the shared
/// worker pool, and another test holding the pool would send a call down the caller's own first-use path.
/// </summary>
[Collection("Gemm.Threads")]
public class GemmTests
{
    /// <summary>Random operands for C[m,n] = op(A)·op(B) with leading dimensions padded by `pad` columns of junk.</summary>
    private sealed class Case
    {
        public readonly int M, N, K, Lda, Ldb, Ldc;
        public readonly bool TransA, TransB;
        public readonly float[] A, B, C0;

        public Case(int m, int n, int k, bool transA, bool transB, int pad, ulong seed)
        {
            M = m; N = n; K = k; TransA = transA; TransB = transB;
            var rng = new Rng(seed);
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            Lda = aCols + pad; Ldb = bCols + pad; Ldc = n + pad;
            A = Random(rng, aRows * Lda);
            B = Random(rng, bRows * Ldb);
            C0 = Random(rng, m * Ldc);
        }

        private static float[] Random(Rng rng, int count)
        {
            var x = new float[count];
            for (int i = 0; i < count; i++) x[i] = rng.Uniform(-1f, 1f);
            return x;
        }

        public float[] Run(bool accumulate, int threads, bool vector512 = true)
        {
            var c = (float[])C0.Clone();
            Gemm.Multiply(A, Lda, TransA, B, Ldb, TransB, c, Ldc, M, N, K, accumulate, threads, vector512);
            return c;
        }

        public float[] RunPacked(bool accumulate, int threads, bool vector512 = true)
        {
            var packed = new GemmPackedB(K, N, 1, vector512);
            packed.Pack(B, Ldb, TransB);
            var c = (float[])C0.Clone();
            Gemm.Multiply(A, Lda, TransA, packed, c, Ldc, M, accumulate, threads);
            return c;
        }

        /// <summary>Compares to the double-precision reference, within float rounding of the Σ|a||b| terms.</summary>
        public void Check(float[] got, bool accumulate, string what)
        {
            var want = (float[])C0.Clone();
            GemmReference.Multiply(A, Lda, TransA, B, Ldb, TransB, want, Ldc, M, N, K, accumulate);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    double scale = 0;
                    for (int p = 0; p < K; p++)
                    {
                        float av = TransA ? A[p * Lda + i] : A[i * Lda + p];
                        float bv = TransB ? B[j * Ldb + p] : B[p * Ldb + j];
                        scale += Math.Abs((double)av * bv);
                    }
                    if (accumulate) scale += Math.Abs(C0[i * Ldc + j]);
                    double tol = 2e-7 * (K + 2) * scale + 1e-30;
                    float g = got[i * Ldc + j], w = want[i * Ldc + j];
                    if (!(Math.Abs(g - w) <= tol))
                        Assert.Fail($"{what}: C[{i},{j}] = {g}, reference {w} (tolerance {tol:g3})");
                }
            // The padding columns of C are not part of the result and must be left alone.
            for (int i = 0; i < M; i++)
                for (int j = N; j < Ldc; j++)
                    Assert.True(got[i * Ldc + j] == C0[i * Ldc + j], $"{what}: padding C[{i},{j}] was written");
        }
    }

    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 7, 13, 5 }, { 33, 65, 129 }, { 1000, 1, 3 }, { 1, 1000, 3 }, { 3, 5, 1000 },
        { 12, 32, 256 }, { 13, 33, 257 }, { 25, 97, 600 },
    };

    [Theory, MemberData(nameof(Shapes))]
    public void MatchesReferenceForEveryTransposeLayoutAndOption(int m, int n, int k)
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (int pad in new[] { 0, 3 })
                {
                    var t = new Case(m, n, k, transA, transB, pad, seed: (ulong)(m * 1000003 + n * 1009 + k));
                    foreach (bool accumulate in new[] { false, true })
                        foreach (int threads in new[] { 1, 2 })
                        {
                            string what = $"{m}x{n}x{k} transA={transA} transB={transB} pad={pad} accumulate={accumulate} threads={threads}";
                            t.Check(t.Run(accumulate, threads), accumulate, what);
                        }
                    t.Check(t.Run(accumulate: true, threads: 1, vector512: false), accumulate: true, $"{m}x{n}x{k} Vector256");
                }
    }

    [Theory]
    [InlineData(512 * 1024, 64)] // Zen 3
    [InlineData(1024 * 1024, 256)] // Zen 4, where 256 was measured
    [InlineData(2048 * 1024, 256)]
    [InlineData(0, 256)] // unknown
    public void TheColumnBlockFollowsTheL2(int l2Bytes, int width)
    {
        Assert.Equal(width, GemmBlocked.ColumnBlock(l2Bytes));
        Assert.Equal(0, width % GemmKernel512.NR);
    }

    [Theory]
    [InlineData(7, 13, 5)]
    [InlineData(33, 65, 129)]
    [InlineData(40, 100, 600)]
    [InlineData(32, 100, 600)] // the AVX2 kernel's 2-row last panel takes column panels in pairs (RunPair); 2 threads' halves do not
    public void PrepackedRightOperandGivesTheSameBits(int m, int n, int k)
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                var t = new Case(m, n, k, transA, transB, pad: 2, seed: 5);
                foreach (bool accumulate in new[] { false, true })
                    foreach (int threads in new[] { 1, 2 })
                        Assert.Equal(t.Run(accumulate, threads), t.RunPacked(accumulate, threads));
                Assert.Equal(t.Run(true, 1, vector512: false), t.RunPacked(true, 2, vector512: false));
            }
    }

    /// <summary>The bias added as C is stored gives the bits of filling C with it and accumulating (skinny, partial panels, k = 0 too).</summary>
    [Theory]
    [InlineData(3, 37, 20)]
    [InlineData(33, 65, 129)]
    [InlineData(40, 100, 600)]
    [InlineData(5, 9, 0)]
    public void BiasAddedAtTheStoreEqualsAFilledC(int m, int n, int k)
    {
        foreach (bool transB in new[] { false, true })
        {
            var t = new Case(m, n, k, transA: false, transB, pad: 2, seed: 8);
            var bias = Enumerable.Range(0, n).Select(j => 0.25f * j - 3.3f).ToArray();
            foreach (int threads in new[] { 1, 2 })
                foreach (bool vector512 in new[] { true, false })
                {
                    var filled = (float[])t.C0.Clone();
                    for (int i = 0; i < m; i++) bias.CopyTo(filled, i * t.Ldc);
                    Gemm.Multiply(t.A, t.Lda, false, t.B, t.Ldb, transB, filled, t.Ldc, m, n, k, accumulate: true, threads, vector512);
                    var c = (float[])t.C0.Clone();
                    Gemm.Multiply(t.A, t.Lda, false, t.B, t.Ldb, transB, c, t.Ldc, m, n, k, accumulate: false, threads, vector512, bias);
                    Assert.Equal(filled, c);
                }
            var viaPublic = (float[])t.C0.Clone();
            Gemm.MultiplyAddBias(t.A, t.Lda, false, t.B, t.Ldb, transB, bias, viaPublic, t.Ldc, m, n, k);
            var expected = (float[])t.C0.Clone();
            Gemm.Multiply(t.A, t.Lda, false, t.B, t.Ldb, transB, expected, t.Ldc, m, n, k, accumulate: false, 1, true, bias);
            Assert.Equal(expected, viaPublic);
        }
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyAddBias(new float[4], 2, false, new float[4], 2, false, new float[3], new float[4], 2, 2, 2, 2));
    }

    /// <summary>Two products sharing A (the second over the first m2 rows) give the bits of two separate calls, at any thread count.</summary>
    [Theory]
    [InlineData(40, 7, 33, 50, true, 40)]
    [InlineData(100, 64, 96, 300, true, 100)]
    [InlineData(150, 64, 96, 300, true, 100)]
    [InlineData(150, 40, 128, 200, true, 13)]
    [InlineData(25, 5, 3, 9, false, 25)]
    public void SharedAProductsEqualTwoSeparateOnes(int m, int n1, int n2, int k, bool transA, int m2)
    {
        var one = new Case(m, n1, k, transA, transB: false, pad: 1, seed: 21);
        var two = new Case(m, n2, k, transA, transB: false, pad: 3, seed: 22);
        foreach (bool accumulate in new[] { false, true })
            foreach (int threads in new[] { 1, 2 })
            {
                using var threadsScope = new GemmThreadsScope(threads);
                var c1 = (float[])one.C0.Clone();
                var c2 = (float[])two.C0.Clone();
                GemmSharedA.Multiply(one.A, one.Lda, transA, m, k, one.B, one.Ldb, c1, one.Ldc, n1, two.B, two.Ldb, c2, two.Ldc, n2, accumulate, m2);
                var e1 = (float[])one.C0.Clone();
                var e2 = (float[])two.C0.Clone();
                Gemm.Multiply(one.A, one.Lda, transA, one.B, one.Ldb, false, e1, one.Ldc, m, n1, k, accumulate, 1, true);
                Gemm.Multiply(one.A, one.Lda, transA, two.B, two.Ldb, false, e2, two.Ldc, m2, n2, k, accumulate, 1, true);
                Assert.Equal(e1, c1);
                Assert.Equal(e2, c2);
                one.Check(c1, accumulate, "shared A, first product");
            }
    }

    /// <summary>
    /// A thread's share of a time step: some columns of each segment of a segmented packed B (few rows or many),
    /// in two calls: the bits of the whole product's columns.
    /// </summary>
    [Theory]
    [InlineData(32, 600)]
    [InlineData(300, 600)]
    [InlineData(5, 40)]
    public void ColumnsOfASegmentedPackedProductGiveTheSameBits(int m, int k)
    {
        const int segments = 3, width = 70;   // 70 = two whole 32-column panels and a short one
        var t = new Case(m, segments * width, k, transA: false, transB: true, pad: 0, seed: 31);
        var packed = new GemmPackedB(k, segments * width, segments);
        packed.Pack(t.B, t.Ldb, transB: true);
        var expected = t.Run(accumulate: true, threads: 1);
        var c = (float[])t.C0.Clone();
        ColumnRange[] first = [new(0, 32), new(width, width + 32), new(2 * width, 2 * width + 32)];
        ColumnRange[] rest = [new(32, width), new(width + 32, 2 * width), new(2 * width + 32, 3 * width)];
        Gemm.MultiplyColumns(t.A, t.Lda, packed, c, t.Ldc, m, accumulate: true, first);
        Gemm.MultiplyColumns(t.A, t.Lda, packed, c, t.Ldc, m, accumulate: true, rest);
        Assert.Equal(expected, c);
    }

    /// <summary>
    /// Blocks whose plain cut would end in a short panel (16 = 6 + 6 + 4 at AVX2, 20 = 12 + 8 at AVX-512) are cut into
    /// balanced panels (6, 5, 5; 10, 10): the bits of computing each row alone, at both widths, packed or not.
    /// </summary>
    [Theory]
    [InlineData(16, false)]
    [InlineData(16, true)]
    [InlineData(9, true)]
    [InlineData(20, false)]
    [InlineData(23, true)]
    public void BalancedRowPanelsGiveTheBitsOfSingleRows(int m, bool transA)
    {
        var t = new Case(m, 70, 300, transA, transB: true, pad: 1, seed: 41);
        foreach (bool vector512 in new[] { true, false })
        {
            var packed = new GemmPackedB(t.K, t.N, 1, vector512);
            packed.Pack(t.B, t.Ldb, transB: true);
            var rowByRow = (float[])t.C0.Clone();
            for (int i = 0; i < m; i++)
                // Row i of op(A) alone, a one-panel product into row i of C (the packed path never takes the skinny one).
                Gemm.Multiply(t.A.AsSpan(transA ? i : i * t.Lda), t.Lda, transA, packed, rowByRow.AsSpan(i * t.Ldc), t.Ldc, 1,
                    accumulate: true, threads: 1);
            Assert.Equal(rowByRow, t.Run(accumulate: true, threads: 1, vector512));
            Assert.Equal(rowByRow, t.RunPacked(accumulate: true, threads: 1, vector512));
        }
    }

    [Fact]
    public void PrepackedOperandIsRepackedInPlace()
    {
        var first = new Case(32, 64, 48, transA: false, transB: true, pad: 0, seed: 1);
        var second = new Case(32, 64, 48, transA: false, transB: true, pad: 0, seed: 2);
        var packed = new GemmPackedB(48, 64);
        var c = new float[32 * 64];
        packed.Pack(first.B, first.Ldb, true);
        packed.Pack(second.B, second.Ldb, true);
        Gemm.Multiply(second.A, second.Lda, false, packed, c, 64, 32);
        Assert.Equal(second.Run(accumulate: false, threads: 1), c);
        Assert.Throws<ArgumentException>(() => packed.Pack(new float[10], 48, true));
    }

    [Fact]
    public void RecurrentStepShapeMatchesReference()
    {
        // The per-time-step GEMM of an LSTM 512 with batch 32: h[32, 512] · W_hhᵀ, W_hh stored [2048, 512].
        var t = new Case(32, 2048, 512, transA: false, transB: true, pad: 0, seed: 7);
        t.Check(t.Run(accumulate: true, threads: 2), accumulate: true, "32x2048x512");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void ResultIsBitIdenticalAcrossThreadCountsAndKernelWidths(bool transA, bool transB)
    {
        // Larger than the parallel threshold and the k block, with edges in every direction.
        var t = new Case(150, 301, 700, transA, transB, pad: 1, seed: 11);
        var one = t.Run(accumulate: true, threads: 1);
        Assert.Equal(one, t.Run(accumulate: true, threads: 2));
        Assert.Equal(one, t.Run(accumulate: true, threads: 3));
        Assert.Equal(one, t.Run(accumulate: true, threads: 1, vector512: false));
        Assert.Equal(one, t.Run(accumulate: true, threads: 2, vector512: false));
        t.Check(one, accumulate: true, "150x301x700");
    }

    [Fact]
    public void ManyBackToBackParallelCallsWithChangingThreadCountsAgree()
    {
        // Above the parallel threshold, so every call goes through the worker pool; the part count changes
        // between consecutive jobs, which is where a late worker could claim a stale ticket. Accumulating shows a
        // part run twice or skipped.
        var t = new Case(32, 96, 100, transA: false, transB: true, pad: 0, seed: 9);
        Assert.True((long)t.M * t.N * t.K >= Gemm.ParallelMinMultiplyAdds);
        var want = t.Run(accumulate: true, threads: 1);
        for (int i = 0; i < 1000; i++)
            Assert.Equal(want, t.Run(accumulate: true, threads: 2 + i % 3));
    }

    [Fact]
    public void ConcurrentCallersGetCorrectResults()
    {
        // Callers that find the pool busy fall back to their own thread; every result must still be exact.
        var cases = Enumerable.Range(0, 4).Select(i => new Case(40 + i, 300, 200, false, i % 2 == 0, 0, (ulong)(20 + i))).ToArray();
        var want = cases.Select(c => c.Run(accumulate: true, threads: 1)).ToArray();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            for (int r = 0; r < 20; r++)
                Assert.Equal(want[i], cases[i].Run(accumulate: true, threads: 2));
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SteadyStateCallsAllocateNothing(int threads)
    {
        var t = new Case(32, 512, 300, transA: false, transB: true, pad: 0, seed: 4);
        var c = new float[t.M * t.Ldc];
        var packed = new GemmPackedB(t.K, t.N);
        packed.Pack(t.B, t.Ldb, true);
        void Call()
        {
            Gemm.Multiply(t.A, t.Lda, false, t.B, t.Ldb, true, c, t.Ldc, t.M, t.N, t.K, false, threads, Gemm.Vector512Default);
            Gemm.Multiply(t.A, t.Lda, false, packed, c, t.Ldc, t.M, true, threads);
        }
        for (int i = 0; i < 3; i++) Call();
        // Now and then, with other tests allocating on other threads, this thread's counter moves by 8,144 bytes
        // while these calls allocate nothing; a call that allocates would never measure 0, so the least of five
        // measurements must be 0.
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 5 && least > 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) Call();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ZeroDepthClearsOrKeepsC(bool accumulate)
    {
        var c = new float[] { 1, 2, 9, 3, 4, 9 }; // [2, 2] with ldc 3
        Gemm.Multiply(ReadOnlySpan<float>.Empty, 0, false, ReadOnlySpan<float>.Empty, 2, false, c, 3, 2, 2, 0, accumulate);
        Assert.Equal(accumulate ? new float[] { 1, 2, 9, 3, 4, 9 } : new float[] { 0, 0, 9, 0, 0, 9 }, c);
    }

    [Fact]
    public void PublicEntryPointUsesThreadsSetting()
    {
        var t = new Case(64, 96, 300, transA: false, transB: false, pad: 0, seed: 3);
        var c = (float[])t.C0.Clone();
        Gemm.Multiply(t.A, t.Lda, false, t.B, t.Ldb, false, c, t.Ldc, t.M, t.N, t.K);
        Assert.Equal(t.Run(accumulate: false, threads: 1), c);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Threads = 0);
    }

    [Fact]
    public void RejectsOperandsTooSmallForTheirShape()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, 3, false, b, 2, false, c, 2, 2, 2, 4));
        Assert.Contains("A is [2, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, 3, false, b, 2, false, c, 1, 2, 2, 3));
        Assert.Contains("C is [2, 2]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, 3, false, b, 1, true, c, 2, 2, 2, 3));
        Assert.Contains("B is [2, 3]", e.Message);
    }
}
