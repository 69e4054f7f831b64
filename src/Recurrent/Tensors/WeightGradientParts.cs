namespace Recurrent.Tensors;

/// <summary>
/// A linear layer's weight and bias gradients, dW[out, in] += dyᵀ·x and db[out] += Σ_rows dy, cut by rows of dW into
/// parts that the worker pool runs while the caller goes on with other work: <see cref="Start"/>, then
/// <see cref="Finish"/>. A part does its rows of dW and the same columns of dy's sums, so every element is the same
/// chain of operations as the whole product's (<see cref="Gemm"/> and <see cref="ColumnSums"/>): the result is
/// bit-identical whichever thread runs a part, and to the layer's plain Backward.
/// </summary>
internal sealed unsafe class WeightGradientParts : IParallelWork
{
    /// <summary>
    /// Rows of dW a part: a multiple of both kernels' MR (12, 6) and of the sums' vectors. Each part packs all of x,
    /// so smaller parts pack more. 960 rows of an encoder–decoder's output layer (in 512, 768 rows of dy) take 4.9 ms
    /// of one core; cut so, its 12,000 rows took 65.4 ms on one thread against 63.6 ms as one product (AVX-512).
    /// </summary>
    private const int RowsPerPart = 960;

    private Tensor? _dy, _x, _weightGrad, _biasGrad;
    private int _rows, _out, _in;
    private bool _posted;

    /// <summary>True between a <see cref="Start"/> and its <see cref="Finish"/>, even when Start found no worker free and did the sums itself.</summary>
    public bool Pending => _dy != null;

    /// <summary>
    /// Starts the sums of dy [rows, out] and x [rows, in] into weightGrad [out, in] and biasGrad [out] (if any) on the
    /// worker pool; with no worker free (one thread, or the pool busy) does them all now. The tensors must not change,
    /// and the gradients must not be read, until <see cref="Finish"/>.
    /// </summary>
    public void Start(Tensor dy, Tensor x, int rows, Tensor weightGrad, Tensor? biasGrad)
    {
        if (Pending) throw new InvalidOperationException("WeightGradientParts.Start: the previous sums are not finished");
        (_dy, _x, _weightGrad, _biasGrad) = (dy, x, weightGrad, biasGrad);
        (_rows, _out, _in) = (rows, weightGrad.Dim(0), weightGrad.Dim(1));
        int parts = (_out + RowsPerPart - 1) / RowsPerPart;
        _posted = parts > 1 && rows > 0 && WorkerPool.TryPost(this, parts, Gemm.Threads - 1);
        if (!_posted) AccumulateNow(dy, x, rows, weightGrad, biasGrad);
    }

    /// <summary>The same sums at once, as one product (on the GEMM threads) and one column sum: a layer's plain Backward.</summary>
    public static void AccumulateNow(Tensor dy, Tensor x, int rows, Tensor weightGrad, Tensor? biasGrad)
    {
        int outFeatures = weightGrad.Dim(0), inFeatures = weightGrad.Dim(1);
        Gemm.Multiply(dy.Span, outFeatures, true, x.Span, inFeatures, false, weightGrad.Span, inFeatures,
            outFeatures, inFeatures, rows, accumulate: true);
        if (biasGrad != null) ColumnSums.Accumulate(dy.Span, rows, biasGrad.Span);
    }

    /// <summary>Waits until the sums <see cref="Start"/> began are complete (taking a share of what is left); ends Pending.</summary>
    public void Finish()
    {
        if (!Pending) return;
        try
        {
            if (_posted) WorkerPool.Finish();
        }
        finally
        {
            Release();
        }
    }

    private void Release()
    {
        _dy = _x = _weightGrad = _biasGrad = null;
        _posted = false;
    }

    public void RunPart(int part)
    {
        int i0 = part * RowsPerPart, i1 = Math.Min(_out, i0 + RowsPerPart);
        fixed (float* dy = _dy!.Span, x = _x!.Span, dw = _weightGrad!.Span)
        {
            var problem = new GemmProblem(dy, _out, true, x, _in, false, dw, _in, _out, _in, _rows, accumulate: true);
            var columns = new ColumnRange(0, _in);
            Gemm.RunPart(problem, Gemm.Vector512Default, i0, i1, new ReadOnlySpan<ColumnRange>(in columns));
        }
        if (_biasGrad != null)
            fixed (float* dy = _dy.Span, db = _biasGrad.Span)
                ColumnSums.AccumulateColumns(dy, _rows, _out, i0, i1, db);
    }
}
