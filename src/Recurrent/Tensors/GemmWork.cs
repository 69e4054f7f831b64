namespace Recurrent.Tensors;

/// <summary>A GEMM cut into the rectangles of a partition, one part each. One instance per calling thread.</summary>
internal sealed class GemmWork : IParallelWork
{
    [ThreadStatic] private static GemmWork? _current;
    private GemmProblem _problem;
    private GemmPartition _partition;
    private bool _wide;

    public static GemmWork Prepare(in GemmProblem problem, in GemmPartition partition, bool wide)
    {
        var work = _current ??= new GemmWork();
        work._problem = problem;
        work._partition = partition;
        work._wide = wide;
        return work;
    }

    public void RunPart(int part)
    {
        var (i0, i1, j0, j1) = _partition.Part(part);
        var columns = new ColumnRange(j0, j1);
        if (i0 < i1 && j0 < j1) Gemm.RunPart(_problem, _wide, i0, i1, new ReadOnlySpan<ColumnRange>(in columns));
    }
}
