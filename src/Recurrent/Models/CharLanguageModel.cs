using Recurrent.Distributed;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// char-rnn's model: predict the next character from the ones before.
/// T = time, B = batch, V = vocabulary, E = embedding (V when one-hot), H = hidden, L = num_layers; time-major.
///
///   x_t = W_emb[token_t] (or onehot(token_t))                 tokens [T, B] -> x [T, B, E]
///   h^k = RNN_k(dropout(h^{k-1}))  for k = 0..L-1, h^{-1} = x   [T, B, H], each layer from its carried (h0, c0)
///   weight drop p_w (training only): each RNN_k multiplies by W_hh ⊙ M_k, M_k drawn per pass (see <see cref="WeightDrop"/>)
///   residual: h^k = RNN_k(dropout(h^{k-1})) + h^{k-1} for k ≥ 1 (the layer below before dropout, as GNMT; see
///   <see cref="RecurrentLayer"/>), so backward ∂h^{k-1} = dropout'(∂x_k) + ∂h^k
///   logits = dropout(h^{L-1}) W_headᵀ + b_head                [T, B, V]
///   loss = mean over counted positions of −log softmax(logits)[target]
///
/// PyTorch names: "embedding.weight", "lstm.weight_ih_l0" ... (prefix "gru." or "rnn." for those cells, see
/// <see cref="CharLanguageModelConfig.RecurrentPrefix"/>), "head.weight", "head.bias" — the state dict of an
/// nn.Module with submodules embedding, lstm (nn.LSTM(E, H, L, dropout=p)) and head (nn.Linear(H, V)), as in
/// tests/fixtures/reference/make_reference.py's charlm.
///
/// The L layers are single-layer <see cref="RecurrentLayer"/>s chained here rather than one L-layer module, so that the
/// dropout between them draws from one Rng this model owns and a checkpoint can restore (<see cref="DropoutRngState"/>):
/// resuming then reproduces the uninterrupted run's masks exactly. Without dropout the two are the same computation.
/// The parameter names are the same with residual on (a PyTorch module that adds the skips in its forward).
/// Keeps for backward: what each layer keeps, and with residual each sum h^k (k ≥ 1); the buffers take each (T, B) in
/// place and grow to the largest seen.
/// </summary>
public sealed class CharLanguageModel : ITaskModel, IGradientHooks
{
    /// <summary>The model's shape and vocabulary, as config.json stores them.</summary>
    public CharLanguageModelConfig Config { get; }

    private readonly Embedding? _embedding;
    private readonly RecurrentLayer[] _layers;
    private readonly Parameter[] _parameters;
    private readonly Linear _head;
    private readonly SoftmaxCrossEntropy _loss = new(Data.BatchStreams.IgnoreIndex);
    private readonly BackwardGuard _guard = new(); // one Backward per loss: the layers' saved state is the last Forward's
    private Dropout[] _dropouts = [];   // [L]: before layer k+1, and the last before the head
    private Dropout? _weightDrops;      // draws the masks of every W_hh while training (null: no weight drop)
    private Rng _dropoutRng;
    private bool _training = true;
    private readonly Tensor _oneHot = Tensor.Growable(0); // [T, B, V] when E = 0 (resized in place, grown to the largest)
    private readonly Tensor[] _sums, _sumGrads;   // [L] with residual (index k ≥ 1 used): h^k and ∂h^{k-1}, [T, B, H]
    private readonly int[] _tokenShape = new int[2];
    private Tensor? _logits;

    /// <param name="rng">initializes the parameters (embedding ~ N(0,1), recurrent U(±1/√H), head U(±1/√H)) and,
    /// afterwards, draws the dropout masks.</param>
    /// <param name="config">the model's shape and vocabulary; throws <see cref="ArgumentException"/> when it is not valid.</param>
    public CharLanguageModel(CharLanguageModelConfig config, Rng rng)
    {
        config.Validate();
        Config = config;
        int H = config.HiddenSize, L = config.NumLayers;
        if (config.EmbeddingSize > 0) _embedding = new Embedding(config.VocabSize, config.EmbeddingSize, rng);
        _layers = new RecurrentLayer[L];
        for (int k = 0; k < L; k++)
            _layers[k] = new RecurrentLayer(config.Cell, k == 0 ? config.InputSize : H, H, numLayers: 1, rng: rng,
                leak: CharLanguageModelConfig.LeakOf(config.Cell, config.Leak));
        _head = new Linear(H, config.VocabSize, bias: true, rng);
        _dropoutRng = rng;
        MakeDropouts();
        _sums = Enumerable.Range(0, config.Residual ? L : 0).Select(_ => Tensor.Growable(0)).ToArray();
        _sumGrads = Enumerable.Range(0, config.Residual ? L : 0).Select(_ => Tensor.Growable(0)).ToArray();

        // The parameters under their PyTorch names: layer k's own "weight_ih_l0" is the stack's "weight_ih_l{k}".
        var list = new List<Parameter>();
        if (_embedding != null) list.AddRange(_embedding.Prefixed("embedding."));
        for (int k = 0; k < L; k++)
            list.AddRange(_layers[k].Parameters().Select(p =>
                new Parameter(config.RecurrentPrefix + p.Name.Replace("_l0", $"_l{k}"), p.Value, p.Grad)));
        list.AddRange(_head.Prefixed("head."));
        _parameters = list.ToArray();
    }

    private void MakeDropouts()
    {
        _dropouts = Enumerable.Range(0, Config.NumLayers).Select(_ => new Dropout(Config.Dropout, _dropoutRng) { Training = _training }).ToArray();
        _weightDrops = Config.WeightDrop > 0 ? new Dropout(Config.WeightDrop, _dropoutRng) : null;
    }

    /// <summary>In state-dict order: "embedding.weight" (unless one-hot), the recurrent layers' (e.g. "lstm.weight_ih_l0", …), then "head.weight", "head.bias".</summary>
    public IEnumerable<Parameter> Parameters() => _parameters;

    /// <inheritdoc/>
    public string Task => CharLanguageModelConfig.Task;
    /// <inheritdoc/>
    public void WriteConfig(System.Text.Json.Utf8JsonWriter writer) => Config.WriteJson(writer);

    /// <summary>Dropout applies only while training.</summary>
    public bool Training
    {
        get => _training;
        set
        {
            _training = value;
            foreach (var d in _dropouts) d.Training = value;
            foreach (var l in _layers) l.Training = value;
        }
    }

    /// <summary>The state of the Rng that draws dropout masks; setting it makes the next masks those a saved run drew next.</summary>
    public uint[] DropoutRngState
    {
        get => _dropoutRng.State;
        set
        {
            _dropoutRng = Rng.FromState(value);
            MakeDropouts();
        }
    }

    /// <inheritdoc/>
    public Action<IModule>? GradientsReady { get; set; }

    /// <summary>The loss of the last <see cref="Loss"/>: positions counted and their un-averaged sum (nats).</summary>
    public int LossCount => _loss.Count;
    /// <summary>The un-averaged cross-entropy (nats) of the last <see cref="Loss"/>, summed in double over <see cref="LossCount"/> positions.</summary>
    public double LossSum => _loss.LastLossSum;

    /// <summary>A zero (h, c) for a batch of <paramref name="batch"/> sequences.</summary>
    public RecurrentState NewState(int batch) => new(Config.NumLayers, batch, Config.HiddenSize, Config.Cell == CellKind.Lstm);

    /// <summary>
    /// logits [T, B, V] (the model's buffer) for tokens [T, B]. When <paramref name="state"/> is given, each layer starts
    /// from it and it is overwritten with the state after the last step (truncated BPTT: no gradient flows into it).
    /// </summary>
    public Tensor Forward(int[] tokens, int steps, int batch, RecurrentState? state = null)
    {
        if (tokens.Length != steps * batch)
            throw new ShapeException($"CharLanguageModel.Forward: {tokens.Length} tokens do not fill [T, B] = [{steps}, {batch}]");
        if (state != null && state.Batch != batch)
            throw new ShapeException($"CharLanguageModel.Forward: the state is for a batch of {state.Batch}, the tokens for {batch}");

        // With an embedding, the first layer reads it itself (RecurrentLayer's Forward from tokens): x starts null.
        Tensor? x = _embedding != null ? null : OneHot(tokens, steps, batch);
        (_tokenShape[0], _tokenShape[1]) = (steps, batch);
        for (int k = 0; k < _layers.Length; k++)
        {
            _layers[k].DropRecurrentWeights(_training ? _weightDrops : null);
            var output = x == null
                ? _layers[0].Forward(_embedding!, tokens, _tokenShape, state?.H[0], state?.C?[0])
                : _layers[k].Forward(k > 0 ? _dropouts[k - 1].Forward(x) : x, state?.H[k], state?.C?[k]);
            // The layer copied h0/c0 when it read them, so the carried state can be overwritten now.
            if (state != null)
            {
                state.H[k].CopyFrom(output.HN);
                if (state.C != null) state.C[k].CopyFrom(output.CN!);
            }
            if (Config.Residual && k > 0)
            {
                _sums[k].Resize(output.Output.Shape);
                Kernels.Add(output.Output.Span, x!.Span, _sums[k].Span);
                x = _sums[k];
            }
            else x = output.Output;
        }
        _logits = _head.Forward(_dropouts[^1].Forward(x!));
        return _logits;
    }

    /// <summary>
    /// A batch-1 generator over this model's weights as they are now (evaluation mode: no dropout): the logits of one
    /// step of Forward, to the bit, a token at a time (see <see cref="RecurrentStepper"/>), from <paramref name="state"/>
    /// (a batch of 1; null: zeros). It only reads the parameters, so it may step while other callers run Forward.
    /// </summary>
    public RecurrentStepper NewStepper(RecurrentState? state = null)
    {
        var stepper = new RecurrentStepper(_layers.Select(l => l.Directions[0]).ToArray(), _embedding, _head, Config.Residual);
        if (state == null) return stepper;
        if (state.Batch != 1) throw new ShapeException($"CharLanguageModel.NewStepper: the state is for a batch of {state.Batch}, a stepper's is 1");
        stepper.Load(state.H.Select(h => h.Data).ToArray(), state.C?.Select(c => c.Data).ToArray());
        return stepper;
    }

    /// <summary>Mean cross-entropy (nats) of the last Forward's logits against targets [T, B]; ignore index −100.</summary>
    public float Loss(ReadOnlySpan<int> targets)
    {
        var logits = _logits ?? throw new InvalidOperationException("CharLanguageModel.Loss called before Forward");
        float loss = _loss.Forward(logits, targets);
        _guard.Forward();
        return loss;
    }

    /// <summary>Accumulates every parameter's gradient of the last <see cref="Loss"/> (zero them first).</summary>
    public void Backward()
    {
        _guard.Backward(nameof(CharLanguageModel));
        Tensor dh = _dropouts[^1].Backward(_head.Backward(_loss.Backward())); // ∂h^{L-1}
        GradientsReady?.Invoke(_head);
        for (int k = _layers.Length - 1; k >= 0; k--)
        {
            var dInput = _layers[k].Backward(dh).DInput; // the first layer adds the embedding's gradient itself
            GradientsReady?.Invoke(_layers[k]);
            if (k == 0) break;
            var dBelow = _dropouts[k - 1].Backward(dInput);
            if (!Config.Residual) { dh = dBelow; continue; }
            _sumGrads[k].Resize(dBelow.Shape);
            Kernels.Add(dBelow.Span, dh.Span, _sumGrads[k].Span);
            dh = _sumGrads[k];
        }
    }

    private Tensor OneHot(int[] tokens, int steps, int batch)
    {
        int V = Config.VocabSize;
        _oneHot.Resize(steps, batch, V);
        _oneHot.Zero();
        var oneHot = _oneHot.Span;
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)V)
                throw new ArgumentException($"CharLanguageModel.Forward: token {tokens[i]} at position {i} is outside [0, {V})");
            oneHot[i * V + tokens[i]] = 1f;
        }
        return _oneHot;
    }
}

/// <summary>
/// The recurrent state a character model carries from one chunk to the next: per layer h [1, B, H] (and c for LSTM).
/// </summary>
public sealed class RecurrentState
{
    /// <summary>B: the sequences the state is for.</summary>
    public int Batch { get; }
    /// <summary>Per layer, h [1, B, H].</summary>
    public Tensor[] H { get; }
    /// <summary>Per layer, c [1, B, H] for the LSTM; null for the other cells.</summary>
    public Tensor[]? C { get; }

    /// <summary>A zero state: <paramref name="layers"/> tensors h [1, batch, hidden], and as many c when <paramref name="hasCell"/>.</summary>
    public RecurrentState(int layers, int batch, int hidden, bool hasCell)
    {
        Batch = batch;
        H = Enumerable.Range(0, layers).Select(_ => new Tensor(1, batch, hidden)).ToArray();
        C = hasCell ? Enumerable.Range(0, layers).Select(_ => new Tensor(1, batch, hidden)).ToArray() : null;
    }

    /// <summary>Back to zeros: the start of an epoch or of a text.</summary>
    public void Reset()
    {
        foreach (var t in H) t.Zero();
        if (C != null) foreach (var t in C) t.Zero();
    }

    /// <summary>Copies sequences [first, first + Batch) of <paramref name="all"/> (a state for more sequences) into this one.</summary>
    public void CopyFrom(RecurrentState all, int first) => ForEachPair(all, (mine, whole) =>
        whole.Span.Slice(first * RowLength(mine), mine.Length).CopyTo(mine.Span));

    /// <summary>Writes this state into sequences [first, first + Batch) of <paramref name="all"/>.</summary>
    public void CopyTo(RecurrentState all, int first) => ForEachPair(all, (mine, whole) =>
        mine.Span.CopyTo(whole.Span.Slice(first * RowLength(mine), mine.Length)));

    private int RowLength(Tensor t) => t.Length / Batch;

    private void ForEachPair(RecurrentState all, Action<Tensor, Tensor> action)
    {
        if (all.H.Length != H.Length || (all.C == null) != (C == null) || all.H[0].Shape[2] != H[0].Shape[2])
            throw new ShapeException("RecurrentState: the two states are of different models");
        for (int k = 0; k < H.Length; k++) action(H[k], all.H[k]);
        if (C != null) for (int k = 0; k < C.Length; k++) action(C[k], all.C![k]);
    }

    /// <summary>Every tensor with a name ("h_l0", "c_l0", ...), for checkpoints.</summary>
    public IEnumerable<(string Name, Tensor Value)> Named()
    {
        for (int k = 0; k < H.Length; k++) yield return ($"h_l{k}", H[k]);
        if (C != null) for (int k = 0; k < C.Length; k++) yield return ($"c_l{k}", C[k]);
    }
}
