using Recurrent.Layers.Cells;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// torch.nn.LSTMCell. B = batch, I = input size, H = hidden size; gate order i, f, g, o:
///   i, f, g, o = σ, σ, tanh, σ of (W_i· x_t + b_i· + W_h· h_{t−1} + b_h·)
///   c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
/// Kept for backward: the activations (i, f, g, o) and c_{t−1}, c_t, in the arenas of <see cref="RecurrentCell"/>.
/// Backward: dA_t from <see cref="LstmKernels.Backward"/>, which also turns dc_t into dc_{t−1}; dh_{t−1} = dA_t W_hh.
/// </summary>
public sealed class LstmCell : RecurrentCell
{
    /// <summary>torch.nn.LSTMCell(input_size, hidden_size): weights ~ U(±1/√H) from rng (null: an Rng from Rng.FromGlobal()); throws <see cref="ArgumentException"/> for a size ≤ 0.</summary>
    public LstmCell(int inputSize, int hiddenSize, Rng? rng = null) : base(CellKind.Lstm, inputSize, hiddenSize, rng) { }

    /// <summary>"LSTMCell(7, 11)", as PyTorch prints the module.</summary>
    public override string ToString() => $"LSTMCell({InputSize}, {HiddenSize})";

    private protected override void ForwardCells(int t, int batch, Span<float> gates, ReadOnlySpan<float> hPrev, Span<float> h,
        ReadOnlySpan<float> cPrev, Span<float> c)
    {
        int H = HiddenSize, GH = GateWidth;
        AddHiddenProjection(t, hPrev, gates, batch, accumulate: true);
        for (int b = 0; b < batch; b++)
        {
            Span<float> hRow = h.Slice(b * H, H);
            LstmKernels.Forward(gates.Slice(b * GH, GH), cPrev.Slice(b * H, H), c.Slice(b * H, H), hRow, hRow, H, 0, H);
        }
    }

    private protected override void BackwardCells(int t, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dhPrev)
    {
        int H = HiddenSize, GH = GateWidth;
        Span<float> gates = StepGates(t), cPrev = PreviousCell(t), c = PreviousCell(t + 1);
        for (int b = 0; b < Batch; b++)
            LstmKernels.Backward(gates.Slice(b * GH, GH), cPrev.Slice(b * H, H), c.Slice(b * H, H), dh.Slice(b * H, H),
                dc.Slice(b * H, H), H, 0, H);
        AddHiddenBackward(gates, dhPrev, accumulate: false);
    }
}
