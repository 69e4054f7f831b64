using Recurrent.Layers.Cells;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// torch.nn.RNNCell. B = batch, I = input size, H = hidden size:
///   h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),   act = tanh, or ReLU (nonlinearity "relu")
/// Kept for backward: h_t, in the gate arena of <see cref="RecurrentCell"/> (act' is written with it alone: 1 − h², or
/// [h > 0]). Backward: dA_t = dh_t ⊙ act', dh_{t−1} = dA_t W_hh.
/// </summary>
public sealed class RnnCell : RecurrentCell
{
    /// <summary>"tanh" or "relu", as PyTorch names it.</summary>
    public string Nonlinearity => Kind == CellKind.RnnRelu ? "relu" : "tanh";

    /// <summary>
    /// torch.nn.RNNCell(input_size, hidden_size, nonlinearity): weights ~ U(±1/√H) from rng (null: an Rng from Rng.FromGlobal()). Throws
    /// <see cref="ArgumentException"/> for a size ≤ 0 or a nonlinearity other than "tanh" or "relu".
    /// </summary>
    public RnnCell(int inputSize, int hiddenSize, Rng? rng = null, string nonlinearity = "tanh")
        : base(KindOf(nonlinearity), inputSize, hiddenSize, rng) { }

    private static CellKind KindOf(string nonlinearity) => nonlinearity switch
    {
        "tanh" => CellKind.RnnTanh,
        "relu" => CellKind.RnnRelu,
        _ => throw new ArgumentException($"RNNCell: nonlinearity must be \"tanh\" or \"relu\" (got \"{nonlinearity}\")"),
    };

    /// <summary>"RNNCell(7, 11)" or "RNNCell(7, 11, nonlinearity=relu)", as PyTorch prints the module.</summary>
    public override string ToString() =>
        $"RNNCell({InputSize}, {HiddenSize}{(Kind == CellKind.RnnRelu ? ", nonlinearity=relu" : "")})";

    private protected override void ForwardCells(int t, int batch, Span<float> gates, ReadOnlySpan<float> hPrev, Span<float> h,
        ReadOnlySpan<float> cPrev, Span<float> c)
    {
        int H = HiddenSize;
        bool relu = Kind == CellKind.RnnRelu;
        AddHiddenProjection(t, hPrev, gates, batch, accumulate: true);
        for (int b = 0; b < batch; b++)
        {
            Span<float> hRow = h.Slice(b * H, H);
            RnnKernels.Forward(gates.Slice(b * H, H), hRow, hRow, relu, 0, H);
        }
    }

    private protected override void BackwardCells(int t, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dhPrev)
    {
        int H = HiddenSize;
        bool relu = Kind == CellKind.RnnRelu;
        Span<float> gates = StepGates(t);
        for (int b = 0; b < Batch; b++) RnnKernels.Backward(gates.Slice(b * H, H), dh.Slice(b * H, H), relu, 0, H);
        AddHiddenBackward(gates, dhPrev, accumulate: false);
    }
}
