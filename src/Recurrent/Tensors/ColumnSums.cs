namespace Recurrent.Tensors;

/// <summary>
/// sum[j] += Σ_r matrix[r, j], the rows added one after another in order (a bias gradient: Σ over the rows of dy).
/// Large ones are cut by columns among the GEMM threads: each element is still the same chain of additions over r,
/// so the result does not depend on the thread count. The output layer of a translation model sums 768 rows of
/// 12,000 here every step.
/// </summary>
internal sealed unsafe class ColumnSums : IParallelWork
{
    [ThreadStatic] private static ColumnSums? _current;
    private float* _matrix, _sum;
    private int _rows, _width, _parts;

    /// <summary>sum [width] += Σ over the rows of matrix [rows, width].</summary>
    public static void Accumulate(ReadOnlySpan<float> matrix, int rows, Span<float> sum)
    {
        int width = sum.Length;
        if ((long)rows * width > matrix.Length)
            throw new ArgumentException($"ColumnSums.Accumulate: {matrix.Length} floats do not hold [{rows}, {width}]");
        var work = _current ??= new ColumnSums();
        fixed (float* m = matrix, s = sum)
        {
            work._matrix = m;
            work._sum = s;
            (work._rows, work._width) = (rows, width);
            // Parts of at least 256 columns: narrower ones would spend more on the hand-off than on the sums.
            work._parts = ParallelParts.For((long)rows * width, width / 256);
            ParallelParts.Run(work, work._parts);
            work._matrix = work._sum = null;
        }
    }

    public void RunPart(int part)
    {
        var (from, to) = ParallelParts.Range(_width, _parts, part, unit: 16);
        AccumulateColumns(_matrix, _rows, _width, from, to, _sum);
    }

    /// <summary>sum[j] += Σ_r matrix[r, j] for the columns j in [from, to) of a [rows, width] matrix.</summary>
    internal static void AccumulateColumns(float* matrix, int rows, int width, int from, int to, float* sum)
    {
        var range = new Span<float>(sum + from, to - from);
        for (int r = 0; r < rows; r++) Kernels.Add(range, new ReadOnlySpan<float>(matrix + (long)r * width + from, to - from), range);
    }
}
