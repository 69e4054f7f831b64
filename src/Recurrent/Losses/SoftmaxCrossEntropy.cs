using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Losses;

/// <summary>
/// torch.nn.CrossEntropyLoss (mean reduction, ignore_index), fused with the softmax:
/// loss = (1/Count) Σ_{n: t_n ≠ ignore} (log Σ_c e^{x_nc} − x_{n,t_n}).  logits: [N, C] or [..., C] read as N rows;
/// targets: [N]. Count = rows whose target is not ignoreIndex; with none the loss is 0.
/// Forward also computes dlogits = (softmax − onehot(target)) / Count, row by row while the row's e^{x−max} is still in
/// cache (a separate backward pass re-read all N·C floats from memory: a 768 × 12,000 output layer's 37 MB), and cuts
/// the rows among the GEMM threads; each row's loss term is kept and the terms are summed in row order afterwards, so
/// the loss and the gradient are the same bits whatever the thread count. Backward returns that gradient.
/// Its buffer is resized in place to each call's shape and its array, like the per-row ones, grows to the largest seen.
/// One Backward per Forward (<see cref="BackwardGuard"/>).
/// </summary>
public sealed class SoftmaxCrossEntropy
{
    /// <summary>The target class that is not counted (torch's ignore_index, default −100): padding positions.</summary>
    public int IgnoreIndex { get; }
    /// <summary>Rows counted by the last Forward (targets ≠ ignoreIndex).</summary>
    public int Count { get; private set; }
    /// <summary>The un-averaged loss of the last Forward, summed in double (for perplexity over many batches).</summary>
    public double LastLossSum { get; private set; }

    private readonly Tensor _grad = Tensor.Growable(0); // dlogits after Forward
    private double[] _rowLoss = [];   // per row log Σ e^x − x[t] (grown)
    private readonly BackwardGuard _guard = new();
    private readonly RowsWork _work = new();

    /// <summary>A loss that skips the rows whose target is <paramref name="ignoreIndex"/>.</summary>
    public SoftmaxCrossEntropy(int ignoreIndex = -100) => IgnoreIndex = ignoreIndex;

    /// <summary>The name error messages give this loss.</summary>
    public override string ToString() => "SoftmaxCrossEntropy";

    /// <summary>The mean loss over counted rows. logits: [..., C]; targets: one class per row.</summary>
    public unsafe float Forward(Tensor logits, ReadOnlySpan<int> targets)
    {
        if (logits.Rank == 0 || logits.Shape[^1] == 0)
            throw new ShapeException($"SoftmaxCrossEntropy.Forward: logits need a class dimension, got {Tensor.Describe(logits.Shape)}");
        int classes = logits.Shape[^1], rows = logits.Length / classes;
        if (targets.Length != rows)
            throw new ShapeException($"SoftmaxCrossEntropy.Forward: logits {Tensor.Describe(logits.Shape)} have {rows} rows but there are {targets.Length} targets");
        int count = 0;
        for (int n = 0; n < rows; n++)
        {
            if (targets[n] == IgnoreIndex) continue;
            if ((uint)targets[n] >= (uint)classes)
                throw new ArgumentException($"SoftmaxCrossEntropy.Forward: target {targets[n]} at position {n} is outside [0, {classes}) and is not the ignore index {IgnoreIndex}");
            count++;
        }

        _grad.Resize(logits.Shape);
        if (_rowLoss.Length < rows) _rowLoss = new double[rows];
        _guard.Forward();
        fixed (float* x = logits.Span, d = _grad.Span)
        fixed (int* t = targets)
        fixed (double* loss = _rowLoss)
        {
            _work.Set(x, d, t, loss, rows, classes, IgnoreIndex, 1f / count);
            ParallelParts.Run(_work, _work.Parts);
        }
        double sum = 0;
        for (int n = 0; n < rows; n++)
            if (targets[n] != IgnoreIndex) sum += _rowLoss[n];
        Count = count;
        LastLossSum = sum;
        return count == 0 ? 0f : (float)(sum / count);
    }

    /// <summary>dlogits = (softmax − onehot(target)) / Count on counted rows, 0 on ignored rows; shaped like the logits.</summary>
    public Tensor Backward()
    {
        _guard.Backward(this);
        return _grad;
    }

    /// <summary>Rows [start, end) of a Forward: each row's loss term and its gradient, independent of the other rows.</summary>
    private sealed unsafe class RowsWork : IParallelWork
    {
        private float* _x, _d;
        private int* _targets;
        private double* _loss;
        private int _rows, _classes, _ignore;
        private float _inverseCount;

        public int Parts { get; private set; }

        public void Set(float* x, float* d, int* targets, double* loss, int rows, int classes, int ignore, float inverseCount)
        {
            _x = x; _d = d; _targets = targets; _loss = loss;
            (_rows, _classes, _ignore, _inverseCount) = (rows, classes, ignore, inverseCount);
            Parts = ParallelParts.For((long)rows * classes, rows);
        }

        public void RunPart(int part)
        {
            var (start, end) = ParallelParts.Range(_rows, Parts, part);
            int classes = _classes;
            float inverseCount = _inverseCount;
            for (int n = start; n < end; n++)
            {
                var row = new Span<float>(_d + (long)n * classes, classes);
                int target = _targets[n];
                if (target == _ignore)
                {
                    row.Clear();
                    continue;
                }
                var x = new ReadOnlySpan<float>(_x + (long)n * classes, classes);
                float partition = Kernels.ExpMinusMax(x, row, out float max);
                _loss[n] = max + Math.Log(partition) - x[target]; // log Σ e^x − x[t]
                Kernels.Scale(row, 1f / partition * inverseCount); // e^{x−max}/Σ/Count
                row[target] -= inverseCount;
            }
        }
    }
}
