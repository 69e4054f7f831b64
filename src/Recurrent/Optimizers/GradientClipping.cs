using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>torch.nn.utils.clip_grad_norm_ and clip_grad_value_ over parameters' gradients, in place.</summary>
public static class GradientClipping
{
    /// <summary>
    /// ‖g‖ = √(Σ over all gradients of g²) (accumulated in double); when maxNorm/(‖g‖ + 1e-6) &lt; 1 every gradient is
    /// scaled by it (PyTorch's coefficient, computed in float as 1/(‖g‖ + 1e-6)·maxNorm). Returns ‖g‖ before clipping.
    /// Both passes are shared among the GEMM threads (<see cref="GradientPasses"/>), with the same result on any number.
    /// </summary>
    public static float ClipGlobalNorm(IEnumerable<Parameter> parameters, float maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentException($"GradientClipping.ClipGlobalNorm: max norm must be > 0, got {maxNorm}");
        var list = parameters as IReadOnlyList<Parameter> ?? parameters.ToArray();
        float norm = (float)Math.Sqrt(GradientPasses.SumOfSquares(list));
        float coefficient = 1f / (norm + 1e-6f) * maxNorm;
        if (coefficient < 1f) GradientPasses.Scale(list, coefficient);
        return norm;
    }

    /// <summary>Clamps every gradient element to [−clipValue, clipValue].</summary>
    public static void ClipValue(IEnumerable<Parameter> parameters, float clipValue)
    {
        if (!(clipValue >= 0)) throw new ArgumentException($"GradientClipping.ClipValue: clip value must be ≥ 0, got {clipValue}");
        foreach (var p in parameters) Kernels.Clamp(p.Grad.Span, -clipValue, clipValue);
    }

    /// <summary>
    /// The clipping a training step applies: each element to ±<paramref name="clipValue"/> (0 = off), then the global
    /// norm to <paramref name="clipNorm"/> (0 = off). Returns the norm before the norm clip (measured even when off, for
    /// the log).
    /// </summary>
    public static float Apply(IEnumerable<Parameter> parameters, double clipNorm, double clipValue)
    {
        if (clipValue > 0) ClipValue(parameters, (float)clipValue);
        return ClipGlobalNorm(parameters, clipNorm > 0 ? (float)clipNorm : float.PositiveInfinity);
    }
}
