using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// DropConnect on a recurrent layer's hidden-to-hidden weights, as AWD-LSTM's WeightDrop (Merity et al., 2017): for a
/// training pass, W_hh' = W_hh ⊙ M with M drawn as inverted dropout draws its masks (0, or 1/(1 − p) kept with
/// probability 1 − p, <see cref="Dropout.DrawMask"/>), one M for every time step and batch row of the pass. The
/// time loop multiplies by W_hh' forward and backward, and the gradient reaching W_hh is ∂W_hh' ⊙ M. Unlike
/// dropout on h, the recurrent path keeps all its units at every step. Evaluation uses W_hh itself.
/// Owns M, W_hh' and ∂W_hh' (each the size of W_hh).
/// </summary>
internal sealed class WeightDrop(int length)
{
    private readonly float[] _mask = new float[length];

    /// <summary>W_hh ⊙ M for the pass drawn last.</summary>
    public float[] Dropped { get; } = new float[length];

    /// <summary>∂loss/∂W_hh' of the pass, accumulated by the backward's weight-gradient product (cleared by <see cref="Draw"/>).</summary>
    public float[] DroppedGrad { get; } = new float[length];

    /// <summary>Whether the pass in progress uses <see cref="Dropped"/> (a training pass after <see cref="Draw"/>).</summary>
    public bool Active { get; set; }

    /// <summary>Draws M with <paramref name="masks"/>' probability and Rng, and makes W_hh' = weight ⊙ M for the next pass.</summary>
    public void Draw(Dropout masks, ReadOnlySpan<float> weight)
    {
        masks.DrawMask(_mask);
        Kernels.Multiply(weight, _mask, Dropped);
        Array.Clear(DroppedGrad);
        Active = true;
    }

    /// <summary>weightGrad += ∂W_hh' ⊙ M (the chain rule through W_hh' = W_hh ⊙ M); ∂W_hh' is spent.</summary>
    public void AccumulateGradient(Span<float> weightGrad)
    {
        Kernels.Multiply(DroppedGrad, _mask, DroppedGrad);
        Kernels.Add(weightGrad, DroppedGrad, weightGrad);
    }
}
