using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Losses;

/// <summary>
/// torch.nn.CrossEntropyLoss (mean reduction, ignore_index), fused with the softmax:
/// loss = (1/Count) Σ_{n: t_n ≠ ignore} (log Σ_c e^{x_nc} − x_{n,t_n}).  logits: [N, C] or [..., C] read as N rows;
/// targets: [N]. Count = rows whose target is not ignoreIndex; with none the loss is 0.
/// Keeps for backward: e^{x−max} of each counted row and 1/Σ, in the buffer Backward turns into dlogits in place.
/// That buffer is resized in place to each call's shape and its array, like the per-row ones, grows to the largest seen.
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

    private readonly Tensor _grad = Tensor.Growable(0); // e^{x−max} after Forward, dlogits after Backward
    private float[] _inverseSum = []; // per row 1/Σ e^{x−max} (grown)
    private int[] _targets = [];      // per row (grown)
    private int _rows = -1;           // rows of the last Forward; −1 before the first
    private readonly BackwardGuard _guard = new();

    /// <summary>A loss that skips the rows whose target is <paramref name="ignoreIndex"/>.</summary>
    public SoftmaxCrossEntropy(int ignoreIndex = -100) => IgnoreIndex = ignoreIndex;

    /// <summary>The name error messages give this loss.</summary>
    public override string ToString() => "SoftmaxCrossEntropy";

    /// <summary>The mean loss over counted rows. logits: [..., C]; targets: one class per row.</summary>
    public float Forward(Tensor logits, ReadOnlySpan<int> targets)
    {
        if (logits.Rank == 0 || logits.Shape[^1] == 0)
            throw new ShapeException($"SoftmaxCrossEntropy.Forward: logits need a class dimension, got {Tensor.Describe(logits.Shape)}");
        int classes = logits.Shape[^1], rows = logits.Length / classes;
        if (targets.Length != rows)
            throw new ShapeException($"SoftmaxCrossEntropy.Forward: logits {Tensor.Describe(logits.Shape)} have {rows} rows but there are {targets.Length} targets");
        for (int n = 0; n < rows; n++)
            if (targets[n] != IgnoreIndex && (uint)targets[n] >= (uint)classes)
                throw new ArgumentException($"SoftmaxCrossEntropy.Forward: target {targets[n]} at position {n} is outside [0, {classes}) and is not the ignore index {IgnoreIndex}");

        _grad.Resize(logits.Shape);
        if (_targets.Length < rows) (_targets, _inverseSum) = (new int[rows], new float[rows]);
        targets.CopyTo(_targets);
        _rows = rows;
        _guard.Forward();

        var x = logits.Span;
        var e = _grad.Span;
        double sum = 0;
        int count = 0;
        for (int n = 0; n < rows; n++)
        {
            var row = e.Slice(n * classes, classes);
            if (targets[n] == IgnoreIndex)
            {
                row.Clear();
                continue;
            }
            float partition = Kernels.ExpMinusMax(x.Slice(n * classes, classes), row, out float max);
            _inverseSum[n] = 1f / partition;
            sum += max + Math.Log(partition) - x[n * classes + targets[n]]; // log Σ e^x − x[t]
            count++;
        }
        Count = count;
        LastLossSum = sum;
        return count == 0 ? 0f : (float)(sum / count);
    }

    /// <summary>dlogits = (softmax − onehot(target)) / Count on counted rows, 0 on ignored rows; shaped like the logits.</summary>
    public Tensor Backward()
    {
        _guard.Backward(this);
        var g = _grad;
        int classes = g.Shape[^1];
        var d = g.Span;
        float inverseCount = 1f / Count;
        for (int n = 0; n < _rows; n++)
        {
            if (_targets[n] == IgnoreIndex) continue;
            var row = d.Slice(n * classes, classes);
            Kernels.Scale(row, _inverseSum[n] * inverseCount); // e^{x−max}/Σ/Count
            row[_targets[n]] -= inverseCount;
        }
        return g;
    }
}
