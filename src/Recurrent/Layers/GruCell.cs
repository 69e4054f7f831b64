using Recurrent.Layers.Cells;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// torch.nn.GRUCell. B = batch, I = input size, H = hidden size; gate order r, z, n:
///   r, z = σ(W_i· x_t + b_i· + W_h· h_{t−1} + b_h·)
///   n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn)),   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
/// The reset gate multiplies the hidden projection with its bias, so that part is computed apart (h_{t−1} W_hhᵀ into
/// its own [B, 3H] buffer) and b_hn is not folded into A.
/// Kept for backward: the activations (r, z, n), h_{t−1} (in the arenas of <see cref="RecurrentCell"/>) and
/// HiddenN [T, B, H] = W_hn h_{t−1} + b_hn. Backward: the hidden side's dA differs from the input side's only in its n
/// block, da_n ⊙ r (HiddenGradN [T, B, H]), so dh_{t−1} = dh_t ⊙ z + dA_t[r, z] W_hh[r, z] + HiddenGradN_t W_hn,
/// and W_hn, b_hn get their gradients from HiddenGradN.
/// </summary>
public sealed class GruCell : RecurrentCell
{
    private AlignedFloats _hiddenN, _hiddenGradN;
    private AlignedFloats _projection, _scratchN;   // per step: h_{t−1} W_hhᵀ [B, 3H]; Advance's W_hn h + b_hn [B, H]
    private GemmPackedB? _hiddenBackwardN;           // W_hn [H, H], packed for the backward steps
    private readonly float[] _biasGradN;

    /// <summary>torch.nn.GRUCell(input_size, hidden_size): weights ~ U(±1/√H) from rng (null: an Rng from Rng.FromGlobal()); throws <see cref="ArgumentException"/> for a size ≤ 0.</summary>
    public GruCell(int inputSize, int hiddenSize, Rng? rng = null) : base(CellKind.Gru, inputSize, hiddenSize, rng) =>
        _biasGradN = new float[hiddenSize];

    /// <summary>"GRUCell(7, 11)", as PyTorch prints the module.</summary>
    public override string ToString() => $"GRUCell({InputSize}, {HiddenSize})";

    private protected override void AllocateOwn(int maxSteps, int batch)
    {
        _hiddenN = _hiddenN.Fit(maxSteps * batch * HiddenSize);
        _hiddenGradN = _hiddenGradN.Fit(maxSteps * batch * HiddenSize);
    }

    private Span<float> StepHiddenN(int t) => _hiddenN.Slice(t * Batch * HiddenSize, Batch * HiddenSize);
    private Span<float> StepHiddenGradN(int t) => _hiddenGradN.Slice(t * Batch * HiddenSize, Batch * HiddenSize);

    private protected override void ForwardCells(int t, int batch, Span<float> gates, ReadOnlySpan<float> hPrev, Span<float> h,
        ReadOnlySpan<float> cPrev, Span<float> c)
    {
        int H = HiddenSize, GH = GateWidth;
        _projection = _projection.Fit(batch * GH);
        AddHiddenProjection(t, hPrev, _projection, batch, accumulate: false);
        Span<float> hiddenN = t >= 0 ? StepHiddenN(t) : (_scratchN = _scratchN.Fit(batch * H)).All;
        ReadOnlySpan<float> biasHn = BiasHh.Value.Data.AsSpan(2 * H, H);
        for (int b = 0; b < batch; b++)
        {
            Span<float> hRow = h.Slice(b * H, H);
            GruKernels.Forward(gates.Slice(b * GH, GH), _projection.Slice(b * GH, GH), biasHn, hPrev.Slice(b * H, H),
                hiddenN.Slice(b * H, H), hRow, hRow, H, 0, H);
        }
    }

    private protected override void BackwardCells(int t, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dhPrev)
    {
        int H = HiddenSize, GH = GateWidth;
        Span<float> gates = StepGates(t), hPrev = PreviousHidden(t), hiddenN = StepHiddenN(t), hiddenGradN = StepHiddenGradN(t);
        for (int b = 0; b < Batch; b++)
            GruKernels.Backward(gates.Slice(b * GH, GH), hiddenN.Slice(b * H, H), hPrev.Slice(b * H, H), dh.Slice(b * H, H),
                hiddenGradN.Slice(b * H, H), dhPrev.Slice(b * H, H), H, 0, H);
        // The kernels wrote dh_t ⊙ z; the r, z rows of W_hh and W_hn add the rest.
        AddHiddenBackward(gates, dhPrev, accumulate: true);
        Gemm.Multiply(hiddenGradN, H, false, _hiddenBackwardN!, dhPrev, H, Batch, accumulate: true);
    }

    private protected override void PackOwnBackwardWeights()
    {
        int H = HiddenSize;
        _hiddenBackwardN ??= new GemmPackedB(H, H);
        _hiddenBackwardN.Pack(WeightHh.Value.Data.AsSpan(2 * H * H, H * H), H, transB: false);
    }

    /// <summary>dW_hn += HiddenGradNᵀ H_prev and db_hn += Σ HiddenGradN, over all T·B rows.</summary>
    private protected override void AccumulateOwnGradients(ReadOnlySpan<float> hPrev, int rows)
    {
        int H = HiddenSize;
        ReadOnlySpan<float> hiddenGradN = _hiddenGradN.Slice(0, rows * H);
        Gemm.Multiply(hiddenGradN, H, true, hPrev, H, false, WeightHh.Grad.Data.AsSpan(2 * H * H, H * H), H, H, H, rows,
            accumulate: true);
        SumRows(hiddenGradN, rows, _biasGradN);
        Span<float> biasGradN = BiasHh.Grad.Data.AsSpan(2 * H, H);
        Kernels.Add(biasGradN, _biasGradN, biasGradN);
    }
}
