using Recurrent.Layers.Cells;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// The leaky-integrator tanh RNN, one step at a time (the single-step form of <see cref="CellKind.Leaky"/> in
/// <see cref="RecurrentLayer"/>). B = batch, I = input size, H = hidden size:
///   n_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),   h_t = (1 − α) ⊙ h_{t−1} + α ⊙ n_t
/// α [H] per unit is fixed, or learned as α = σ(leak) with the parameter "leak" [H] after nn.RNNCell's four (see
/// <see cref="Leak"/> for why σ). α = 1 is <see cref="RnnCell"/> to the bit.
/// Kept for backward: n_t in the gate arena and h_{t−1} in the state arena of <see cref="RecurrentCell"/>. Backward:
/// dA_t = dh_t ⊙ α ⊙ (1 − n_t²), dh_{t−1} = dh_t ⊙ (1 − α) + dA_t W_hh, dα = Σ_t Σ_b dh_t ⊙ (n_t − h_{t−1}) (summed
/// over the sequence's rows in a fixed order), d leak = dα ⊙ α(1 − α) at EndBackward.
/// </summary>
public sealed class LeakyCell : RecurrentCell
{
    /// <summary>The leak as given: fixed α, or learned from this starting α.</summary>
    public Leak Leak { get; }
    /// <summary>The learned leak u [H] (α = σ(u)), "leak"; null for a fixed α.</summary>
    public Parameter? LeakParameter { get; }

    private readonly float[] _alpha;      // [H] α as of the last forward step
    private readonly float[] _alphaGrad;  // [H] dα summed over the sequence's backward steps (learned α only)

    /// <summary>
    /// A leaky tanh cell with weights ~ U(±1/√H) from rng (null: an Rng from Rng.FromGlobal()) and the leak given (<see cref="Leak.Default"/>
    /// if null); a learned leak starts every unit's u at logit(α). Throws <see cref="ArgumentException"/> for a size ≤ 0
    /// or an α the leak does not allow ((0, 1] fixed, (0, 1) learned).
    /// </summary>
    public LeakyCell(int inputSize, int hiddenSize, Rng? rng = null, Leak? leak = null)
        : base(CellKind.Leaky, inputSize, hiddenSize, rng)
    {
        Leak = leak ?? Leak.Default;
        Leak.Validate("LeakyRNNCell");
        _alpha = new float[hiddenSize];
        _alphaGrad = Leak.Learned ? new float[hiddenSize] : [];
        if (Leak.Learned)
        {
            LeakParameter = new Parameter("leak", hiddenSize);
            LeakParameter.Value.Data.AsSpan().Fill(Leak.Logit(Leak.Alpha));
        }
    }

    /// <summary>The four weights, then "leak" when the leak is learned.</summary>
    public override IEnumerable<Parameter> Parameters() =>
        LeakParameter == null ? base.Parameters() : [.. base.Parameters(), LeakParameter];

    /// <summary>"LeakyRNNCell(3, 4, leak=0.5)" or "LeakyRNNCell(3, 4, leak=learned:0.5)".</summary>
    public override string ToString() => $"LeakyRNNCell({InputSize}, {HiddenSize}, leak={Leak})";

    /// <summary>α now: the fixed value, or σ of the learned leak.</summary>
    private void SetAlpha()
    {
        if (LeakParameter == null) { _alpha.AsSpan().Fill(Leak.Alpha); return; }
        ReadOnlySpan<float> u = LeakParameter.Value.Data;
        for (int j = 0; j < HiddenSize; j++) _alpha[j] = 1f / (1f + MathF.Exp(-u[j]));
    }

    private protected override void ForwardCells(int t, int batch, Span<float> gates, ReadOnlySpan<float> hPrev, Span<float> h,
        ReadOnlySpan<float> cPrev, Span<float> c)
    {
        int H = HiddenSize;
        SetAlpha();
        // The whole of hPrev is read here, before any row of h (which may be hPrev itself) is written.
        AddHiddenProjection(t, hPrev, gates, batch, accumulate: true);
        for (int b = 0; b < batch; b++)
        {
            Span<float> hRow = h.Slice(b * H, H);
            LeakyKernels.Forward(gates.Slice(b * H, H), hPrev.Slice(b * H, H), _alpha, hRow, hRow, 0, H);
        }
    }

    private protected override void BackwardCells(int t, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dhPrev)
    {
        int H = HiddenSize;
        Span<float> gates = StepGates(t), hPrev = PreviousHidden(t);
        for (int b = 0; b < Batch; b++)
            LeakyKernels.Backward(gates.Slice(b * H, H), hPrev.Slice(b * H, H), _alpha, dh.Slice(b * H, H), dhPrev.Slice(b * H, H),
                _alphaGrad, 0, H);
        // The kernels wrote dh_t ⊙ (1 − α); W_hh adds the rest.
        AddHiddenBackward(gates, dhPrev, accumulate: true);
    }

    /// <summary>A new sequence: its dα starts from zero.</summary>
    private protected override void AllocateOwn(int maxSteps, int batch) => _alphaGrad.AsSpan().Clear();

    /// <summary>d leak += dα ⊙ α(1 − α).</summary>
    private protected override void AccumulateOwnGradients(ReadOnlySpan<float> hPrev, int rows)
    {
        if (LeakParameter == null) return;
        Span<float> du = LeakParameter.Grad.Data;
        for (int j = 0; j < HiddenSize; j++) du[j] += _alphaGrad[j] * _alpha[j] * (1f - _alpha[j]);
    }
}
