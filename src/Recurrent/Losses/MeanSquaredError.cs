using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Losses;

/// <summary>
/// torch.nn.MSELoss (mean): loss = (1/N) Σ (p − t)².  prediction, target: the same shape, N elements.
/// Keeps for backward: p − t, which Backward turns into dp = 2(p − t)/N in place, in a buffer resized to each call's
/// shape (its array grows to the largest seen). One Backward per Forward (<see cref="BackwardGuard"/>).
/// </summary>
public sealed class MeanSquaredError
{
    private readonly Tensor _grad = Tensor.Growable(0); // p − t after Forward, dp after Backward
    private readonly BackwardGuard _guard = new();

    /// <summary>The name error messages give this loss.</summary>
    public override string ToString() => "MeanSquaredError";

    /// <summary>The mean of (p − t)² over all elements (0 for empty tensors). Throws <see cref="ShapeException"/> when target's shape differs from prediction's.</summary>
    public float Forward(Tensor prediction, Tensor target)
    {
        Tensor.RequireShape(target, prediction.Shape, "MeanSquaredError.Forward (target vs prediction)");
        _grad.Resize(prediction.Shape);
        _guard.Forward();
        var diff = _grad.Span;
        prediction.Span.CopyTo(diff);
        Kernels.AddScaled(diff, target.Span, -1f);
        return diff.Length == 0 ? 0f : (float)(Kernels.SumOfSquares(diff) / diff.Length);
    }

    /// <summary>dp = 2(p − t)/N, shaped like the prediction.</summary>
    public Tensor Backward()
    {
        _guard.Backward(this);
        var g = _grad;
        if (g.Length > 0) Kernels.Scale(g.Span, 2f / g.Length);
        return g;
    }
}
