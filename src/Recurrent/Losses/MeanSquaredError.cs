using Recurrent.Tensors;

namespace Recurrent.Losses;

/// <summary>
/// torch.nn.MSELoss (mean): loss = (1/N) Σ (p − t)².  prediction, target: the same shape, N elements.
/// Keeps for backward: p − t, which Backward turns into dp = 2(p − t)/N in place.
/// </summary>
public sealed class MeanSquaredError
{
    private Tensor? _grad;   // p − t after Forward, dp after Backward
    private bool _gradReady;

    public float Forward(Tensor prediction, Tensor target)
    {
        Tensor.RequireShape(target, prediction.Shape, "MeanSquaredError.Forward (target vs prediction)");
        if (_grad is null || !_grad.HasShape(prediction.Shape)) _grad = new Tensor(prediction.Shape);
        var diff = _grad.Span;
        prediction.Span.CopyTo(diff);
        Kernels.AddScaled(diff, target.Span, -1f);
        _gradReady = false;
        return diff.Length == 0 ? 0f : (float)(Kernels.SumOfSquares(diff) / diff.Length);
    }

    /// <summary>dp = 2(p − t)/N, shaped like the prediction.</summary>
    public Tensor Backward()
    {
        var g = _grad ?? throw new InvalidOperationException("MeanSquaredError.Backward called before Forward");
        if (!_gradReady && g.Length > 0) Kernels.Scale(g.Span, 2f / g.Length);
        _gradReady = true;
        return g;
    }
}
