using Recurrent.Profiling;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>The recurrent cells; Leaky is the leaky-integrator tanh RNN (see <see cref="Leak"/>), the others PyTorch's.</summary>
public enum CellKind
{
    /// <summary>Elman RNN with tanh: torch.nn.RNN(nonlinearity="tanh"), one gate block.</summary>
    RnnTanh,
    /// <summary>Elman RNN with ReLU: torch.nn.RNN(nonlinearity="relu").</summary>
    RnnRelu,
    /// <summary>torch.nn.LSTM: gates i, f, g, o (four blocks) and a cell state c.</summary>
    Lstm,
    /// <summary>torch.nn.GRU: gates r, z, n (three blocks).</summary>
    Gru,
    /// <summary>Leaky-integrator tanh RNN, h_t = (1 − α) h_{t−1} + α tanh(…), α per unit (<see cref="Layers.Leak"/>); not in PyTorch.</summary>
    Leaky,
}

/// <summary>What a recurrent layer's Forward returns; the tensors belong to the layer and change at its next call.</summary>
/// <param name="Output">[T, B, D·H], or [B, T, D·H] when batch_first; zero past each sequence's length.</param>
/// <param name="HN">[L·D, B, H]: the state after each sequence's last real step (row k·D + direction).</param>
/// <param name="CN">[L·D, B, H] for LSTM, else null.</param>
public readonly record struct RecurrentOutput(Tensor Output, Tensor HN, Tensor? CN);

/// <summary>What Backward returns: gradients of the loss with respect to Forward's input, h0 and c0.</summary>
public readonly record struct RecurrentGradients(Tensor DInput, Tensor DH0, Tensor? DC0);

/// <summary>
/// torch.nn.RNN / LSTM / GRU: a stack of <c>num_layers</c> recurrent layers, each one or two directions.
/// L = num_layers, D = 2 if bidirectional else 1, T = time, B = batch, I = input_size, H = hidden_size.
///
///   RNN:  h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), act = tanh or ReLU
///   LSTM: i, f, g, o = σ, σ, tanh, σ of (W_i· x_t + b_i· + W_h· h_{t−1} + b_h·); c_t = f ⊙ c_{t−1} + i ⊙ g; h_t = o ⊙ tanh(c_t)
///   GRU:  r, z = σ(W_i· x_t + b_i· + W_h· h_{t−1} + b_h·); n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn));
///         h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
///   Leaky: h_t = (1 − α) ⊙ h_{t−1} + α ⊙ tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), α per unit (<see cref="Leak"/>):
///         fixed, or learned as α = σ(leak_l{k}) with one more parameter per direction, "leak_l{k}" [H] (initialized to
///         logit of the starting α, not drawn), after the four weights of that direction
///
/// Parameter names, shapes, gate order and initialization (U(±1/√H)) are PyTorch's, so state dicts move both ways.
/// bias: false is PyTorch's bias=False: no b_ih, b_hh (nor "bias_ih_l{k}", "bias_hh_l{k}"); every b above is zero,
/// the GRU's b_hn too.
/// Layer k > 0 reads [forward, reverse] of layer k−1 (width D·H), with dropout between layers while Training.
///
/// Residual (not in PyTorch): layers k ≥ 1, whose input width D·H equals their output width, add their input to
/// their output, h^k = RNN_k(dropout(h^{k−1})) + h^{k−1}, so each layer learns a correction to the one below and the
/// gradient reaches the lower layers through the identity as well as through the cells (GNMT, Wu et al. 2016, §3.1).
/// What is added is the layer below's output *before* dropout: the skip path is the identity in training as in
/// evaluation, and dropout regularizes only the transform branch — as tensorflow/nmt's GNMT cells do
/// (ResidualWrapper(DropoutWrapper(cell, input_keep_prob)) adds the undropped input) and as the Transformer's
/// x + dropout(f(x)) leaves x alone.
/// Layer 0 reads the input (an embedding, of another width and meaning) and has no skip. Zero past each sequence's
/// length still holds: both terms are zero there. Backward: ∂h^{k−1} = dropout'(∂x_k) + ∂h^k.
/// Kept for backward: a time-major copy of the input, each layer's output and dropout mask, and what each
/// <see cref="RecurrentDirection"/> keeps. Every buffer sized by (T, B) (the tensors returned included) is resized in
/// place when the shape changes and its array grows to the largest shape seen, so bucketed batches of a new shape every
/// step allocate nothing once the largest has been seen. Backward overwrites what the directions kept (the gates turn
/// into their gradients in place), so it runs once per Forward (<see cref="BackwardGuard"/>); after a Forward in eval
/// mode it is the gradient of what that Forward computed (no dropout), as in PyTorch.
/// </summary>
public sealed class RecurrentLayer : IModule
{
    /// <summary>The cell of every layer and direction.</summary>
    public CellKind Cell { get; }
    /// <summary>I: the width of an input step (torch's input_size).</summary>
    public int InputSize { get; }
    /// <summary>H: the hidden size of each direction of each layer (torch's hidden_size).</summary>
    public int HiddenSize { get; }
    /// <summary>L: stacked layers (torch's num_layers).</summary>
    public int NumLayers { get; }
    /// <summary>Each layer also runs a reverse direction, and its output is [forward, reverse] (torch's bidirectional).</summary>
    public bool Bidirectional { get; }
    /// <summary>D: 2 when bidirectional, else 1.</summary>
    public int NumDirections => Bidirectional ? 2 : 1;
    /// <summary>The dropout probability on the input of layers k ≥ 1 while training (torch's dropout).</summary>
    public float Dropout { get; }
    /// <summary>Input and output are [B, T, ·] instead of [T, B, ·] (torch's batch_first); states are [L·D, B, H] either way.</summary>
    public bool BatchFirst { get; }
    /// <summary>The leaky cell's α (fixed or learned); <see cref="Leak.Default"/> for the other cells, which ignore it.</summary>
    public Leak Leak { get; }
    /// <summary>Layers k ≥ 1 add their input (the layer below's output, before dropout) to their output.</summary>
    public bool Residual { get; }
    /// <summary>PyTorch's bias: false means no bias_ih / bias_hh parameters (the pre-activations get no bias term).</summary>
    public bool Bias { get; }
    /// <summary>Dropout between layers applies only while training.</summary>
    public bool Training
    {
        get => _training;
        set
        {
            _training = value;
            foreach (var d in _dropouts) d.Training = value;
        }
    }

    /// <summary>
    /// The per-step probe, off by default: while true, Backward also records ∂L/∂h_t, the total gradient reaching every
    /// step's hidden state (from the output at t, from step t+1 and, below the top layer, from the layer above), into
    /// <see cref="StateGradients"/>. Every layer and direction is recorded, since which one a question needs varies
    /// (the top layer's for a loss on the output, the bottom's for how far back the input is felt) and the cost, a copy
    /// of dh per step, is paid only while on. Off, Backward pays one null check per row and step.
    /// </summary>
    public bool ProbeStateGradients { get; set; }

    /// <summary>
    /// [L·D, T, B, H] after a Backward with <see cref="ProbeStateGradients"/> on: ∂L/∂h_t of direction d of layer k in
    /// row k·D + d, t in real time (the reverse direction's too), rows past a sequence's length the gradient of its
    /// frozen state. The layer's buffer: the next probed Backward overwrites it.
    /// </summary>
    public Tensor StateGradients => _stateGradients;

    private readonly Tensor _stateGradients = Tensor.Growable(0);
    private readonly RecurrentDirection[] _directions;   // index k·D + direction
    private readonly Dropout[] _dropouts;                // index k: applied to layer k−1's output before layer k reads it
    private bool _training = true;

    private int _steps = -1, _batch = -1;
    private int[]? _lengths;                             // _lengthsCopy, or null when every sequence is T long
    private int[] _lengthsCopy = [];                     // [B] (grown): a copy of the last Forward's lengths
    // Arrays below hold their [T, B, ...] at the start and may be longer (grown to the largest shape seen); the
    // directions are told T and B and never read past them.
    private float[] _input = [];                         // [T, B, I] time-major copy of the input
    private readonly Tensor[] _layerOutputs;             // per layer [T, B, D·H]
    private readonly float[][] _layerInputs;             // per layer: what it read (the input, or dropout of the layer below)
    private readonly Tensor[] _layerInputGrads;          // per layer [T, B, width of its input]
    private readonly Tensor[] _residualGrads;            // per layer k ≥ 1 with residual: ∂h^{k−1} [T, B, D·H]
    private float[] _zeroState = [];                     // [B, H] zeros, never written: h0 and c0 when none is given
    private readonly Tensor _output = Tensor.Growable(0), _hN = Tensor.Growable(0), _cN = Tensor.Growable(0),
        _dInput = Tensor.Growable(0), _dh0 = Tensor.Growable(0), _dc0 = Tensor.Growable(0);
    // Forward from tokens: the first layer reads them through _lookup, or (a large vocabulary) the embedding's own
    // output, whose gradient Backward then hands back to it. Either way Backward returns an empty DInput.
    private readonly EmbeddingLookup _lookup = new();
    private bool _lookupActive;
    internal bool ReadsThroughVocabulary => _lookupActive; // tests: which path the last Forward took
    private Embedding? _denseEmbedding;
    private readonly BackwardGuard _guard = new();
    private static readonly Tensor Empty = new(0);

    /// <summary>
    /// torch.nn.RNN / LSTM / GRU(input_size, hidden_size, num_layers, batch_first=, dropout=, bidirectional=), with
    /// every weight ~ U(±1/√H) drawn from rng (null: an Rng from Rng.FromGlobal()) and the dropout masks drawn from it later; the leaky cell takes
    /// <paramref name="leak"/>, and <paramref name="residual"/> adds the skip connections of layers k ≥ 1. Throws
    /// <see cref="ArgumentException"/> for a size ≤ 0, dropout outside [0, 1), or a leak given for another cell.
    /// </summary>
    public RecurrentLayer(CellKind cell, int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false,
        float dropout = 0f, bool batchFirst = false, Rng? rng = null, Leak? leak = null, bool residual = false, bool bias = true)
    {
        if (inputSize <= 0) throw new ArgumentException($"{cell}: input_size must be positive (got {inputSize})");
        if (hiddenSize <= 0) throw new ArgumentException($"{cell}: hidden_size must be positive (got {hiddenSize})");
        if (numLayers <= 0) throw new ArgumentException($"{cell}: num_layers must be positive (got {numLayers})");
        if (!(dropout >= 0f && dropout < 1f)) throw new ArgumentException($"{cell}: dropout must be in [0, 1) (got {dropout})");
        if (leak != null && cell != CellKind.Leaky) throw new ArgumentException($"{cell}: a leak ({leak}) is given but only the leaky cell has one");
        Leak = leak ?? Leak.Default;
        Leak.Validate(cell.ToString());
        Cell = cell;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        Bidirectional = bidirectional;
        Dropout = dropout;
        BatchFirst = batchFirst;
        Residual = residual;
        Bias = bias;
        rng ??= Rng.FromGlobal();

        _directions = new RecurrentDirection[numLayers * NumDirections];
        for (int k = 0; k < numLayers; k++)
            for (int d = 0; d < NumDirections; d++)
                _directions[k * NumDirections + d] = new RecurrentDirection(cell,
                    k == 0 ? inputSize : NumDirections * hiddenSize, hiddenSize, d == 0 ? $"l{k}" : $"l{k}_reverse", Leak, bias);

        float bound = 1f / MathF.Sqrt(hiddenSize);
        foreach (var p in _directions.SelectMany(d => d.Weights())) Init.Uniform(p.Value, bound, rng);
        _dropouts = Enumerable.Range(0, numLayers).Select(_ => new Dropout(dropout, rng)).ToArray();
        _layerOutputs = Enumerable.Range(0, numLayers).Select(_ => Tensor.Growable(0)).ToArray();
        _layerInputGrads = Enumerable.Range(0, numLayers).Select(_ => Tensor.Growable(0)).ToArray();
        _residualGrads = Enumerable.Range(0, residual ? numLayers : 0).Select(_ => Tensor.Growable(0)).ToArray();
        _layerInputs = new float[numLayers][];
    }

    /// <summary>
    /// "RNN(10, 20, num_layers=2, nonlinearity='relu', batch_first=True, dropout=0.5, bidirectional=True)": PyTorch's
    /// extra_repr (RNNBase's), each setting that differs from its default in the order of the constructor's arguments.
    /// PyTorch's own repr leaves out the nonlinearity, so that a ReLU RNN prints as a tanh one; here it is shown, where
    /// nn.RNN takes it. Not in torch.nn: the leaky cell ("LeakyRNN(7, 11, leak=0.5)") and residual stacks
    /// ("ResidualLSTM(7, 11, num_layers=2)", whose parameters are still torch.nn.LSTM's).
    /// </summary>
    public override string ToString()
    {
        string name = Cell switch { CellKind.Lstm => "LSTM", CellKind.Gru => "GRU", CellKind.Leaky => "LeakyRNN", _ => "RNN" };
        string extra = (NumLayers > 1 ? $", num_layers={NumLayers}" : "")
                       + (Cell == CellKind.RnnRelu ? ", nonlinearity='relu'" : "")
                       + (Bias ? "" : ", bias=False")
                       + (BatchFirst ? ", batch_first=True" : "")
                       + (Dropout != 0 ? $", dropout={Dropout.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "")
                       + (Bidirectional ? ", bidirectional=True" : "")
                       + (Cell == CellKind.Leaky ? $", leak={Leak}" : "");
        return $"{(Residual ? "Residual" : "")}{name}({InputSize}, {HiddenSize}{extra})";
    }

    /// <summary>Per layer k and direction, index k·D + direction: the weights and the time loop of each.</summary>
    internal IReadOnlyList<RecurrentDirection> Directions => _directions;

    /// <summary>
    /// The next Forward multiplies by W_hh ⊙ M, M drawn now for every W_hh (layer by layer, forward direction first)
    /// from <paramref name="masks"/>' probability and Rng (AWD-LSTM's weight drop, <see cref="WeightDrop"/>), and its
    /// Backward passes the gradient through M; null: the next passes use W_hh itself.
    /// </summary>
    internal void DropRecurrentWeights(Dropout? masks)
    {
        foreach (var d in _directions)
        {
            if (masks == null)
            {
                if (d.WeightDrop != null) d.WeightDrop.Active = false;
                continue;
            }
            d.WeightDrop ??= new WeightDrop(d.WeightHh.Value.Data.Length);
            d.WeightDrop.Draw(masks, d.WeightHh.Value.Data);
        }
    }

    /// <summary>Per layer k and direction, PyTorch's weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (the biases only with bias: true; then "_reverse" ones; leak_l{k} for a learned leak).</summary>
    public IEnumerable<Parameter> Parameters() => _directions.SelectMany(d => d.Parameters());

    /// <param name="input">[T, B, I], or [B, T, I] when batch_first.</param>
    /// <param name="h0">[L·D, B, H] initial hidden state, zero when null.</param>
    /// <param name="c0">[L·D, B, H] initial cell state (LSTM only), zero when null.</param>
    /// <param name="lengths">[B] real length of each sequence (1 ≤ length ≤ T), or null when all are T.</param>
    public RecurrentOutput Forward(Tensor input, Tensor? h0 = null, Tensor? c0 = null, int[]? lengths = null)
    {
        if (input.Rank != 3 || input.Dim(2) != InputSize)
            throw new ShapeException($"{this}.Forward: expected input {(BatchFirst ? "[B, T, " : "[T, B, ")}{InputSize}], got {Tensor.Describe(input.Shape)}");
        int T = BatchFirst ? input.Dim(1) : input.Dim(0), B = BatchFirst ? input.Dim(0) : input.Dim(1);
        if (T == 0 || B == 0) throw new ShapeException($"{this}.Forward: input {Tensor.Describe(input.Shape)} has no time steps or no sequences");
        Prepare(T, B, h0, c0, lengths);
        if (BatchFirst) Kernels.SwapFirstTwoAxes(input.Span, _input, B, T, InputSize);
        else input.Span.CopyTo(_input);
        (_lookupActive, _denseEmbedding) = (false, null);
        StepProfiler.Mark(StepPhase.Layout);
        return RunForward(h0, c0);
    }

    /// <summary>
    /// Forward(embedding.Forward(tokens, shape), h0, c0, lengths), with the first layer reading the embedding through
    /// the vocabulary (<see cref="EmbeddingLookup"/>) when it is small against the T·B tokens. Backward then adds the
    /// embedding's gradient to embedding.Weight.Grad itself and returns an empty DInput.
    /// </summary>
    /// <param name="tokens">[T, B], or [B, T] when batch_first, flat; shape says which sizes.</param>
    /// <param name="embedding">the embedding the tokens are looked up in; its weight's gradient is accumulated by Backward.</param>
    /// <param name="shape">[T, B], or [B, T] when batch_first.</param>
    /// <param name="h0">[L·D, B, H] initial hidden state, zero when null.</param>
    /// <param name="c0">[L·D, B, H] initial cell state (LSTM only), zero when null.</param>
    /// <param name="lengths">[B] real length of each sequence (1 ≤ length ≤ T), or null when all are T.</param>
    public RecurrentOutput Forward(Embedding embedding, ReadOnlySpan<int> tokens, int[] shape, Tensor? h0 = null,
        Tensor? c0 = null, int[]? lengths = null)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        if (embedding.EmbeddingDim != InputSize)
            throw new ShapeException($"{this}.Forward: the embedding's vectors have {embedding.EmbeddingDim} floats, the layer's input {InputSize}");
        if (shape.Length != 2 || shape[0] == 0 || shape[1] == 0)
            throw new ShapeException($"{this}.Forward: tokens must be {(BatchFirst ? "[B, T]" : "[T, B]")} with no empty axis, got {Tensor.Describe(shape)}");
        embedding.RequireTokens(tokens, shape, $"{this}.Forward");
        int T = BatchFirst ? shape[1] : shape[0], B = BatchFirst ? shape[0] : shape[1];
        if (!EmbeddingLookup.Applies(embedding.NumEmbeddings, T * B))
        {
            var output = Forward(embedding.Forward(tokens, shape), h0, c0, lengths);
            _denseEmbedding = embedding;
            return output;
        }
        Prepare(T, B, h0, c0, lengths);
        _lookup.Set(embedding, tokens, T, B, BatchFirst);
        (_lookupActive, _denseEmbedding) = (true, null);
        StepProfiler.Mark(StepPhase.Layout);
        return RunForward(h0, c0);
    }

    /// <summary>Checks the states and lengths for T steps of B sequences and sizes the buffers.</summary>
    private void Prepare(int T, int B, Tensor? h0, Tensor? c0, int[]? lengths)
    {
        int states = NumLayers * NumDirections, H = HiddenSize;
        if (h0 != null) RequireShape(h0, [states, B, H], "Forward h0");
        if (c0 != null)
        {
            if (Cell != CellKind.Lstm) throw new ArgumentException($"{this}.Forward: c0 is given but only an LSTM has a cell state");
            RequireShape(c0, [states, B, H], "Forward c0");
        }
        if (lengths != null)
        {
            if (lengths.Length != B) throw new ShapeException($"{this}.Forward: lengths has {lengths.Length} entries for a batch of {B}");
            for (int b = 0; b < B; b++)
                if (lengths[b] < 1 || lengths[b] > T)
                    throw new ArgumentException($"{this}.Forward: lengths[{b}] = {lengths[b]} is outside 1..{T}");
        }

        Allocate(T, B);
        _lengths = null;
        if (lengths == null) return;
        foreach (int l in lengths)
            if (l != T)
            {
                if (_lengthsCopy.Length < B) _lengthsCopy = new int[B];
                lengths.CopyTo(_lengthsCopy, 0);
                _lengths = _lengthsCopy;
                return;
            }
    }

    /// <summary>The layers over the prepared input (the time-major copy, or the lookup).</summary>
    private RecurrentOutput RunForward(Tensor? h0, Tensor? c0)
    {
        _guard.Forward();
        int T = _steps, B = _batch, H = HiddenSize, D = NumDirections, stateSize = B * H;
        for (int k = 0; k < NumLayers; k++)
        {
            float[] x = k == 0 ? _input : _layerInputs[k];
            for (int d = 0; d < D; d++)
            {
                int s = (k * D + d) * stateSize;
                _directions[k * D + d].Forward(x, k == 0 && _lookupActive ? _lookup : null, T, B,
                    h0 == null ? _zeroState.AsSpan(0, stateSize) : h0.Span.Slice(s, stateSize),
                    c0 == null ? _zeroState.AsSpan(0, stateSize) : c0.Span.Slice(s, stateSize),
                    _lengths, OutputOf(k, d), _hN.Span.Slice(s, stateSize),
                    Cell == CellKind.Lstm ? _cN.Span.Slice(s, stateSize) : default);
            }
            if (Residual && k > 0) AddResidual(k);
            if (k + 1 < NumLayers) _layerInputs[k + 1] = _dropouts[k + 1].Forward(_layerOutputs[k]).Storage;
            StepProfiler.Mark(StepPhase.Layout);
        }

        // Time-major callers get the top layer's own buffer; the top layer wrote batch-first rows straight into _output.
        return new RecurrentOutput(BatchFirst ? _output : _layerOutputs[NumLayers - 1], _hN, Cell == CellKind.Lstm ? _cN : null);
    }

    /// <summary>
    /// Accumulates every parameter's gradient and returns the gradients of Forward's input, h0 and c0. After a Forward
    /// from tokens the input's gradient goes into the embedding's and DInput is empty.
    /// </summary>
    /// <param name="dOutput">shaped like Forward's output, or null for none.</param>
    /// <param name="dhN">[L·D, B, H] gradient of the final hidden state, or null; dcN likewise (LSTM).</param>
    /// <param name="dcN">[L·D, B, H] gradient of the final cell state (LSTM), or null.</param>
    public RecurrentGradients Backward(Tensor? dOutput, Tensor? dhN = null, Tensor? dcN = null)
    {
        _guard.Backward(this);
        int T = _steps, B = _batch, H = HiddenSize, D = NumDirections, stateSize = B * H;
        if (dOutput != null)
            RequireShape(dOutput, BatchFirst ? _output.Shape : _layerOutputs[^1].Shape, "Backward dOutput");
        if (dhN != null) RequireShape(dhN, _hN.Shape, "Backward dhN");
        if (dcN != null)
        {
            if (Cell != CellKind.Lstm) throw new ArgumentException($"{this}.Backward: dcN is given but only an LSTM has a cell state");
            RequireShape(dcN, _cN.Shape, "Backward dcN");
        }

        if (ProbeStateGradients) _stateGradients.Resize(NumLayers * D, T, B, H);
        for (int i = 0; i < _directions.Length; i++)
        {
            _directions[i].StateGradientProbe = ProbeStateGradients ? _stateGradients.Storage : null;
            _directions[i].StateGradientProbeOffset = i * T * stateSize;
        }

        // The top layer reads dOutput where it is (batch-first or not); lower layers get time-major gradients.
        float[]? dTop = dOutput?.Storage;
        bool dTopBatchFirst = BatchFirst;

        for (int k = NumLayers - 1; k >= 0; k--)
        {
            float[] x = k == 0 ? _input : _layerInputs[k];
            for (int d = 0; d < D; d++)
            {
                int s = (k * D + d) * stateSize;
                _directions[k * D + d].Backward(x, k == 0 && _lookupActive ? _lookup : null, _lengths,
                    dTop == null ? null : new OutputSlot(dTop, D * H, d * H, dTopBatchFirst),
                    dhN == null ? default : dhN.Span.Slice(s, stateSize),
                    dcN == null ? default : dcN.Span.Slice(s, stateSize),
                    _layerInputGrads[k].Storage, accumulateDx: d > 0,
                    _dh0.Span.Slice(s, stateSize), Cell == CellKind.Lstm ? _dc0.Span.Slice(s, stateSize) : default);
            }
            if (k == 0) break;
            var dBelow = _dropouts[k].Backward(_layerInputGrads[k]);
            // The skip: the layer below's output also reaches h^k directly, so its gradient gains ∂h^k.
            if (Residual) AddResidualGradient(k, dTop, dTopBatchFirst, dBelow);
            (dTop, dTopBatchFirst) = (Residual ? _residualGrads[k].Storage : dBelow.Storage, false);
            StepProfiler.Mark(StepPhase.Layout);
        }

        var dc0 = Cell == CellKind.Lstm ? _dc0 : null;
        if (_lookupActive) return new RecurrentGradients(Empty, _dh0, dc0);
        if (BatchFirst) Kernels.SwapFirstTwoAxes(_layerInputGrads[0].Span, _dInput.Span, T, B, InputSize);
        else _layerInputGrads[0].Span.CopyTo(_dInput.Span);
        StepProfiler.Mark(StepPhase.Layout);
        if (_denseEmbedding == null) return new RecurrentGradients(_dInput, _dh0, dc0);
        _denseEmbedding.Backward(_dInput);
        return new RecurrentGradients(Empty, _dh0, dc0);
    }

    /// <summary>h^k += h^{k−1} (before dropout), in place in layer k's output (which backward does not read).</summary>
    private void AddResidual(int k)
    {
        var below = _layerOutputs[k - 1].Span;
        if (k < NumLayers - 1 || !BatchFirst)
        {
            var output = _layerOutputs[k].Span;
            Kernels.Add(output, below, output);
            return;
        }
        // A batch-first top layer wrote [B, T, D·H] rows into _output; the layer below is time-major [T, B, D·H].
        int T = _steps, B = _batch, width = NumDirections * HiddenSize;
        var top = _output.Span;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                var row = top.Slice((b * T + t) * width, width);
                Kernels.Add(row, below.Slice((t * B + b) * width, width), row);
            }
    }

    /// <summary>
    /// ∂h^{k−1} = dropout'(∂x_k) + ∂h^k into _residualGrads[k] (time-major); ∂h^k is dTop, batch-first when it is the
    /// caller's dOutput of a batch-first stack, or null when no output gradient was given (then only the first term).
    /// </summary>
    private void AddResidualGradient(int k, float[]? dTop, bool dTopBatchFirst, Tensor dBelow)
    {
        var sum = _residualGrads[k];
        sum.Resize(dBelow.Shape);
        var result = sum.Span;
        if (dTop == null) { dBelow.Span.CopyTo(result); return; }
        int T = _steps, B = _batch, width = NumDirections * HiddenSize;
        var below = dBelow.Span;
        if (!dTopBatchFirst)
        {
            Kernels.Add(below, dTop.AsSpan(0, T * B * width), result);
            return;
        }
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                int r = (t * B + b) * width;
                Kernels.Add(below.Slice(r, width), dTop.AsSpan((b * T + t) * width, width), result.Slice(r, width));
            }
    }

    /// <summary>Where direction d of layer k writes its output: the top layer of a batch-first stack straight into _output.</summary>
    private OutputSlot OutputOf(int k, int d)
    {
        bool top = k == NumLayers - 1;
        return new OutputSlot(top && BatchFirst ? _output.Storage : _layerOutputs[k].Storage, NumDirections * HiddenSize,
            d * HiddenSize, top && BatchFirst);
    }

    /// <summary>The shape check, with the message (and its string of this layer) built only when it fails.</summary>
    private void RequireShape(Tensor tensor, ReadOnlySpan<int> expected, string what)
    {
        if (!tensor.HasShape(expected)) Tensor.RequireShape(tensor, expected, $"{this}.{what}");
    }

    /// <summary>Sizes the buffers for (T, B): resized in place, their arrays grown only past the largest shape seen.</summary>
    private void Allocate(int steps, int batch)
    {
        if (steps == _steps && batch == _batch) return;
        _steps = steps;
        _batch = batch;
        int L = NumLayers, D = NumDirections, H = HiddenSize, width = D * H;
        if (_input.Length < steps * batch * InputSize) _input = new float[steps * batch * InputSize];
        if (_zeroState.Length < batch * H) _zeroState = new float[batch * H];
        for (int k = 0; k < L; k++)
        {
            // A batch-first stack's top layer writes into _output instead.
            if (k < L - 1 || !BatchFirst) _layerOutputs[k].Resize(steps, batch, width);
            _layerInputGrads[k].Resize(steps, batch, k == 0 ? InputSize : width);
            _layerInputs[k] = _input;
        }
        if (BatchFirst) _output.Resize(batch, steps, width);
        if (BatchFirst) _dInput.Resize(batch, steps, InputSize);
        else _dInput.Resize(steps, batch, InputSize);
        _hN.Resize(L * D, batch, H);
        _dh0.Resize(L * D, batch, H);
        if (Cell == CellKind.Lstm)
        {
            _cN.Resize(L * D, batch, H);
            _dc0.Resize(L * D, batch, H);
        }
    }
}
