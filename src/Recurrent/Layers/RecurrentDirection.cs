using Recurrent.Layers.Cells;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// One layer of one direction of a recurrent stack: its four parameters and the two time loops.
/// T = time, B = batch, I = input size, H = hidden size, G = gates (RNN 1, GRU 3, LSTM 4).
///
/// Forward, as cuDNN does it: one GEMM projects every time step's input at once (A = X W_ihᵀ + biases, [T·B, G·H]);
/// then per step only h_{t−1} W_hhᵀ is added and one fused kernel per batch row computes the gates and the new state.
/// Backward runs the steps in reverse with one GEMM per step (dh_{t−1} += dA_t W_hh), then three large GEMMs give
/// dW_ih, dW_hh and dX for all steps at once.
///
/// Kept for backward: Gates [T, B, G·H] (activations; backward overwrites them in place with the pre-activation
/// gradients), States [T+1, B, H] (h in processing order's neighbours: the forward direction's h_{t−1} is States[t] and
/// h_t is States[t+1]; the reverse direction's h_{t+1} is States[t+1] and h_t is States[t]), Cells [T+1, B, H] likewise
/// for the LSTM, and for the GRU HiddenN [T, B, H] = W_hn h + b_hn. The input X is the caller's and must not change.
/// Past a sequence's length the state is frozen and the output is zero, which is what PyTorch's packed sequences give
/// (the reverse direction thus starts from h0 at the sequence's last real step).
/// </summary>
internal sealed class RecurrentDirection
{
    public Parameter WeightIh { get; }
    public Parameter WeightHh { get; }
    public Parameter BiasIh { get; }
    public Parameter BiasHh { get; }

    private readonly CellKind _cell;
    private readonly int _inputSize, _hidden, _gateWidth;
    private readonly bool _reverse;

    private int _steps, _batch;
    private float[] _gates = [], _states = [], _cells = [], _hiddenN = [], _hiddenProjection = [], _hiddenGrad = [];
    private float[] _dh = [], _dhPrev = [], _dc = [];
    private readonly float[] _combinedBias;
    // W_hh packed once per pass for the per-step GEMMs: W_hhᵀ [H, G·H] forward, W_hh [G·H, H] backward.
    private readonly GemmPackedB _recurrentForward, _recurrentBackward;

    public RecurrentDirection(CellKind cell, int inputSize, int hidden, string suffix)
    {
        _cell = cell;
        _inputSize = inputSize;
        _hidden = hidden;
        _gateWidth = Gates(cell) * hidden;
        _reverse = suffix.EndsWith("_reverse", StringComparison.Ordinal);
        WeightIh = new Parameter("weight_ih_" + suffix, _gateWidth, inputSize);
        WeightHh = new Parameter("weight_hh_" + suffix, _gateWidth, hidden);
        BiasIh = new Parameter("bias_ih_" + suffix, _gateWidth);
        BiasHh = new Parameter("bias_hh_" + suffix, _gateWidth);
        _combinedBias = new float[_gateWidth];
        _recurrentForward = new GemmPackedB(hidden, _gateWidth);
        _recurrentBackward = new GemmPackedB(_gateWidth, hidden);
    }

    public static int Gates(CellKind cell) => cell switch { CellKind.Lstm => 4, CellKind.Gru => 3, _ => 1 };

    public IEnumerable<Parameter> Parameters() => [WeightIh, WeightHh, BiasIh, BiasHh];

    private int TimeOf(int step) => _reverse ? _steps - 1 - step : step;
    private int PrevIndex(int t) => _reverse ? t + 1 : t;
    private int CurrentIndex(int t) => _reverse ? t : t + 1;
    private static bool Active(int[]? lengths, int t, int b) => lengths == null || t < lengths[b];

    /// <param name="x">[T, B, I] time-major input.</param>
    /// <param name="h0">[B, H]; c0 likewise (LSTM only, else empty).</param>
    /// <param name="output">[T, B, outWidth]: this direction writes columns [outOffset, outOffset + H).</param>
    /// <param name="hN">[B, H] final state out; cN likewise (LSTM).</param>
    public void Forward(float[] x, int steps, int batch, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, int[]? lengths,
        float[] output, int outWidth, int outOffset, Span<float> hN, Span<float> cN)
    {
        Allocate(steps, batch);
        int H = _hidden, GH = _gateWidth, B = batch, rows = steps * batch;
        bool gru = _cell == CellKind.Gru, lstm = _cell == CellKind.Lstm, relu = _cell == CellKind.RnnRelu;

        // A = X W_ihᵀ + b_ih + b_hh for all steps; the GRU's b_hn stays out because r multiplies it.
        for (int g = 0; g < GH; g++)
            _combinedBias[g] = BiasIh.Value.Data[g] + (gru && g >= 2 * H ? 0f : BiasHh.Value.Data[g]);
        for (int r = 0; r < rows; r++) _combinedBias.CopyTo(_gates, r * GH);
        Gemm.Multiply(x, _inputSize, false, WeightIh.Value.Data, _inputSize, true, _gates, GH, rows, GH, _inputSize, accumulate: true);

        // Packing W_hh pays off over many rows; one or a few (sampling) are dot products straight from W_hh.
        bool packed = batch > GemmSkinny.MaxRows;
        if (packed) _recurrentForward.Pack(WeightHh.Value.Data, H, transB: true);
        int first = _reverse ? steps : 0;
        h0.CopyTo(_states.AsSpan(first * B * H, B * H));
        if (lstm) c0.CopyTo(_cells.AsSpan(first * B * H, B * H));
        ReadOnlySpan<float> biasHn = gru ? BiasHh.Value.Data.AsSpan(2 * H, H) : default;

        for (int s = 0; s < steps; s++)
        {
            int t = TimeOf(s);
            int prev = PrevIndex(t) * B * H, cur = CurrentIndex(t) * B * H;
            Span<float> gatesT = _gates.AsSpan(t * B * GH, B * GH);
            // h_{t−1} W_hhᵀ: into the GRU's own buffer (r multiplies it), else added to the gate pre-activations.
            Span<float> target = gru ? _hiddenProjection : gatesT;
            if (packed) Gemm.Multiply(_states.AsSpan(prev, B * H), H, false, _recurrentForward, target, GH, B, accumulate: !gru);
            else Gemm.Multiply(_states.AsSpan(prev, B * H), H, false, WeightHh.Value.Data, H, true, target, GH, B, GH, H, accumulate: !gru);

            for (int b = 0; b < B; b++)
            {
                Span<float> hPrev = _states.AsSpan(prev + b * H, H), h = _states.AsSpan(cur + b * H, H);
                Span<float> outRow = output.AsSpan((t * B + b) * outWidth + outOffset, H);
                if (!Active(lengths, t, b))
                {
                    hPrev.CopyTo(h);
                    if (lstm) _cells.AsSpan(prev + b * H, H).CopyTo(_cells.AsSpan(cur + b * H, H));
                    outRow.Clear();
                    continue;
                }
                Span<float> gatesRow = gatesT.Slice(b * GH, GH);
                switch (_cell)
                {
                    case CellKind.Lstm:
                        LstmKernels.Forward(gatesRow, _cells.AsSpan(prev + b * H, H), _cells.AsSpan(cur + b * H, H), h, H);
                        break;
                    case CellKind.Gru:
                        GruKernels.Forward(gatesRow, _hiddenProjection.AsSpan(b * GH, GH), biasHn, hPrev,
                            _hiddenN.AsSpan((t * B + b) * H, H), h, H);
                        break;
                    default:
                        RnnKernels.Forward(gatesRow, relu, H);
                        gatesRow.CopyTo(h);
                        break;
                }
                h.CopyTo(outRow);
            }
        }

        int last = _reverse ? 0 : steps;
        _states.AsSpan(last * B * H, B * H).CopyTo(hN);
        if (lstm) _cells.AsSpan(last * B * H, B * H).CopyTo(cN);
    }

    /// <summary>
    /// Accumulates the parameter gradients and writes (or adds, for the second direction) dX.
    /// </summary>
    /// <param name="x">the same [T, B, I] input Forward saw.</param>
    /// <param name="dOutput">[T, B, outWidth] gradient of the output, or null.</param>
    /// <param name="dhN">[B, H] gradient of the final state (empty for none); dcN likewise.</param>
    /// <param name="dx">[T, B, I] out.</param>
    /// <param name="dh0">[B, H] out; dc0 likewise (LSTM).</param>
    public void Backward(float[] x, int[]? lengths, float[]? dOutput, int outWidth, int outOffset,
        ReadOnlySpan<float> dhN, ReadOnlySpan<float> dcN, float[] dx, bool accumulateDx, Span<float> dh0, Span<float> dc0)
    {
        int steps = _steps, B = _batch, H = _hidden, GH = _gateWidth, rows = steps * B;
        bool gru = _cell == CellKind.Gru, lstm = _cell == CellKind.Lstm, relu = _cell == CellKind.RnnRelu;
        Span<float> dh = _dh, dhPrev = _dhPrev, dc = _dc;
        if (dhN.IsEmpty) dh.Clear(); else dhN.CopyTo(dh);
        if (lstm) { if (dcN.IsEmpty) dc.Clear(); else dcN.CopyTo(dc); }
        // The hidden side's gradient equals the input side's except in the GRU's n block.
        float[] hiddenGrad = gru ? _hiddenGrad : _gates;
        _recurrentBackward.Pack(WeightHh.Value.Data, H, transB: false);

        for (int s = steps - 1; s >= 0; s--)
        {
            int t = TimeOf(s);
            int prev = PrevIndex(t) * B * H, cur = CurrentIndex(t) * B * H;
            Span<float> gatesT = _gates.AsSpan(t * B * GH, B * GH);
            for (int b = 0; b < B; b++)
            {
                Span<float> dhRow = dh.Slice(b * H, H), dhPrevRow = dhPrev.Slice(b * H, H);
                Span<float> gatesRow = gatesT.Slice(b * GH, GH);
                if (!Active(lengths, t, b))
                {
                    // The state was copied through unchanged: so is its gradient; this step's gates had no effect.
                    gatesRow.Clear();
                    if (gru) hiddenGrad.AsSpan((t * B + b) * GH, GH).Clear();
                    dhRow.CopyTo(dhPrevRow);
                    continue;
                }
                if (dOutput != null)
                    Kernels.Add(dhRow, dOutput.AsSpan((t * B + b) * outWidth + outOffset, H), dhRow);
                switch (_cell)
                {
                    case CellKind.Lstm:
                        LstmKernels.Backward(gatesRow, _cells.AsSpan(prev + b * H, H), _cells.AsSpan(cur + b * H, H),
                            dhRow, dc.Slice(b * H, H), H);
                        dhPrevRow.Clear();
                        break;
                    case CellKind.Gru:
                        GruKernels.Backward(gatesRow, _hiddenN.AsSpan((t * B + b) * H, H), _states.AsSpan(prev + b * H, H),
                            dhRow, hiddenGrad.AsSpan((t * B + b) * GH, GH), dhPrevRow, H);
                        break;
                    default:
                        RnnKernels.Backward(gatesRow, dhRow, relu, H);
                        dhPrevRow.Clear();
                        break;
                }
            }
            // dh_{t−1} += dA_t W_hh
            Gemm.Multiply(hiddenGrad.AsSpan(t * B * GH, B * GH), GH, false, _recurrentBackward, dhPrev, H, B, accumulate: true);
            var swap = dh; dh = dhPrev; dhPrev = swap;
        }
        dh.CopyTo(dh0);
        if (lstm) dc.CopyTo(dc0);

        // Whole-sequence GEMMs: dW_ih += dAᵀ X, dW_hh += dA_hᵀ H_prev, dX (+)= dA W_ih; biases get the column sums.
        int prevStart = _reverse ? B * H : 0;
        Gemm.Multiply(_gates, GH, true, x, _inputSize, false, WeightIh.Grad.Data, _inputSize, GH, _inputSize, rows, accumulate: true);
        Gemm.Multiply(hiddenGrad, GH, true, _states.AsSpan(prevStart, rows * H), H, false, WeightHh.Grad.Data, H, GH, H, rows, accumulate: true);
        Gemm.Multiply(_gates, GH, false, WeightIh.Value.Data, _inputSize, false, dx, _inputSize, rows, _inputSize, GH, accumulateDx);
        AddColumnSums(_gates, rows, GH, BiasIh.Grad.Data);
        AddColumnSums(hiddenGrad, rows, GH, BiasHh.Grad.Data);
    }

    private static void AddColumnSums(float[] matrix, int rows, int cols, Span<float> sums)
    {
        for (int r = 0; r < rows; r++) Kernels.Add(sums, matrix.AsSpan(r * cols, cols), sums);
    }

    /// <summary>Sizes the buffers for (T, B) once; later calls with the same sizes reuse them.</summary>
    private void Allocate(int steps, int batch)
    {
        if (steps == _steps && batch == _batch) return;
        _steps = steps;
        _batch = batch;
        int H = _hidden, GH = _gateWidth;
        _gates = new float[steps * batch * GH];
        _states = new float[(steps + 1) * batch * H];
        _dh = new float[batch * H];
        _dhPrev = new float[batch * H];
        if (_cell == CellKind.Lstm)
        {
            _cells = new float[(steps + 1) * batch * H];
            _dc = new float[batch * H];
        }
        if (_cell == CellKind.Gru)
        {
            _hiddenN = new float[steps * batch * H];
            _hiddenProjection = new float[batch * GH];
            _hiddenGrad = new float[steps * batch * GH];
        }
    }
}
