using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// torch.nn.RNNCell / LSTMCell / GRUCell (and the leaky-integrator <see cref="LeakyCell"/>): one time step at a time, for loops whose input at step t depends on their
/// own output at t − 1 (attention context, input feeding), which <see cref="RecurrentLayer"/> cannot run because it
/// owns its whole time loop. T = steps of a sequence, B = batch, I = input size, H = hidden size, G = gates (RNN 1,
/// GRU 3, LSTM 4). The equations, parameter names and shapes (weight_ih [G·H, I], weight_hh [G·H, H], bias_ih [G·H],
/// bias_hh [G·H]), gate order and initialization U(±1/√H) are PyTorch's, so weights move both ways; see the
/// subclasses for each cell's equations.
///
/// Training: Begin a sequence, Step t = 0, 1, ... (each A_t = x_t W_ihᵀ + h_{t−1} W_hhᵀ + biases is two GEMMs into
/// one [B, G·H] buffer, then the fused per-row gate kernels RecurrentDirection uses), then BackwardStep from the last
/// step down to 0 (dA_t from the kernels, then dh_{t−1} = dA_t W_hh and dx_t = dA_t W_ih) and EndBackward, which adds
/// the weight gradients as one GEMM each over all T·B rows. W_ih and W_hh are packed for the per-step GEMMs once per
/// sequence, so they must not change between Begin and EndBackward.
/// Kept for backward, in arenas sized by Begin that grow to the largest (maxSteps, batch) seen and are reused below
/// it: X [T, B, I], the gates [T, B, G·H] (activations, overwritten in place by dA in backward), the states
/// h [T+1, B, H] (h0 first) and for the LSTM c [T+1, B, H], plus what a subclass keeps (the GRU's W_hn h + b_hn).
///
/// Inference (<see cref="Advance"/>): one step with states the caller owns, nothing kept, the weights read as they are.
/// </summary>
public abstract class RecurrentCell : IModule
{
    /// <summary>Which cell this is (RNN tanh or ReLU, LSTM, GRU or leaky).</summary>
    public CellKind Kind { get; }
    /// <summary>I: the width of x_t.</summary>
    public int InputSize { get; }
    /// <summary>H: the width of h_t (and c_t).</summary>
    public int HiddenSize { get; }
    /// <summary>The LSTM carries a cell state c beside h.</summary>
    public bool HasCellState => Kind == CellKind.Lstm;
    /// <summary>"weight_ih" [G·H, I], the gates' input weights stacked in PyTorch's gate order (G = 1 RNN, 4 LSTM, 3 GRU): torch's weight_ih.</summary>
    public Parameter WeightIh { get; }
    /// <summary>"weight_hh" [G·H, H], the gates' recurrent weights: torch's weight_hh.</summary>
    public Parameter WeightHh { get; }
    /// <summary>"bias_ih" [G·H]: torch's bias_ih.</summary>
    public Parameter BiasIh { get; }
    /// <summary>"bias_hh" [G·H]: torch's bias_hh.</summary>
    public Parameter BiasHh { get; }

    /// <summary>G·H: the width of A and of every gate arena row.</summary>
    private protected int GateWidth { get; }

    /// <summary>
    /// The first rows of W_hh (and b_hh) whose products go straight into A, so their pre-activation gradient is the
    /// input side's dA: all G·H of them, but for the GRU's n rows, which act through r (the GRU handles those itself).
    /// </summary>
    private readonly int _sharedRows;
    private readonly float[] _foldedBias;   // b_ih + b_hh's shared part: what A starts from
    private readonly float[] _biasGrad;     // Σ over the sequence's rows of dA

    private enum Phase { Idle, Forward, Backward, Ended }
    private Phase _phase = Phase.Idle;
    private int _maxSteps, _taken, _nextBackward;
    // Begins since the last backward pass began, and how many the last pass's sequence stood for: a cell shared by two
    // loops keeps only the last sequence, so a second backward pass after two Begins is told why it cannot run.
    private int _begins, _beginsServed;
    private protected int Batch { get; private set; }

    private AlignedFloats _x, _gates, _states, _cells, _dh, _dhCarry, _dc, _dx, _scratchGates;
    // op(B) of the step GEMMs, packed per sequence: W_ihᵀ and W_hhᵀ forward, W_ih and W_hh's shared rows backward.
    private GemmPackedB? _inputForward, _hiddenForward, _inputBackward, _hiddenBackward;

    private protected RecurrentCell(CellKind kind, int inputSize, int hiddenSize, Rng? rng)
    {
        if (inputSize <= 0) throw new ArgumentException($"{kind} cell: input_size must be positive (got {inputSize})");
        if (hiddenSize <= 0) throw new ArgumentException($"{kind} cell: hidden_size must be positive (got {hiddenSize})");
        Kind = kind;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        GateWidth = RecurrentDirection.Gates(kind) * hiddenSize;
        _sharedRows = kind == CellKind.Gru ? 2 * hiddenSize : GateWidth;
        WeightIh = new Parameter("weight_ih", GateWidth, inputSize);
        WeightHh = new Parameter("weight_hh", GateWidth, hiddenSize);
        BiasIh = new Parameter("bias_ih", GateWidth);
        BiasHh = new Parameter("bias_hh", GateWidth);
        _foldedBias = new float[GateWidth];
        _biasGrad = new float[GateWidth];

        // PyTorch's reset_parameters: every weight U(±1/√H), in this order (a subclass's own parameters, such as the
        // leaky cell's leak, are its business).
        rng ??= Rng.FromGlobal();
        float bound = 1f / MathF.Sqrt(hiddenSize);
        foreach (var p in (Parameter[])[WeightIh, WeightHh, BiasIh, BiasHh]) Init.Uniform(p.Value, bound, rng);
    }

    /// <summary>The cell of a kind: RnnTanh, RnnRelu, Lstm, Gru or Leaky (with <paramref name="leak"/>, default
    /// <see cref="Leak.Default"/>; given for another kind, an ArgumentException).</summary>
    public static RecurrentCell Create(CellKind kind, int inputSize, int hiddenSize, Rng? rng = null, Leak? leak = null) => kind switch
    {
        _ when leak != null && kind != CellKind.Leaky =>
            throw new ArgumentException($"RecurrentCell.Create: a leak ({leak}) is given but {kind} has none"),
        CellKind.Leaky => new LeakyCell(inputSize, hiddenSize, rng, leak),
        CellKind.RnnTanh => new RnnCell(inputSize, hiddenSize, rng),
        CellKind.RnnRelu => new RnnCell(inputSize, hiddenSize, rng, "relu"),
        CellKind.Lstm => new LstmCell(inputSize, hiddenSize, rng),
        CellKind.Gru => new GruCell(inputSize, hiddenSize, rng),
        _ => throw new ArgumentException($"RecurrentCell.Create: unknown cell kind {kind}"),
    };

    /// <summary>weight_ih, weight_hh, bias_ih, bias_hh, then a subclass's own (the leaky cell's learned leak).</summary>
    public virtual IEnumerable<Parameter> Parameters() => [WeightIh, WeightHh, BiasIh, BiasHh];

    // ------------------------------------------------------------------ training: forward

    /// <summary>
    /// Starts a sequence of up to <paramref name="maxSteps"/> steps for <paramref name="batch"/> rows, dropping the
    /// previous one (its states, and its gradients if EndBackward was not called).
    /// </summary>
    /// <param name="h0">[B, H] initial hidden state, or empty for zeros.</param>
    /// <param name="c0">[B, H] initial cell state (LSTM only), or empty for zeros.</param>
    /// <param name="maxSteps">T: the most steps the sequence will take (&gt; 0).</param>
    /// <param name="batch">B: rows per step.</param>
    public void Begin(int maxSteps, int batch, ReadOnlySpan<float> h0 = default, ReadOnlySpan<float> c0 = default)
    {
        if (maxSteps <= 0) throw new ArgumentException($"{this}.Begin: maxSteps must be positive (got {maxSteps})");
        if (batch <= 0) throw new ArgumentException($"{this}.Begin: batch must be positive (got {batch})");
        if ((long)(maxSteps + 1) * batch * Math.Max(GateWidth, InputSize) > Array.MaxLength)
            throw new ArgumentException($"{this}.Begin: {maxSteps} steps of {batch} rows are too many to keep");
        RequireState(h0, batch, "Begin", "h0");
        RequireCellState(c0, batch, "Begin", "c0");

        _phase = Phase.Idle; // until the sequence is set up: a failure below leaves no half-made sequence behind
        Allocate(maxSteps, batch);
        int H = HiddenSize;
        if (h0.IsEmpty) _states.Slice(0, batch * H).Clear(); else h0.CopyTo(_states.All);
        if (HasCellState)
        {
            if (c0.IsEmpty) _cells.Slice(0, batch * H).Clear(); else c0.CopyTo(_cells.All);
        }
        FoldBiases();
        _inputForward ??= new GemmPackedB(InputSize, GateWidth);
        _hiddenForward ??= new GemmPackedB(H, GateWidth);
        _inputForward.Pack(WeightIh.Value.Data, InputSize, transB: true);
        _hiddenForward.Pack(WeightHh.Value.Data, H, transB: true);
        (_maxSteps, _taken, _phase) = (maxSteps, 0, Phase.Forward);
        _begins++;
    }

    /// <summary>
    /// Step t (0, 1, 2 ... in order) of the sequence begun: h_t from x_t [B, I] and h_{t−1} (c_{t−1}). Returns h_t
    /// [B, H], which stays valid (as <see cref="Hidden"/>(t)) until the next Begin.
    /// </summary>
    public ReadOnlySpan<float> Step(int t, ReadOnlySpan<float> x)
    {
        if (_phase != Phase.Forward)
            throw new InvalidOperationException(_phase == Phase.Idle
                ? $"{this}.Step called before Begin"
                : $"{this}.Step: the sequence's backward pass has begun; Begin a new sequence first");
        if (t != _taken) throw new ArgumentException($"{this}.Step: t = {t} but the next step is {_taken} (steps go 0, 1, 2 ... in order)");
        if (t >= _maxSteps) throw new ArgumentException($"{this}.Step: t = {t} is past the {_maxSteps} steps given to Begin");
        int B = Batch, I = InputSize, H = HiddenSize, GH = GateWidth;
        if (x.Length != B * I) throw new ShapeException($"{this}.Step: expected x [{B}, {I}], got {x.Length} floats");

        // A_t = x_t W_ihᵀ + folded biases: the biases filled in, then the product added (as MultiplyAddBias does).
        Span<float> xT = _x.Slice(t * B * I, B * I), gates = _gates.Slice(t * B * GH, B * GH);
        x.CopyTo(xT);
        for (int b = 0; b < B; b++) _foldedBias.CopyTo(gates.Slice(b * GH, GH));
        Gemm.Multiply(xT, I, false, _inputForward!, gates, GH, B, accumulate: true);
        Span<float> h = _states.Slice((t + 1) * B * H, B * H);
        if (HasCellState)
            ForwardCells(t, B, gates, _states.Slice(t * B * H, B * H), h, _cells.Slice(t * B * H, B * H), _cells.Slice((t + 1) * B * H, B * H));
        else
            ForwardCells(t, B, gates, _states.Slice(t * B * H, B * H), h, default, default);
        _taken = t + 1;
        return h;
    }

    /// <summary>h_t [B, H] for −1 ≤ t &lt; the steps taken (h_{−1} = h0); valid until the next Begin.</summary>
    public ReadOnlySpan<float> Hidden(int t) => StateAt(_states, t, "Hidden");

    /// <summary>c_t [B, H] likewise (LSTM only).</summary>
    public ReadOnlySpan<float> Cell(int t)
    {
        if (!HasCellState) throw new InvalidOperationException($"{this}.Cell: only an LSTM has a cell state");
        return StateAt(_cells, t, "Cell");
    }

    private ReadOnlySpan<float> StateAt(AlignedFloats states, int t, string what)
    {
        if (_phase == Phase.Idle) throw new InvalidOperationException($"{this}.{what} called before Begin");
        if (t < -1 || t >= _taken) throw new ArgumentException($"{this}.{what}: t = {t} is outside -1..{_taken - 1} (h0 and the steps taken)");
        return states.Slice((t + 1) * Batch * HiddenSize, Batch * HiddenSize);
    }

    // ------------------------------------------------------------------ training: backward

    /// <summary>
    /// Backward through step t, from the last step taken down to 0. <paramref name="dh"/> [B, H] is the loss's gradient
    /// with respect to h_t from outside the cell (empty for none); the cell adds the gradient carried from step t + 1
    /// itself. <paramref name="dc"/> likewise for the LSTM's c_t. Returns dL/dx_t [B, I], valid until the next
    /// BackwardStep. The parameter gradients are added by <see cref="EndBackward"/>.
    /// </summary>
    public ReadOnlySpan<float> BackwardStep(int t, ReadOnlySpan<float> dh, ReadOnlySpan<float> dc = default)
    {
        int expected = _phase switch
        {
            Phase.Forward when _taken > 0 => _taken - 1,
            Phase.Backward when _nextBackward >= 0 => _nextBackward,
            Phase.Idle => throw new InvalidOperationException($"{this}.BackwardStep called before Begin"),
            Phase.Forward => throw new InvalidOperationException($"{this}.BackwardStep: no step has been taken"),
            _ when _beginsServed > 1 => throw new InvalidOperationException(
                $"{this}.BackwardStep: Begin was called {_beginsServed} times before the last backward pass; its saved sequence was the last one's, so a backward pass for an earlier one would be wrong — use one cell per sequence or run the backward pass in between"),
            _ => throw new InvalidOperationException($"{this}.BackwardStep: the backward pass is past step 0 already"),
        };
        if (t != expected)
            throw new ArgumentException($"{this}.BackwardStep: t = {t} but the next backward step is {expected} (from the last step taken down to 0)");
        int B = Batch, I = InputSize, H = HiddenSize, GH = GateWidth;
        RequireState(dh, B, "BackwardStep", "dh");
        RequireCellState(dc, B, "BackwardStep", "dc");

        if (_phase == Phase.Forward)
        {
            // The last step: nothing is carried from a later one.
            _dhCarry.All.Clear();
            if (HasCellState) _dc.All.Clear();
            PackBackwardWeights();
            PackOwnBackwardWeights();
            _phase = Phase.Backward;
            (_beginsServed, _begins) = (_begins, 0);
        }
        if (dh.IsEmpty) _dhCarry.All.CopyTo(_dh); else Kernels.Add(dh, _dhCarry, _dh);
        if (HasCellState && !dc.IsEmpty) Kernels.Add(_dc, dc, _dc);

        // Step t's cells turn its activations into dA_t and write dL/dh_{t−1} into the carry (now free: it was read).
        BackwardCells(t, _dh, _dc, _dhCarry);
        Gemm.Multiply(_gates.Slice(t * B * GH, B * GH), GH, false, _inputBackward!, _dx, I, B, accumulate: false);
        _nextBackward = t - 1;
        return _dx;
    }

    /// <summary>
    /// After step 0's BackwardStep: dW_ih += Σ_t dA_tᵀ X_t, dW_hh += Σ_t dA_tᵀ H_{t−1}, and the bias gradients, each
    /// one GEMM (or one sum) over all T·B rows.
    /// </summary>
    public void EndBackward()
    {
        if (_phase != Phase.Backward || _nextBackward >= 0)
            throw new InvalidOperationException(_phase == Phase.Ended
                ? $"{this}.EndBackward: already called for this sequence"
                : $"{this}.EndBackward: the backward pass has not reached step 0");
        int rows = _taken * Batch, I = InputSize, H = HiddenSize, GH = GateWidth;
        ReadOnlySpan<float> dA = _gates.Slice(0, rows * GH), hPrev = _states.Slice(0, rows * H);
        GemmSharedA.Multiply(dA, GH, true, GH, rows, _x.Slice(0, rows * I), I, WeightIh.Grad.Data, I, I,
            hPrev, H, WeightHh.Grad.Data, H, H, accumulate: true, m2: _sharedRows);
        SumRows(dA, rows, _biasGrad);
        Kernels.Add(BiasIh.Grad.Data, _biasGrad, BiasIh.Grad.Data);
        Span<float> sharedBiasGrad = BiasHh.Grad.Data.AsSpan(0, _sharedRows);
        Kernels.Add(sharedBiasGrad, _biasGrad.AsSpan(0, _sharedRows), sharedBiasGrad);
        AccumulateOwnGradients(hPrev, rows);
        _phase = Phase.Ended;
    }

    /// <summary>dL/dh0 [B, H] (through the cell) once step 0's BackwardStep has run; valid until the next Begin.</summary>
    public ReadOnlySpan<float> DH0
    {
        get
        {
            RequireBackwardDone("DH0");
            return _dhCarry;
        }
    }

    /// <summary>dL/dc0 [B, H] likewise (LSTM only).</summary>
    public ReadOnlySpan<float> DC0
    {
        get
        {
            if (!HasCellState) throw new InvalidOperationException($"{this}.DC0: only an LSTM has a cell state");
            RequireBackwardDone("DC0");
            return _dc;
        }
    }

    private void RequireBackwardDone(string what)
    {
        if (!(_phase == Phase.Ended || _phase == Phase.Backward && _nextBackward < 0))
            throw new InvalidOperationException($"{this}.{what}: the backward pass has not reached step 0");
    }

    // ------------------------------------------------------------------ inference

    /// <summary>
    /// One step for <paramref name="batch"/> rows with states the caller owns: h (and c) from x [B, I] and hPrev
    /// (cPrev) [B, H]. Nothing is kept for backward and the sequence in progress (if any) is untouched; the weights
    /// are read as they are now. h may be hPrev itself, and c cPrev (an update in place). c spans are empty but for
    /// the LSTM. Scratch grows to the largest batch seen.
    /// </summary>
    public void Advance(int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c)
    {
        if (batch <= 0) throw new ArgumentException($"{this}.Advance: batch must be positive (got {batch})");
        int I = InputSize, H = HiddenSize, GH = GateWidth;
        if (x.Length != batch * I) throw new ShapeException($"{this}.Advance: expected x [{batch}, {I}], got {x.Length} floats");
        if (hPrev.Length != batch * H) throw new ShapeException($"{this}.Advance: expected hPrev [{batch}, {H}], got {hPrev.Length} floats");
        if (h.Length != batch * H) throw new ShapeException($"{this}.Advance: expected h [{batch}, {H}], got {h.Length} floats");
        if (HasCellState)
        {
            if (cPrev.Length != batch * H) throw new ShapeException($"{this}.Advance: expected cPrev [{batch}, {H}], got {cPrev.Length} floats");
            if (c.Length != batch * H) throw new ShapeException($"{this}.Advance: expected c [{batch}, {H}], got {c.Length} floats");
        }
        else if (!cPrev.IsEmpty || !c.IsEmpty)
            throw new ArgumentException($"{this}.Advance: cell states are given but only an LSTM has one");

        FoldBiases();
        _scratchGates = _scratchGates.Fit(batch * GH);
        Span<float> gates = _scratchGates;
        Gemm.MultiplyAddBias(x, I, false, WeightIh.Value.Data, I, true, _foldedBias, gates, GH, batch, GH, I);
        ForwardCells(-1, batch, gates, hPrev, h, cPrev, c);
    }

    // ------------------------------------------------------------------ what each cell does

    /// <summary>
    /// The hidden side and the cells of one forward step for <paramref name="batch"/> rows: gates [B, G·H] holds the
    /// input side (x W_ihᵀ + the folded biases) and leaves with the activations backward needs; h (and c) get the new
    /// states. t ≥ 0: training step t (keep what backward needs of it; W_hhᵀ is packed); −1: Advance (keep nothing).
    /// </summary>
    private protected abstract void ForwardCells(int t, int batch, Span<float> gates, ReadOnlySpan<float> hPrev, Span<float> h,
        ReadOnlySpan<float> cPrev, Span<float> c);

    /// <summary>
    /// Step t's cells backward: dh [B, H] is dL/dh_t in full (dc likewise, LSTM: dc_t in, dc_{t−1} out in place);
    /// turns step t's activations (<see cref="StepGates"/>) into dA_t in place and writes dL/dh_{t−1} through the cell,
    /// W_hh included (see <see cref="AddHiddenBackward"/>), into dhPrev.
    /// </summary>
    private protected abstract void BackwardCells(int t, ReadOnlySpan<float> dh, Span<float> dc, Span<float> dhPrev);

    /// <summary>Sizes a subclass's own arenas for a sequence (Begin).</summary>
    private protected virtual void AllocateOwn(int maxSteps, int batch) { }

    /// <summary>Packs a subclass's own weights for the backward steps (at a sequence's first BackwardStep).</summary>
    private protected virtual void PackOwnBackwardWeights() { }

    /// <summary>Adds the gradients of the rows of W_hh and b_hh past the shared ones (EndBackward).</summary>
    /// <param name="hPrev">[T·B, H]: h_{t−1} of every step's rows.</param>
    /// <param name="rows">T·B: the rows of hPrev (and of the gate gradients).</param>
    private protected virtual void AccumulateOwnGradients(ReadOnlySpan<float> hPrev, int rows) { }

    // ------------------------------------------------------------------ helpers for the cells

    /// <summary>Step t's gate arena [B, G·H] (activations after forward, dA_t once backward has passed it).</summary>
    private protected Span<float> StepGates(int t) => _gates.Slice(t * Batch * GateWidth, Batch * GateWidth);

    /// <summary>h_{t−1} [B, H] of step t, i.e. the state arena's entry t (entry 0 = h0).</summary>
    private protected Span<float> PreviousHidden(int t) => _states.Slice(t * Batch * HiddenSize, Batch * HiddenSize);

    /// <summary>c_{t−1} [B, H] of step t (LSTM); <see cref="PreviousCell"/>(t + 1) is c_t.</summary>
    private protected Span<float> PreviousCell(int t) => _cells.Slice(t * Batch * HiddenSize, Batch * HiddenSize);

    /// <summary>target [B, G·H] (+)= hPrev W_hhᵀ: with W_hhᵀ packed at Begin for a training step (t ≥ 0), as it is for Advance.</summary>
    private protected void AddHiddenProjection(int t, ReadOnlySpan<float> hPrev, Span<float> target, int batch, bool accumulate)
    {
        int H = HiddenSize, GH = GateWidth;
        if (t >= 0) Gemm.Multiply(hPrev, H, false, _hiddenForward!, target, GH, batch, accumulate);
        else Gemm.Multiply(hPrev, H, false, WeightHh.Value.Data, H, true, target, GH, batch, GH, H, accumulate);
    }

    /// <summary>dhPrev [B, H] (+)= dA[:, shared] W_hh[shared, :] for a training step's dA [B, G·H].</summary>
    private protected void AddHiddenBackward(ReadOnlySpan<float> dA, Span<float> dhPrev, bool accumulate) =>
        Gemm.Multiply(dA, GateWidth, false, _hiddenBackward!, dhPrev, HiddenSize, Batch, accumulate);

    /// <summary>sum [width] = Σ over the rows of matrix [rows, width].</summary>
    private protected static void SumRows(ReadOnlySpan<float> matrix, int rows, Span<float> sum)
    {
        int width = sum.Length;
        sum.Clear();
        for (int r = 0; r < rows; r++) Kernels.Add(sum, matrix.Slice(r * width, width), sum);
    }

    // ------------------------------------------------------------------ bookkeeping

    private void Allocate(int maxSteps, int batch)
    {
        int I = InputSize, H = HiddenSize, GH = GateWidth;
        Batch = batch;
        _x = _x.Fit(maxSteps * batch * I);
        _gates = _gates.Fit(maxSteps * batch * GH);
        _states = _states.Fit((maxSteps + 1) * batch * H);
        _dh = _dh.Fit(batch * H);
        _dhCarry = _dhCarry.Fit(batch * H);
        _dx = _dx.Fit(batch * I);
        if (HasCellState)
        {
            _cells = _cells.Fit((maxSteps + 1) * batch * H);
            _dc = _dc.Fit(batch * H);
        }
        AllocateOwn(maxSteps, batch);
    }

    /// <summary>The first backward step packs W_ih and W_hh's shared rows as op(B) of dx_t = dA_t W_ih and dA_t W_hh.</summary>
    private void PackBackwardWeights()
    {
        int I = InputSize, H = HiddenSize;
        _inputBackward ??= new GemmPackedB(GateWidth, I);
        _hiddenBackward ??= new GemmPackedB(_sharedRows, H);
        _inputBackward.Pack(WeightIh.Value.Data, I, transB: false);
        _hiddenBackward.Pack(WeightHh.Value.Data.AsSpan(0, _sharedRows * H), H, transB: false);
    }

    /// <summary>A starts from b_ih + b_hh; the GRU's b_hn stays out (r multiplies it).</summary>
    private void FoldBiases()
    {
        ReadOnlySpan<float> bih = BiasIh.Value.Data, bhh = BiasHh.Value.Data;
        for (int g = 0; g < GateWidth; g++) _foldedBias[g] = bih[g] + (g < _sharedRows ? bhh[g] : 0f);
    }

    private void RequireState(ReadOnlySpan<float> state, int batch, string method, string name)
    {
        if (!state.IsEmpty && state.Length != batch * HiddenSize)
            throw new ShapeException($"{this}.{method}: expected {name} [{batch}, {HiddenSize}] or none, got {state.Length} floats");
    }

    private void RequireCellState(ReadOnlySpan<float> state, int batch, string method, string name)
    {
        if (!HasCellState && !state.IsEmpty)
            throw new ArgumentException($"{this}.{method}: {name} is given but only an LSTM has a cell state");
        RequireState(state, batch, method, name);
    }
}
