using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Recurrent.Layers.Cells;
using Recurrent.Profiling;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// One layer of one direction of a recurrent stack: its four parameters and the two time loops.
/// T = time, B = batch, I = input size, H = hidden size, G = gates (RNN and leaky 1, GRU 3, LSTM 4).
///
/// Forward, as cuDNN does it: one GEMM projects every time step's input at once (A = X W_ihᵀ + biases, [T·B, G·H]);
/// then per step only h_{t−1} W_hhᵀ is added and one fused kernel per batch row computes the gates and the new state.
/// Backward runs the steps in reverse with one GEMM per step (dh_{t−1} += dA_t W_hh), then three large GEMMs give
/// dW_ih, dW_hh and dX for all steps at once. The GRU's hidden side differs from the input side's dA only in its n
/// block (da_n ⊙ r, kept apart in [T, B, H]), so its step GEMM is two products, over W_hh's r, z rows and its n rows.
///
/// Threads: with 8 or more batch rows a thread, each time loop is one job cut by batch rows (whole blocks of 8): a
/// thread runs every step for its rows, since a row of h_{t−1} W_hhᵀ, of dA_{t+1} W_hh and of the cells needs nothing
/// but that row, so the threads never wait for each other inside the loop and never write each other's cache lines;
/// backward, a thread also takes its rows of dX_t = dA_t W_ih right after its cells, while dA_t is in cache.
/// Otherwise (one thread, or sampling's few rows) each step is one job cut by hidden units (multiples of 32, so the
/// cuts fall on cache lines and kernel panels): a part computes its units' columns of every gate of h_{t−1} W_hhᵀ
/// (W_hhᵀ is packed by gate blocks so each block's columns can start there) and then those units' cells, with one
/// synchronisation per step; backward, a part adds its units' columns of dA_{t+1} W_hh to dh_t, then runs step t's
/// cells for them. The bias gradients are summed per block of 8 rows, then the blocks in order. Any cut gives the
/// same bits.
///
/// Kept for backward: Gates [T, B, G·H] (activations; backward overwrites them in place with the pre-activation
/// gradients), States [T+1, B, H] (h in processing order's neighbours: the forward direction's h_{t−1} is States[t] and
/// h_t is States[t+1]; the reverse direction's h_{t+1} is States[t+1] and h_t is States[t]), Cells [T+1, B, H] likewise
/// for the LSTM, and for the GRU HiddenN [T, B, H] = W_hn h + b_hn. The input X is the caller's and must not change.
/// The leaky cell keeps n = tanh(a) in Gates and reads h_{t−1} from States; its α [H] (fixed, or σ of the leak
/// parameter) is set at Forward, and a learned α's gradient dα = Σ dh ⊙ (n − h_{t−1}) is summed per block of 8 rows
/// like the biases', so any cut gives the same bits there too.
/// Past a sequence's length the state is frozen and the output is zero, which is what PyTorch's packed sequences give
/// (the reverse direction thus starts from h0 at the sequence's last real step).
/// </summary>
internal sealed class RecurrentDirection : IParallelWork
{
    public Parameter WeightIh { get; }
    public Parameter WeightHh { get; }
    /// <summary>b_ih and b_hh [G·H]; both null for a layer built with bias: false (PyTorch's bias=False).</summary>
    public Parameter? BiasIh { get; }
    public Parameter? BiasHh { get; }
    /// <summary>The leaky cell's learned leak u [H] (α = σ(u)), "leak_" + suffix; null for a fixed α or another cell.</summary>
    public Parameter? LeakParameter { get; }

    private readonly CellKind _cell;
    private readonly int _inputSize, _hidden, _gateWidth;
    private readonly bool _reverse;

    private int _steps, _batch;
    private AlignedFloats _gates, _states, _cells, _hiddenN, _hiddenProjection, _hiddenGradN;
    private AlignedFloats _dh, _dhPrev, _dc;
    // Without biases _combinedBias stays zero (the input GEMM adds it all the same: no second code path) and
    // _zeroBias stands for b_hh where the GRU's cells read b_hn.
    private readonly float[] _combinedBias, _biasGrad, _biasGradHidden, _zeroBias;
    // [blocks of RowBlock batch rows, G·H]: each block's sums of the bias gradients (the GRU's hidden n block apart).
    private AlignedFloats _biasPartials, _biasPartialsHidden;
    // W_hh packed once per pass for the per-step GEMMs: W_hhᵀ [H, G·H] forward, W_hh [G·H, H] backward.
    // The GRU's backward splits W_hh by rows: r and z multiply dA's own columns, n the hidden side's n block.
    private readonly GemmPackedB _recurrentForward, _recurrentBackward, _recurrentBackwardN;
    // W_ih [G·H, I] packed for dX_t = dA_t W_ih inside a backward loop cut by rows (made on first use).
    private GemmPackedB? _inputBackward;
    // The leaky cell's α [H] for this pass, and a learned α's gradient: per block of RowBlock rows [blocks, H], then summed.
    private readonly float[] _alpha, _alphaGrad;
    private readonly float _fixedAlpha;
    private AlignedFloats _alphaPartials;

    // What RunPart works on, set before each parallel job: forward or backward; the whole loop cut by rows, or one
    // step cut by units: the step whose cells run (−1: none) and, backward, the step whose dA·W_hh is added first
    // (−1: none); the caller's arrays for this pass.
    private bool _forwardPass, _packed, _byRows;
    private int _kernelTime, _gemmTime, _parts = 1;
    private int[]? _lengths;
    private OutputSlot _output;
    private OutputSlot? _dOutput;
    private float[]? _dx;
    private bool _accumulateDx;

    /// <summary>DropConnect on W_hh for training passes (null: none); see <see cref="Layers.WeightDrop"/>.</summary>
    public WeightDrop? WeightDrop { get; set; }

    // The W_hh the time loop multiplies by, and where its gradient goes: W_hh ⊙ M while a weight drop is active.
    private bool Dropping => WeightDrop is { Active: true };
    private float[] RecurrentWeight => Dropping ? WeightDrop!.Dropped : WeightHh.Value.Data;
    private float[] RecurrentWeightGrad => Dropping ? WeightDrop!.DroppedGrad : WeightHh.Grad.Data;

    /// <summary>
    /// The per-step probe (null, the default: off, at the cost of one null check per row and step): Backward writes
    /// ∂L/∂h_t, the total gradient reaching step t's state (the output's gradient at t plus what came back from the
    /// next step in processing order), for every step, to StateGradientProbe[StateGradientProbeOffset + (t·B + b)·H + j],
    /// t in real time. A row past its sequence's length records the gradient of its frozen state.
    /// </summary>
    public float[]? StateGradientProbe { get; set; }
    public int StateGradientProbeOffset { get; set; }

    /// <param name="leak">the leaky cell's α (ignored by the other cells).</param>
    /// <param name="cell">the cell of this direction.</param>
    /// <param name="inputSize">the width of x_t (I for layer 0, D·H above).</param>
    /// <param name="hidden">H.</param>
    /// <param name="suffix">the parameter names' suffix, "l{k}" or "l{k}_reverse"; "_reverse" makes the direction run backwards in time.</param>
    /// <param name="bias">false: no b_ih, b_hh (PyTorch's bias=False); the pre-activations get no bias term.</param>
    public RecurrentDirection(CellKind cell, int inputSize, int hidden, string suffix, Leak? leak = null, bool bias = true)
    {
        var alpha = leak ?? Leak.Default;
        _cell = cell;
        _inputSize = inputSize;
        _hidden = hidden;
        _gateWidth = Gates(cell) * hidden;
        _reverse = suffix.EndsWith("_reverse", StringComparison.Ordinal);
        WeightIh = new Parameter("weight_ih_" + suffix, _gateWidth, inputSize);
        WeightHh = new Parameter("weight_hh_" + suffix, _gateWidth, hidden);
        if (bias)
        {
            BiasIh = new Parameter("bias_ih_" + suffix, _gateWidth);
            BiasHh = new Parameter("bias_hh_" + suffix, _gateWidth);
        }
        _zeroBias = bias ? [] : new float[_gateWidth];
        _combinedBias = new float[_gateWidth];
        _biasGrad = new float[_gateWidth];
        _biasGradHidden = cell == CellKind.Gru ? new float[_gateWidth] : [];
        _recurrentForward = new GemmPackedB(hidden, _gateWidth, segments: Gates(cell));
        bool gru = cell == CellKind.Gru;
        _recurrentBackward = new GemmPackedB(gru ? 2 * hidden : _gateWidth, hidden);
        _recurrentBackwardN = new GemmPackedB(gru ? hidden : 0, hidden);
        bool leaky = cell == CellKind.Leaky;
        _alpha = leaky ? new float[hidden] : [];
        _alphaGrad = leaky && alpha.Learned ? new float[hidden] : [];
        _fixedAlpha = alpha.Alpha;
        if (leaky && alpha.Learned)
        {
            LeakParameter = new Parameter("leak_" + suffix, hidden);
            LeakParameter.Value.Data.AsSpan().Fill(Leak.Logit(alpha.Alpha));
        }
    }

    public static int Gates(CellKind cell) => cell switch { CellKind.Lstm => 4, CellKind.Gru => 3, _ => 1 };

    public IEnumerable<Parameter> Parameters() => LeakParameter == null ? Weights() : [.. Weights(), LeakParameter];

    /// <summary>nn.RNN's four parameters (two without biases), those initialized U(±1/√H): all but the leak.</summary>
    public IEnumerable<Parameter> Weights() =>
        BiasIh == null || BiasHh == null ? [WeightIh, WeightHh] : [WeightIh, WeightHh, BiasIh, BiasHh];

    private int TimeOf(int step) => _reverse ? _steps - 1 - step : step;
    private int PrevIndex(int t) => _reverse ? t + 1 : t;
    private int CurrentIndex(int t) => _reverse ? t : t + 1;
    private static bool Active(int[]? lengths, int t, int b) => lengths == null || t < lengths[b];

    /// <param name="x">[T, B, I] time-major input; unused when lookup is given.</param>
    /// <param name="lookup">the first layer's embedding and tokens, or null: see <see cref="EmbeddingLookup"/>.</param>
    /// <param name="h0">[B, H]; c0 likewise (LSTM only, else empty).</param>
    /// <param name="output">where this direction's h_t go (columns [Offset, Offset + H) of each row).</param>
    /// <param name="hN">[B, H] final state out; cN likewise (LSTM).</param>
    /// <param name="steps">T.</param>
    /// <param name="batch">B.</param>
    /// <param name="c0">[B, H] initial cell state (LSTM), else empty.</param>
    /// <param name="lengths">[B] real lengths, or null when all are T.</param>
    /// <param name="cN">[B, H] final cell state out (LSTM).</param>
    public void Forward(float[] x, EmbeddingLookup? lookup, int steps, int batch, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, int[]? lengths,
        OutputSlot output, Span<float> hN, Span<float> cN)
    {
        Allocate(steps, batch);
        int H = _hidden, GH = _gateWidth, B = batch, rows = steps * batch;
        bool gru = _cell == CellKind.Gru, lstm = _cell == CellKind.Lstm;

        // A = X W_ihᵀ + b_ih + b_hh for all steps; the GRU's b_hn stays out because r multiplies it.
        CombineBiases(_combinedBias);
        if (lookup != null) lookup.Project(WeightIh.Value.Data, _combinedBias, GH, _gates);
        else Gemm.MultiplyAddBias(x, _inputSize, false, WeightIh.Value.Data, _inputSize, true, _combinedBias, _gates, GH, rows, GH, _inputSize);
        StepProfiler.Mark(StepPhase.InputGemm);
        if (_cell == CellKind.Leaky) Alphas(_alpha);

        // Packing W_hh pays off over many rows; one or a few (sampling) are dot products straight from W_hh.
        _packed = batch > GemmSkinny.MaxRows;
        if (_packed) _recurrentForward.Pack(RecurrentWeight, H, transB: true);
        int first = _reverse ? steps : 0;
        h0.CopyTo(_states.Slice(first * B * H, B * H));
        if (lstm) c0.CopyTo(_cells.Slice(first * B * H, B * H));
        StepProfiler.Mark(StepPhase.RecurrentGemmForward);

        (_forwardPass, _lengths, _output) = (true, lengths, output);
        if (!RunTimeLoopByRows())
            for (int s = 0; s < steps; s++)
            {
                _kernelTime = TimeOf(s);
                RunStep();
            }
        (_lengths, _output) = (null, default);

        int last = _reverse ? 0 : steps;
        _states.Slice(last * B * H, B * H).CopyTo(hN);
        if (lstm) _cells.Slice(last * B * H, B * H).CopyTo(cN);
    }

    /// <summary>
    /// Accumulates the parameter gradients and writes (or adds, for the second direction) dX.
    /// </summary>
    /// <param name="x">the same [T, B, I] input Forward saw; lookup likewise (then dx is not written: the embedding's
    /// gradient is accumulated instead).</param>
    /// <param name="dOutput">the gradient of the output, laid out as Forward's output, or null.</param>
    /// <param name="dhN">[B, H] gradient of the final state (empty for none); dcN likewise.</param>
    /// <param name="dx">[T, B, I] out.</param>
    /// <param name="dh0">[B, H] out; dc0 likewise (LSTM).</param>
    /// <param name="lookup">the first layer's embedding and tokens, as Forward got them, or null.</param>
    /// <param name="lengths">[B] real lengths, as Forward got them, or null.</param>
    /// <param name="dcN">[B, H] gradient of the final cell state (LSTM), or empty.</param>
    /// <param name="accumulateDx">add to dx instead of overwriting it (the second direction of a layer).</param>
    /// <param name="dc0">[B, H] out: gradient of c0 (LSTM).</param>
    public void Backward(float[] x, EmbeddingLookup? lookup, int[]? lengths, OutputSlot? dOutput,
        ReadOnlySpan<float> dhN, ReadOnlySpan<float> dcN, float[] dx, bool accumulateDx, Span<float> dh0, Span<float> dc0)
    {
        int steps = _steps, B = _batch, H = _hidden, GH = _gateWidth, rows = steps * B;
        bool gru = _cell == CellKind.Gru, lstm = _cell == CellKind.Lstm;
        if (dhN.IsEmpty) _dh.All.Clear(); else dhN.CopyTo(_dh);
        if (lstm) { if (dcN.IsEmpty) _dc.All.Clear(); else dcN.CopyTo(_dc); }
        _recurrentBackward.Pack(RecurrentWeight.AsSpan(0, _recurrentBackward.K * H), H, transB: false);
        if (gru) _recurrentBackwardN.Pack(RecurrentWeight.AsSpan(2 * H * H), H, transB: false);
        _biasPartials.All.Clear();
        if (gru) _biasPartialsHidden.All.Clear();
        bool learnedLeak = LeakParameter != null;
        if (learnedLeak) _alphaPartials.All.Clear();
        StepProfiler.Mark(StepPhase.RecurrentGemmBackward);

        // Cut by rows, each thread also takes its rows of dX_t = dA_t W_ih as soon as its cells have written dA_t, when
        // W_ih is small enough to stay in the core's cache across steps. A larger one streams from L3 at every step:
        // on the Xeon of 2026-12-07 (2 MB L2, slow L3) that product ran at 62 % of the FMA peak against 80 % for one
        // GEMM over the whole sequence after the loop (LSTM 2×512 +2.4 %, AVX2 +5 %, tanh-RNN 2×512 +3 %), while
        // LSTM 2×128 (a 256 KB W_ih) keeps the in-loop product's 1 %. (On a Zen 4, 2026-12-01, the in-loop product had
        // measured 1–2 % faster for LSTM 2×512.)
        bool dxInLoop = lookup == null && RowParts() > 1 && (long)GH * _inputSize * sizeof(float) <= DxInLoopMaxBytes;
        if (dxInLoop)
        {
            _inputBackward ??= new GemmPackedB(GH, _inputSize);
            _inputBackward.Pack(WeightIh.Value.Data, _inputSize, transB: false);
            (_dx, _accumulateDx) = (dx, accumulateDx);
        }

        // Step s's job adds step s+1's dA·W_hh into dh_t, then runs step s's cells; one more job adds the last.
        (_forwardPass, _lengths, _dOutput, _gemmTime) = (false, lengths, dOutput, -1);
        if (RunTimeLoopByRows())
        {
            // Each part swapped its rows of dh and dh_prev once a step.
            if (steps % 2 == 1) (_dh, _dhPrev) = (_dhPrev, _dh);
        }
        else
        {
            for (int s = steps - 1; s >= 0; s--)
            {
                _kernelTime = TimeOf(s);
                RunStep();
                _gemmTime = _kernelTime;
                (_dh, _dhPrev) = (_dhPrev, _dh);
            }
            _kernelTime = -1;
            RunStep();
        }
        (_lengths, _dOutput, _dx) = (null, null, null);
        _dh.All.CopyTo(dh0);
        if (lstm) _dc.All.CopyTo(dc0);
        if (BiasIh != null && BiasHh != null)
        {
            SumBlocks(_biasPartials, _biasGrad);
            if (gru) SumBlocks(_biasPartialsHidden, _biasGradHidden);
            Kernels.Add(BiasIh.Grad.Data, _biasGrad, BiasIh.Grad.Data);
            if (gru) _biasGrad.AsSpan(0, 2 * H).CopyTo(_biasGradHidden);
            Kernels.Add(BiasHh.Grad.Data, gru ? _biasGradHidden : _biasGrad, BiasHh.Grad.Data);
        }
        if (learnedLeak) AddLeakGradient();
        StepProfiler.Mark(StepPhase.CellsBackward);

        // Whole-sequence GEMMs: dW_ih += dAᵀ X, dW_hh += dA_hᵀ H_prev, dX (+)= dA W_ih. dA_h = dA but in the GRU's n
        // block, so the rows of dAᵀ they share are packed once for both weight gradients. Through an embedding lookup,
        // dW_ih and the embedding's gradient come from dA's rows summed by token instead.
        int I = _inputSize, shared = gru ? 2 * H : GH;
        Span<float> hPrev = _states.Slice(_reverse ? B * H : 0, rows * H);
        if (lookup != null)
            Gemm.Multiply(_gates, GH, true, hPrev, H, false, RecurrentWeightGrad, H, shared, H, rows, accumulate: true);
        else
            GemmSharedA.Multiply(_gates, GH, true, GH, rows, x, I, WeightIh.Grad.Data, I, I, hPrev, H, RecurrentWeightGrad, H, H,
                accumulate: true, m2: shared);
        if (gru)
            Gemm.Multiply(_hiddenGradN, H, true, hPrev, H, false, RecurrentWeightGrad.AsSpan(shared * H), H, H, H, rows, accumulate: true);
        if (Dropping) WeightDrop!.AccumulateGradient(WeightHh.Grad.Data);
        StepProfiler.Mark(StepPhase.WeightGradientGemms);
        if (lookup != null) lookup.Backward(_gates, GH, WeightIh.Value.Data, WeightIh.Grad.Data);
        else if (!dxInLoop) Gemm.Multiply(_gates, GH, false, WeightIh.Value.Data, _inputSize, false, dx, _inputSize, rows, _inputSize, GH, accumulateDx);
        StepProfiler.Mark(StepPhase.InputGradientGemm);
    }

    /// <summary>
    /// Runs the step set up in the fields, cut by hidden units into parts for the worker threads (alone on this
    /// thread when the step is small, there is one thread, or the workers are busy; the result is the same).
    /// </summary>
    private void RunStep() =>
        RunParts(WorthThreads ? Math.Min(Gemm.Threads, (_hidden + UnitBlock - 1) / UnitBlock) : 1, byRows: false);

    /// <summary>Parts [0, parts) of the job set up in the fields on the worker threads, or here when they are busy.</summary>
    private void RunParts(int parts, bool byRows)
    {
        (_parts, _byRows) = (parts, byRows);
        if (parts > 1 && WorkerPool.TryRun(this, parts))
            StepProfiler.Mark(StepPhase.WaitForOtherParts);
        else
            for (int p = 0; p < parts; p++) RunPart(p);
    }

    /// <summary>A step (B·H·G·H multiply-adds) is large enough for a second thread to pay, and there is one.</summary>
    private bool WorthThreads => Gemm.Threads > 1 && (long)_batch * _hidden * _gateWidth >= Gemm.ParallelMinMultiplyAdds;

    /// <summary>
    /// The whole time loop (forward or backward, as set up in the fields) as one job cut by batch rows, when the batch
    /// has rows enough: each thread runs every step for its own rows, since a row of h·W_hhᵀ, of dA·W_hh and of the
    /// cells depends on nothing but its own row. The threads then never wait for each other within the loop and never
    /// write each other's cache lines. False when the loop is to run step by step, cut by units, instead.
    /// </summary>
    private bool RunTimeLoopByRows()
    {
        int parts = RowParts();
        if (parts < 2) return false;
        RunParts(parts, byRows: true);
        return true;
    }

    /// <summary>How many parts a loop cut by rows has: 1 (not cut by rows) when the batch has too few rows.</summary>
    private int RowParts() => _packed && WorthThreads ? Math.Min(Gemm.Threads, RowBlocks) : 1;

    /// <summary>The largest W_ih whose dX product runs inside a time loop cut by rows (see Backward).</summary>
    private const long DxInLoopMaxBytes = 512 * 1024;

    /// <summary>Parts cut the units on multiples of this: a whole number of GEMM kernel panels of every gate.</summary>
    private const int UnitBlock = 32;

    /// <summary>
    /// A loop cut by rows gives each part whole blocks of this many rows (fewer would leave the GEMM kernel's rows
    /// idle). The bias gradients are summed per block, then the blocks in order, whatever the cut: the same bits.
    /// </summary>
    private const int RowBlock = 8;

    private int RowBlocks => (_batch + RowBlock - 1) / RowBlock;

    void IParallelWork.RunPart(int part) => RunPart(part);

    private void RunPart(int part)
    {
        if (_byRows)
        {
            int rowFrom = RowBlocks * part / _parts * RowBlock, rowTo = Math.Min(_batch, RowBlocks * (part + 1) / _parts * RowBlock);
            if (_forwardPass) ForwardRows(rowFrom, rowTo);
            else BackwardRows(rowFrom, rowTo);
            return;
        }
        int blocks = (_hidden + UnitBlock - 1) / UnitBlock;
        int from = blocks * part / _parts * UnitBlock, to = Math.Min(_hidden, blocks * (part + 1) / _parts * UnitBlock);
        if (_forwardPass) ForwardPart(_kernelTime, 0, _batch, from, to);
        else BackwardPart(_kernelTime, _gemmTime, 0, _batch, from, to, _dh, _dhPrev);
    }

    /// <summary>Every forward step, in order, for batch rows [rowFrom, rowTo) and all units.</summary>
    private void ForwardRows(int rowFrom, int rowTo)
    {
        for (int s = 0; s < _steps; s++) ForwardPart(TimeOf(s), rowFrom, rowTo, 0, _hidden);
    }

    /// <summary>
    /// Every backward step, in reverse, for batch rows [rowFrom, rowTo) and all units, then the last dA·W_hh; dh and
    /// dh_prev trade places after each step (these rows of them only: the caller settles the fields afterwards).
    /// </summary>
    private void BackwardRows(int rowFrom, int rowTo)
    {
        Span<float> dh = _dh, dhPrev = _dhPrev;
        int gemmTime = -1;
        for (int s = _steps - 1; s >= 0; s--)
        {
            BackwardPart(TimeOf(s), gemmTime, rowFrom, rowTo, 0, _hidden, dh, dhPrev);
            gemmTime = TimeOf(s);
            var swap = dh;
            dh = dhPrev;
            dhPrev = swap;
        }
        BackwardPart(-1, gemmTime, rowFrom, rowTo, 0, _hidden, dh, dhPrev);
    }

    /// <summary>
    /// Batch rows [rowFrom, rowTo) and units [from, to) of forward step t: their block of every gate of h_{t−1} W_hhᵀ,
    /// then their cells.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardPart(int t, int rowFrom, int rowTo, int from, int to)
    {
        int B = _batch, H = _hidden, GH = _gateWidth, units = to - from, rows = rowTo - rowFrom;
        bool gru = _cell == CellKind.Gru, lstm = _cell == CellKind.Lstm, relu = _cell == CellKind.RnnRelu;
        int prev = PrevIndex(t) * B * H, cur = CurrentIndex(t) * B * H;
        Span<float> gatesT = _gates.Slice(t * B * GH, B * GH);
        Span<ColumnRange> columns = stackalloc ColumnRange[GH / H];
        for (int g = 0; g < columns.Length; g++) columns[g] = new ColumnRange(g * H + from, g * H + to);

        // h_{t−1} W_hhᵀ: into the GRU's own buffer (r multiplies it), else added to the gate pre-activations.
        Span<float> target = (gru ? _hiddenProjection.All : gatesT).Slice(rowFrom * GH, rows * GH);
        ReadOnlySpan<float> hPrevRows = _states.Slice(prev + rowFrom * H, rows * H);
        if (_packed) Gemm.MultiplyColumns(hPrevRows, H, _recurrentForward, target, GH, rows, accumulate: !gru, columns);
        else Gemm.MultiplyColumns(hPrevRows, H, RecurrentWeight, H, target, GH, rows, GH, H, accumulate: !gru, columns);
        StepProfiler.Mark(StepPhase.RecurrentGemmForward);

        ReadOnlySpan<float> biasHn = HiddenNBias;
        for (int b = rowFrom; b < rowTo; b++)
        {
            if (b + 1 < rowTo)
            {
                for (int g = 0; g < columns.Length; g++) Prefetch(gatesT, (b + 1) * GH + g * H + from, units);
                if (lstm) Prefetch(_cells.All, prev + (b + 1) * H + from, units);
            }
            Span<float> hPrev = _states.Slice(prev + b * H, H), h = _states.Slice(cur + b * H, H);
            Span<float> outRow = _output.Data.AsSpan(_output.Start(t, b, _steps, B), H);
            if (!Active(_lengths, t, b))
            {
                hPrev.Slice(from, units).CopyTo(h.Slice(from, units));
                if (lstm) _cells.Slice(prev + b * H + from, units).CopyTo(_cells.Slice(cur + b * H + from, units));
                outRow.Slice(from, units).Clear();
                continue;
            }
            Span<float> gatesRow = gatesT.Slice(b * GH, GH);
            switch (_cell)
            {
                case CellKind.Lstm:
                    LstmKernels.Forward(gatesRow, _cells.Slice(prev + b * H, H), _cells.Slice(cur + b * H, H), h, outRow, H, from, to);
                    break;
                case CellKind.Gru:
                    GruKernels.Forward(gatesRow, _hiddenProjection.Slice(b * GH, GH), biasHn, hPrev,
                        _hiddenN.Slice((t * B + b) * H, H), h, outRow, H, from, to);
                    break;
                case CellKind.Leaky:
                    LeakyKernels.Forward(gatesRow, hPrev, _alpha, h, outRow, from, to);
                    break;
                default:
                    RnnKernels.Forward(gatesRow, h, outRow, relu, from, to);
                    break;
            }
        }
        StepProfiler.Mark(StepPhase.CellsForward);
    }

    /// <summary>
    /// Batch rows [rowFrom, rowTo) and units [from, to) of a backward job: dh_t += dA_{t+1} W_hh for their block
    /// (step gemmTime; −1: none), then step t's cells (dA_t, and dh_{t−1}'s part that bypasses W_hh; t = −1: none),
    /// and the bias gradients' sums of dA_t.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardPart(int t, int gemmTime, int rowFrom, int rowTo, int from, int to, Span<float> dh, Span<float> dhPrev)
    {
        int B = _batch, H = _hidden, GH = _gateWidth, units = to - from, gates = GH / H, rows = rowTo - rowFrom;
        bool gru = _cell == CellKind.Gru, lstm = _cell == CellKind.Lstm, relu = _cell == CellKind.RnnRelu;
        bool leaky = _cell == CellKind.Leaky;
        if (gemmTime >= 0)
        {
            var range = new ColumnRange(from, to);
            var columns = new ReadOnlySpan<ColumnRange>(in range);
            Span<float> dhRows = dh.Slice(rowFrom * H, rows * H);
            Gemm.MultiplyColumns(_gates.Slice((gemmTime * B + rowFrom) * GH, rows * GH), GH, _recurrentBackward, dhRows, H, rows,
                accumulate: !DhIsGemmOnly, columns);
            if (gru)
                Gemm.MultiplyColumns(_hiddenGradN.Slice((gemmTime * B + rowFrom) * H, rows * H), H, _recurrentBackwardN, dhRows, H, rows,
                    accumulate: true, columns);
            StepProfiler.Mark(StepPhase.RecurrentGemmBackward);
        }
        if (t < 0) return;

        int prev = PrevIndex(t) * B * H, cur = CurrentIndex(t) * B * H;
        Span<float> gatesT = _gates.Slice(t * B * GH, B * GH);
        for (int b = rowFrom; b < rowTo; b++)
        {
            if (b + 1 < rowTo)
            {
                for (int g = 0; g < gates; g++) Prefetch(gatesT, (b + 1) * GH + g * H + from, units);
                if (gru) Prefetch(_hiddenN.All, (t * B + b + 1) * H + from, units);
                if (gru || leaky) Prefetch(_states.All, prev + (b + 1) * H + from, units);
                if (lstm) Prefetch(_cells.All, prev + (b + 1) * H + from, units);
                if (lstm) Prefetch(_cells.All, cur + (b + 1) * H + from, units);
            }
            Span<float> dhRow = dh.Slice(b * H, H), dhPrevRow = dhPrev.Slice(b * H, H);
            Span<float> gatesRow = gatesT.Slice(b * GH, GH);
            if (!Active(_lengths, t, b))
            {
                // The state was copied through unchanged: so is its gradient; this step's gates had no effect.
                for (int g = 0; g < gates; g++) gatesRow.Slice(g * H + from, units).Clear();
                if (gru) _hiddenGradN.Slice((t * B + b) * H + from, units).Clear();
                dhRow.Slice(from, units).CopyTo(dhPrevRow.Slice(from, units));
                if (StateGradientProbe != null) RecordProbe(t, b, from, units, dhRow);
                continue;
            }
            if (_dOutput is OutputSlot dOut)
            {
                Span<float> mine = dhRow.Slice(from, units);
                Kernels.Add(mine, dOut.Data.AsSpan(dOut.Start(t, b, _steps, B) + from, units), mine);
            }
            if (StateGradientProbe != null) RecordProbe(t, b, from, units, dhRow);
            switch (_cell)
            {
                case CellKind.Lstm:
                    LstmKernels.Backward(gatesRow, _cells.Slice(prev + b * H, H), _cells.Slice(cur + b * H, H),
                        dhRow, _dc.Slice(b * H, H), H, from, to);
                    if (!DhIsGemmOnly) dhPrevRow.Slice(from, units).Clear();
                    break;
                case CellKind.Gru:
                    GruKernels.Backward(gatesRow, _hiddenN.Slice((t * B + b) * H, H), _states.Slice(prev + b * H, H),
                        dhRow, _hiddenGradN.Slice((t * B + b) * H, H), dhPrevRow, H, from, to);
                    break;
                case CellKind.Leaky:
                    LeakyKernels.Backward(gatesRow, _states.Slice(prev + b * H, H), _alpha, dhRow, dhPrevRow,
                        LeakParameter == null ? default : _alphaPartials.Slice(b / RowBlock * H, H), from, to);
                    break;
                default:
                    RnnKernels.Backward(gatesRow, dhRow, relu, from, to);
                    if (!DhIsGemmOnly) dhPrevRow.Slice(from, units).Clear();
                    break;
            }
        }
        if (BiasIh != null)
        {
            for (int g = 0; g < gates; g++) AddRows(_gates, GH, t, g * H + from, units, rowFrom, rowTo, _biasPartials, g * H + from);
            if (gru) AddRows(_hiddenGradN, H, t, from, units, rowFrom, rowTo, _biasPartialsHidden, 2 * H + from); // r, z: as the input side's
        }
        StepProfiler.Mark(StepPhase.CellsBackward);
        if (_dx != null)
        {
            int I = _inputSize;
            var all = new ColumnRange(0, I);
            Gemm.MultiplyColumns(gatesT.Slice(rowFrom * GH, rows * GH), GH, _inputBackward!, _dx.AsSpan((t * B + rowFrom) * I, rows * I), I,
                rows, _accumulateDx, new ReadOnlySpan<ColumnRange>(in all));
            StepProfiler.Mark(StepPhase.InputGradientGemm);
        }
    }

    /// <summary>The probe's copy of units [from, from + units) of ∂L/∂h_t for batch row b (see StateGradientProbe).</summary>
    private void RecordProbe(int t, int b, int from, int units, ReadOnlySpan<float> dhRow) =>
        dhRow.Slice(from, units).CopyTo(StateGradientProbe.AsSpan(StateGradientProbeOffset + (t * _batch + b) * _hidden + from, units));

    /// <summary>
    /// dh_{t−1} is dA_t W_hh and nothing else (an LSTM or RNN, every sequence full length): the step GEMM writes it
    /// instead of adding to a cleared buffer. The GRU adds it to dh_t ⊙ z, the leaky cell to dh_t ⊙ (1 − α); a frozen
    /// row copies dh_t through.
    /// </summary>
    private bool DhIsGemmOnly => _cell != CellKind.Gru && _cell != CellKind.Leaky && _lengths == null;

    /// <summary>
    /// Asks for the cache lines of span[from, from + count) before the next batch row's cells read them: the gates
    /// of a step were written by the input GEMM (or the forward pass) long before and are in L3 or memory, and a
    /// row's kilobyte or so per gate is too short a run for the hardware prefetcher to catch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(Span<float> span, int from, int count)
    {
        if (!Sse.IsSupported) return;
        fixed (float* start = span)
            for (int i = 0; i < count; i += 16) Sse.Prefetch0(start + from + i);
    }

    /// <summary>
    /// Adds step t's rows [rowFrom, rowTo) of matrix ([T·B, width]), columns [col, col + count), to the bias partials
    /// ([blocks, G·H]) at columns [sumCol, sumCol + count): each block of RowBlock rows to its own row, in row order,
    /// each vector of columns' sum in a register across the block.
    /// </summary>
    private void AddRows(AlignedFloats matrix, int width, int t, int col, int count, int rowFrom, int rowTo,
        AlignedFloats partials, int sumCol)
    {
        if (Simd.Is512) AddRows<Vec512>(matrix, width, t, col, count, rowFrom, rowTo, partials, sumCol);
        else if (Simd.Is256) AddRows<Vec256>(matrix, width, t, col, count, rowFrom, rowTo, partials, sumCol);
        else AddRows<Vec128>(matrix, width, t, col, count, rowFrom, rowTo, partials, sumCol);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private void AddRows<TV>(AlignedFloats matrix, int width, int t, int col, int count, int rowFrom, int rowTo,
        AlignedFloats partials, int sumCol) where TV : struct, IFloatVector<TV>
    {
        Span<float> step = matrix.Slice(t * _batch * width, _batch * width);
        for (int b0 = rowFrom; b0 < rowTo; b0 += RowBlock)
        {
            ref float sums = ref Lanes.Row(partials.Slice(b0 / RowBlock * _gateWidth + sumCol, count), count);
            int b1 = Math.Min(rowTo, b0 + RowBlock);
            ref float rows = ref Lanes.Row(step, (b1 - 1) * width + col + count);
            int j = 0;
            for (; j + TV.Count <= count; j += TV.Count) AddColumns<TV>(ref sums, ref rows, b0, b1, width, col, j, TV.Count);
            if (j < count) AddTailColumns<TV>(ref sums, ref rows, b0, b1, width, col, j, count - j);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void AddTailColumns<TV>(ref float sums, ref float step, int b0, int b1, int width, int col, int j, int n)
        where TV : struct, IFloatVector<TV> => AddColumns<TV>(ref sums, ref step, b0, b1, width, col, j, n);

    /// <summary>Columns [j, j + n) of <see cref="AddRows"/>' block of rows [b0, b1), n ≤ TV.Count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddColumns<TV>(ref float sums, ref float step, int b0, int b1, int width, int col, int j, int n)
        where TV : struct, IFloatVector<TV>
    {
        var sum = Lanes.Load<TV>(ref sums, j, n);
        for (int b = b0; b < b1; b++) sum += Lanes.Load<TV>(ref step, b * width + col + j, n);
        Lanes.Store(sum, ref sums, j, n);
    }

    /// <summary>
    /// Writes [G·H] the bias the input product adds: b_ih + b_hh, but b_ih alone in the GRU's n block (r multiplies
    /// b_hn, which <see cref="HiddenNBias"/> gives the cell); zeros without biases. From the parameters as they are now;
    /// reads nothing else of this direction, so a caller of its own may run it beside a pass.
    /// </summary>
    internal void CombineBiases(Span<float> into)
    {
        if (BiasIh == null || BiasHh == null) { into[.._gateWidth].Clear(); return; }
        for (int g = 0; g < _gateWidth; g++)
            into[g] = BiasIh.Value.Data[g] + (_cell == CellKind.Gru && g >= 2 * _hidden ? 0f : BiasHh.Value.Data[g]);
    }

    /// <summary>The GRU's b_hn [H] (zeros without biases); empty for the other cells.</summary>
    internal ReadOnlySpan<float> HiddenNBias =>
        _cell == CellKind.Gru ? (BiasHh?.Value.Data ?? _zeroBias).AsSpan(2 * _hidden, _hidden) : default;

    /// <summary>Writes the leaky cell's α [H] from the parameters as they are now: the fixed value, or σ(u) of the learned leak.</summary>
    internal void Alphas(Span<float> into)
    {
        if (LeakParameter == null) { into[.._hidden].Fill(_fixedAlpha); return; }
        ReadOnlySpan<float> u = LeakParameter.Value.Data;
        for (int j = 0; j < _hidden; j++) into[j] = 1f / (1f + MathF.Exp(-u[j]));
    }

    /// <summary>The cell, and its input and hidden widths.</summary>
    internal CellKind Cell => _cell;
    internal int InputSize => _inputSize;
    internal int Hidden => _hidden;
    /// <summary>Runs backwards in time (a bidirectional layer's second direction).</summary>
    internal bool Reverse => _reverse;

    /// <summary>du += dα ⊙ α(1 − α), dα the blocks' sums (in block order) of dh ⊙ (n − h_{t−1}).</summary>
    private void AddLeakGradient()
    {
        int H = _hidden;
        _alphaPartials.Slice(0, H).CopyTo(_alphaGrad);
        for (int k = 1; k < RowBlocks; k++) Kernels.Add(_alphaGrad, _alphaPartials.Slice(k * H, H), _alphaGrad);
        Span<float> du = LeakParameter!.Grad.Data;
        for (int j = 0; j < H; j++) du[j] += _alphaGrad[j] * _alpha[j] * (1f - _alpha[j]);
    }

    /// <summary>total = Σ over blocks, in block order, of partials' rows [blocks, G·H].</summary>
    private void SumBlocks(AlignedFloats partials, Span<float> total)
    {
        partials.Slice(0, _gateWidth).CopyTo(total);
        for (int k = 1; k < RowBlocks; k++) Kernels.Add(total, partials.Slice(k * _gateWidth, _gateWidth), total);
    }

    /// <summary>Sizes the buffers for (T, B); they grow to the largest shape seen and are reused below it.</summary>
    private void Allocate(int steps, int batch)
    {
        if (steps == _steps && batch == _batch) return;
        _steps = steps;
        _batch = batch;
        int H = _hidden, GH = _gateWidth;
        _gates = _gates.Fit(steps * batch * GH);
        _states = _states.Fit((steps + 1) * batch * H);
        _dh = _dh.Fit(batch * H);
        _dhPrev = _dhPrev.Fit(batch * H);
        _biasPartials = _biasPartials.Fit(RowBlocks * GH);
        if (_cell == CellKind.Gru) _biasPartialsHidden = _biasPartialsHidden.Fit(RowBlocks * GH);
        if (LeakParameter != null) _alphaPartials = _alphaPartials.Fit(RowBlocks * H);
        if (_cell == CellKind.Lstm)
        {
            _cells = _cells.Fit((steps + 1) * batch * H);
            _dc = _dc.Fit(batch * H);
        }
        if (_cell == CellKind.Gru)
        {
            _hiddenN = _hiddenN.Fit(steps * batch * H);
            _hiddenProjection = _hiddenProjection.Fit(batch * GH);
            _hiddenGradN = _hiddenGradN.Fit(steps * batch * H);
        }
    }
}
