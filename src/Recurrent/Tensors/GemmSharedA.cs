namespace Recurrent.Tensors;

/// <summary>
/// C1 (+)= op(A)·B1 and C2 (+)= op(A)·B2 with one A, packed once for both: a recurrent layer's weight gradients
/// dW_ih = dGᵀX and dW_hh = dGᵀH share dGᵀ, whose packing (as large as the products are thin) would otherwise be done
/// twice. The second product may cover only the first m2 rows (the GRU's hidden side shares dG's r and z rows, not
/// its n rows). Each element is the same FMA chain as in two Gemm.Multiply calls, so the result is bit-identical to
/// them. The threads split the rows of C, weighted by the work on each.
/// </summary>
internal static unsafe class GemmSharedA
{
    public static void Multiply(ReadOnlySpan<float> a, int lda, bool transA, int m, int k,
        ReadOnlySpan<float> b1, int ldb1, Span<float> c1, int ldc1, int n1,
        ReadOnlySpan<float> b2, int ldb2, Span<float> c2, int ldc2, int n2, bool accumulate, int m2 = -1)
    {
        if (m2 < 0) m2 = m;
        if (m < 0 || n1 < 0 || n2 < 0 || k < 0 || m2 > m)
            throw new ArgumentException($"GemmSharedA: bad sizes m={m} (second {m2}), n={n1}+{n2}, k={k}");
        Gemm.RequireMatrix("GemmSharedA", "A", a.Length, transA ? k : m, transA ? m : k, lda);
        Gemm.RequireMatrix("GemmSharedA", "B1", b1.Length, k, n1, ldb1);
        Gemm.RequireMatrix("GemmSharedA", "B2", b2.Length, k, n2, ldb2);
        Gemm.RequireMatrix("GemmSharedA", "C1", c1.Length, m, n1, ldc1);
        Gemm.RequireMatrix("GemmSharedA", "C2", c2.Length, m2, n2, ldc2);
        if (k == 0 || n1 == 0 || n2 == 0 || m2 == 0)
        {
            Gemm.Multiply(a, lda, transA, b1, ldb1, false, c1, ldc1, m, n1, k, accumulate);
            Gemm.Multiply(a, lda, transA, b2, ldb2, false, c2, ldc2, m2, n2, k, accumulate);
            return;
        }
        bool wide = Gemm.Vector512Default;
        int mr = wide ? GemmKernel512.MR : GemmKernel256.MR;
        fixed (float* pa = a, pb1 = b1, pb2 = b2, pc1 = c1, pc2 = c2)
        {
            var first = new GemmProblem(pa, lda, transA, pb1, ldb1, false, pc1, ldc1, m, n1, k, accumulate);
            var second = new GemmProblem(pa, lda, transA, pb2, ldb2, false, pc2, ldc2, m2, n2, k, accumulate);
            long multiplyAdds = ((long)m * n1 + (long)m2 * n2) * k;
            int parts = multiplyAdds < Gemm.ParallelMinMultiplyAdds ? 1 : Math.Min(Gemm.Threads, (m + mr - 1) / mr);
            var work = SharedAWork.Prepare(first, second, wide, parts);
            if (parts == 1 || !WorkerPool.TryRun(work, parts))
                for (int p = 0; p < parts; p++) work.RunPart(p);
        }
    }

    /// <summary>The two products cut by rows of C, one part per thread. One instance per calling thread.</summary>
    private sealed class SharedAWork : IParallelWork
    {
        [ThreadStatic] private static SharedAWork? _current;
        private GemmProblem _first, _second;
        private bool _wide;
        private int _parts;

        public static SharedAWork Prepare(in GemmProblem first, in GemmProblem second, bool wide, int parts)
        {
            var work = _current ??= new SharedAWork();
            (work._first, work._second, work._wide, work._parts) = (first, second, wide, parts);
            return work;
        }

        public void RunPart(int part)
        {
            int i0 = Boundary(part), i1 = Boundary(part + 1);
            if (i0 >= i1) return;
            var all1 = new ColumnRange(0, _first.N);
            var all2 = new ColumnRange(0, _second.N);
            GemmBlocked.Run(_first, new ReadOnlySpan<ColumnRange>(in all1), _second, new ReadOnlySpan<ColumnRange>(in all2), _wide, i0, i1);
        }

        /// <summary>The first row of part p: rows before it carry p/parts of the work (n1 per row, n2 more below m2), on a tile boundary.</summary>
        private int Boundary(int p)
        {
            int m = _first.M, m2 = _second.M, n1 = _first.N, n2 = _second.N, mr = _wide ? GemmKernel512.MR : GemmKernel256.MR;
            if (p >= _parts) return m;
            double target = ((double)m * n1 + (double)m2 * n2) * p / _parts;
            double row = target <= (double)m2 * (n1 + n2) ? target / (n1 + n2) : m2 + (target - (double)m2 * (n1 + n2)) / n1;
            return Math.Min(m, (int)Math.Round(row / mr) * mr);
        }
    }
}
