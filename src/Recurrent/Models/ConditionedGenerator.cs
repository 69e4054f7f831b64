using System.Text.Json;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// One-to-many: text generated from a condition (a label, or a vector such as an image's features in captioning).
/// T = longest text of the batch + 1, B = texts, E = embedding, H = hidden, L = layers, V = words; time-major, padded.
///
///   u = E_cond[label] (labels) or the vector itself                      [B, E or Dv]
///   h0 = tanh(W_b u + b_b), one H-block per layer                        [L, B, H]  (LSTM: [h0; c0], 2L blocks)
///   x_t = dropout(E_word[y_{t−1}]),  y_{−1} = &lt;s&gt;                        [T, B, E]
///   h = RNN(x, h0) over each text's own length (its words and &lt;/s&gt;)   [T, B, H]
///   logits = W_o dropout(h) + b_o;  loss = mean over real tokens of −log softmax(logits_t)[y_t], y_n = &lt;/s&gt;
///
/// Sampling starts from h0 and &lt;s&gt; and feeds each drawn word back until &lt;/s&gt; or the length limit; it never
/// draws &lt;pad&gt;, &lt;unk&gt; or &lt;s&gt;.
/// PyTorch-style names: "condition.weight" (labels), "bridge.weight", "embedding.weight", "gru.weight_ih_l0" …,
/// "output.weight". The recurrent layers have no dropout between them (their masks would come from an Rng a checkpoint
/// does not hold). The LSTM's cell state starts from the condition too: with c0 = 0 the condition would reach the
/// memory only through the first steps' gates, and a small model learns to ignore it.
/// Keeps for backward: what each layer keeps, and h0 (and c0).
/// </summary>
public sealed class ConditionedGenerator : ITaskModel
{
    /// <summary>The model's shape, vocabulary and condition kind, as config.json stores them.</summary>
    public GeneratorConfig Config { get; }
    private readonly Embedding? _condition;
    private readonly Linear _bridge, _output;
    private readonly Embedding _embedding;
    private readonly RecurrentLayer _rnn;
    private readonly Dropout _embeddingDropout, _outputDropout;
    private readonly SoftmaxCrossEntropy _loss = new(ignoreIndex: WordVocabulary.PadId);
    private readonly BackwardGuard _guard = new(); // one Backward per loss: the layers' saved state is the last Forward's
    private readonly Rng _rng;
    private readonly Parameter[] _parameters;
    private bool _training = true;
    private int _batch;
    private readonly Tensor _h0 = Tensor.Growable(0), _c0 = Tensor.Growable(0), _dState = Tensor.Growable(0), _vectors = Tensor.Growable(0);
    private bool Lstm => Config.Cell == CellKind.Lstm;
    /// <summary>The state blocks the bridge produces: h0 of each layer, and c0 of each layer for the LSTM.</summary>
    private int StateBlocks => Config.NumLayers * (Lstm ? 2 : 1);

    /// <summary>
    /// Builds the model, its parameters drawn from <paramref name="rng"/> in state-dict order; the same Rng then draws the
    /// dropout masks. Throws <see cref="ArgumentException"/> when <paramref name="config"/> is not valid.
    /// </summary>
    public ConditionedGenerator(GeneratorConfig config, Rng rng)
    {
        config.Validate();
        Config = config;
        _rng = rng;
        int E = config.EmbeddingSize, H = config.HiddenSize, L = config.NumLayers;
        if (config.Labels != null) _condition = new Embedding(config.Labels.Count, E, rng);
        _bridge = new Linear(config.ConditionSize, StateBlocks * H, bias: true, rng);
        _embedding = new Embedding(config.Vocabulary.Count, E, rng);
        _rnn = new RecurrentLayer(config.Cell, E, H, L, bidirectional: false, rng: rng);
        _output = new Linear(H, config.Vocabulary.Count, bias: true, rng);
        _embeddingDropout = new Dropout(config.Dropout, rng);
        _outputDropout = new Dropout(config.Dropout, rng);
        _parameters =
        [
            .. (_condition?.Prefixed("condition.") ?? []), .. _bridge.Prefixed("bridge."), .. _embedding.Prefixed("embedding."),
            .. _rnn.Prefixed(CharLanguageModelConfig.ModulePrefix(config.Cell)), .. _output.Prefixed("output."),
        ];
    }

    /// <inheritdoc/>
    public string Task => GeneratorConfig.GenerateTask;
    /// <inheritdoc/>
    public IEnumerable<Parameter> Parameters() => _parameters;
    /// <inheritdoc/>
    public void WriteConfig(Utf8JsonWriter writer) => Config.WriteJson(writer);
    /// <inheritdoc/>
    public uint[] DropoutRngState { get => _rng.State; set => _rng.State = value; }
    /// <inheritdoc/>
    public bool Training
    {
        get => _training;
        set { _training = value; _embeddingDropout.Training = _outputDropout.Training = value; }
    }

    /// <summary>The last Forward's un-averaged loss and its token count.</summary>
    public double LossSum => _loss.LastLossSum;
    /// <summary>Target tokens (not padding) the last Forward's loss counted.</summary>
    public int LossTokens => _loss.Count;

    /// <summary>h0 (and c0) [L, B, H] = tanh(W_b u + b_b) for labels [B] (ids) or vectors [B·Dv].</summary>
    private void InitialState(int[]? labels, float[]? vectors, int batch)
    {
        int H = Config.HiddenSize, L = Config.NumLayers;
        Tensor u;
        if (_condition != null)
        {
            if (labels == null || labels.Length != batch) throw new ArgumentException($"a label-conditioned generator needs {batch} labels");
            u = _condition.Forward(labels, batch);
        }
        else
        {
            if (vectors == null || vectors.Length != batch * Config.VectorSize)
                throw new ShapeException($"a vector-conditioned generator needs [B, {Config.VectorSize}] = {batch * Config.VectorSize} values, got {vectors?.Length ?? 0}");
            _vectors.Resize(batch, Config.VectorSize);
            vectors.CopyTo(_vectors.Span);
            u = _vectors;
        }
        var a = _bridge.Forward(u).Span; // [B, blocks·H]: h0 of each layer, then c0 of each layer
        _h0.Resize(L, batch, H);
        _c0.Resize(L, batch, H);
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < StateBlocks; k++)
                Kernels.Tanh(a.Slice((b * StateBlocks + k) * H, H), (k < L ? _h0 : _c0).Span.Slice(((k % L) * batch + b) * H, H));
        _batch = batch;
    }

    /// <summary>Teacher-forced forward and mean loss of a batch.</summary>
    /// <param name="labels">[B] condition ids, or null for vectors.</param>
    /// <param name="vectors">[B, Dv] conditions, or null for labels.</param>
    /// <param name="inputs">[T, B] &lt;s&gt; y_0 … y_{n−1}, &lt;pad&gt; after.</param>
    /// <param name="targets">[T, B] y_0 … y_{n−1} &lt;/s&gt;, &lt;pad&gt; (ignored) after.</param>
    /// <param name="lengths">[B] n + 1.</param>
    /// <param name="steps">T: time steps of inputs and targets.</param>
    public float Forward(int[]? labels, float[]? vectors, int[] inputs, int[] targets, int[] lengths, int steps)
    {
        int B = lengths.Length;
        InitialState(labels, vectors, B);
        var x = _embeddingDropout.Forward(_embedding.Forward(inputs, steps, B));
        var h = _rnn.Forward(x, _h0, Lstm ? _c0 : null, lengths).Output;
        var logits = _output.Forward(_outputDropout.Forward(h));
        float loss = _loss.Forward(logits, targets);
        _guard.Forward();
        return loss;
    }

    /// <summary>Accumulates every parameter's gradient of the last Forward's loss (zero them first).</summary>
    public void Backward()
    {
        _guard.Backward(nameof(ConditionedGenerator));
        int H = Config.HiddenSize, L = Config.NumLayers, B = _batch;
        var grads = _rnn.Backward(_outputDropout.Backward(_output.Backward(_loss.Backward())));
        _embedding.Backward(_embeddingDropout.Backward(grads.DInput));
        // [h0; c0] = tanh(a): da = d ⊙ (1 − tanh²), laid out back as [B, blocks·H].
        _dState.Resize(B, StateBlocks * H);
        for (int b = 0; b < B; b++)
            for (int k = 0; k < StateBlocks; k++)
            {
                var (state, d) = k < L ? (_h0, grads.DH0) : (_c0, grads.DC0!);
                int at = ((k % L) * B + b) * H;
                Kernels.TanhBackward(state.Span.Slice(at, H), d.Span.Slice(at, H), _dState.Span.Slice((b * StateBlocks + k) * H, H));
            }
        var du = _bridge.Backward(_dState);
        _condition?.Backward(du);
    }

    /// <summary>
    /// <paramref name="count"/> texts drawn for one condition (a label id, or a vector), each until &lt;/s&gt; or
    /// <paramref name="maxLength"/> words. Returns the word ids of each, without &lt;/s&gt;.
    /// </summary>
    public int[][] Sample(int? label, float[]? vector, int count, int maxLength, TokenSampler sampler, Rng rng)
    {
        bool wasTraining = Training;
        Training = false;
        try
        {
            int V = Config.Vocabulary.Count;
            var labels = label is { } id ? Enumerable.Repeat(id, count).ToArray() : null;
            var vectors = vector != null ? Enumerable.Range(0, count).SelectMany(_ => vector).ToArray() : null;
            InitialState(labels, vectors, count);
            var h = _h0.Clone();
            var c = Lstm ? _c0.Clone() : null;
            var words = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
            var done = new bool[count];
            var previous = Enumerable.Repeat(WordVocabulary.StartId, count).ToArray();
            for (int t = 0; t < maxLength && !done.All(d => d); t++)
            {
                var step = _rnn.Forward(_embedding.Forward(previous, 1, count), h, c);
                step.HN.Span.CopyTo(h.Span);   // the next step's h0 (HN is the layer's buffer, rewritten by the next call)
                step.CN?.Span.CopyTo(c!.Span);
                var logits = _output.Forward(step.Output).Span;
                for (int b = 0; b < count; b++)
                {
                    if (done[b]) continue;
                    var row = logits.Slice(b * V, V);
                    // Never <pad>, <unk> or <s>: the draw is among the words and </s>.
                    row[WordVocabulary.PadId] = row[WordVocabulary.UnknownId] = row[WordVocabulary.StartId] = float.NegativeInfinity;
                    int next = sampler.Next(row, rng);
                    if (next == WordVocabulary.EndId) done[b] = true;
                    else words[b].Add(next);
                    previous[b] = next;
                }
            }
            return words.Select(w => w.ToArray()).ToArray();
        }
        finally { Training = wasTraining; }
    }
}
