using Recurrent.Distributed;
using System.Text.Json;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// Encoder–decoder with attention (Bahdanau et al. 2015; Luong et al. 2015's input feeding), trained by teacher forcing.
/// S = longest source of the batch, T = longest target + 1 (the &lt;/s&gt;), B = sentence pairs, E = embedding,
/// H = hidden (the encoder's output width and the decoder's state), V = target words. Time-major ids, padded.
///
///   encoder:   k = BiRNN(dropout(E_src[x]))              [S, B, H], each direction H/2, zero past each source's length
///   bridge:    s_{−1} = tanh(W_b [h_fwd_final; h_bwd_final] + b_b)                 [B, H]
///   decoder:   x_t = [dropout(E_tgt[y_{t−1}]); c_{t−1}]   y_{−1} = &lt;s&gt;, c_{−1} = 0  [B, E + H]
///              s_t = cell(x_t, s_{t−1})                                            [B, H]
///              c_t = attention(query s_t, keys k, source lengths)  (0 without attention)
///              logits_t = W_o dropout([s_t; c_t]) + b_o                            [B, V]
///   loss = mean over the real target tokens (the words and the final &lt;/s&gt;) of −log softmax(logits_t)[y_t]
///
/// With teacher forcing R &lt; 1, each step t ≥ 1 (one draw for the batch) reads the model's own previous guess (the
/// argmax of logits_{t−1} without output dropout) instead of y_{t−1} with probability 1 − R.
/// PyTorch-style names: "encoder.embedding.weight", "encoder.gru.weight_ih_l0(_reverse)" …, "bridge.weight",
/// "decoder.embedding.weight", "decoder.cell.weight_ih" …, "decoder.attention.*", "decoder.output.weight".
/// The output layer and the loss run on the rows of real target tokens only, gathered (padding has no loss).
/// Keeps for backward: what each layer keeps, the ids the decoder read, its embedding dropout mask [T, B, E], the
/// contexts and [s_t; c_t] rows [T, B, 2H], and s_{−1}. Buffers grow to the largest batch seen.
/// </summary>
public sealed class Seq2SeqModel : ITaskModel, IGradientHooks
{
    /// <inheritdoc/>
    public Action<IModule>? GradientsReady { get; set; }

    /// <summary>The model's shape, vocabularies and attention, as config.json stores them.</summary>
    public Seq2SeqConfig Config { get; }
    internal Embedding SourceEmbedding { get; }
    internal RecurrentStack Encoder { get; }
    internal Linear Bridge { get; }
    internal Embedding TargetEmbedding { get; }
    internal RecurrentCell DecoderCell { get; }
    internal Attention? Attention { get; }
    internal Linear Output { get; }

    private readonly Rng _rng;
    private readonly Dropout _sourceDropout, _targetDropout, _outputDropout;
    private readonly SoftmaxCrossEntropy _loss = new(ignoreIndex: WordVocabulary.PadId);
    private readonly BackwardGuard _guard = new(); // one Backward per loss: the layers' saved state is the last Forward's
    private readonly Parameter[] _parameters;
    private bool _training = true;

    private int _sourceSteps, _targetSteps, _batch;
    private int[] _sourceLengths = [];
    private float[] _keys = [];          // [B, S, H] encoder outputs, batch-first for the attention
    private readonly Tensor _bridgeIn = Tensor.Growable(0);  // [B, H] = [h_fwd_final; h_bwd_final]
    private float[] _initialState = [];  // [B, H] s_{−1}
    private int[] _fed = [];             // [T, B] the ids the decoder read
    private float[] _embeddingMask = []; // [T, B, E]
    private float[] _input = [];         // [B, E + H] x_t
    private float[] _contexts = [];      // [T, B, H]
    private readonly Tensor _attended = Tensor.Growable(0);   // [T, B, 2H] rows [s_t; c_t]
    // The rows of _attended that predict a real token (not padding), gathered: the output layer, its dropout and the
    // loss see only these (a batch's targets differ in length, and padding is a third of the rows or more).
    private int[] _predicting = [], _predicted = [];         // [N] row index t·B + b, and its target
    private readonly Tensor _rows = Tensor.Growable(0), _dAttended = Tensor.Growable(0); // [N, 2H], [T, B, 2H]
    private float[] _guessLogits = [];   // [B, V] teacher forcing's own guesses
    private float[] _dContext = [], _dHidden = [], _dQuery = []; // [B, H] each
    private float[] _dMasked = [];       // [E] one row's embedding gradient through the dropout mask
    private readonly Tensor _dEncoderOutput = Tensor.Growable(0), _dFinalHidden = Tensor.Growable(0), _dBridge = Tensor.Growable(0);

    /// <summary>
    /// Builds the model, its parameters drawn from <paramref name="rng"/> in state-dict order; the same Rng then draws the
    /// dropout masks and teacher forcing's choices. Throws <see cref="ArgumentException"/> when <paramref name="config"/> is not valid.
    /// </summary>
    public Seq2SeqModel(Seq2SeqConfig config, Rng rng)
    {
        config.Validate();
        Config = config;
        _rng = rng;
        int E = config.EmbeddingSize, H = config.HiddenSize;
        SourceEmbedding = new Embedding(config.SourceVocabulary.Count, E, rng);
        Encoder = new RecurrentStack(config.Cell, E, config.EncoderHidden, config.NumLayers, bidirectional: true,
            config.Dropout, "encoder." + CharLanguageModelConfig.ModulePrefix(config.Cell), rng);
        Bridge = new Linear(H, H, bias: true, rng);
        TargetEmbedding = new Embedding(config.TargetVocabulary.Count, E, rng);
        DecoderCell = RecurrentCell.Create(config.Cell, E + H, H, rng);
        if (config.Attention is { } kind) Attention = Layers.Attention.Create(kind, H, H, H, rng);
        Output = new Linear(2 * H, config.TargetVocabulary.Count, bias: true, rng);
        _sourceDropout = new Dropout(config.Dropout, rng);
        _targetDropout = new Dropout(config.Dropout, rng);
        _outputDropout = new Dropout(config.Dropout, rng);
        _parameters =
        [
            .. SourceEmbedding.Prefixed("encoder.embedding."), .. Encoder.Parameters(), .. Bridge.Prefixed("bridge."),
            .. TargetEmbedding.Prefixed("decoder.embedding."), .. DecoderCell.Prefixed("decoder.cell."),
            .. (Attention?.Prefixed("decoder.attention.") ?? []), .. Output.Prefixed("decoder.output."),
        ];
    }

    /// <inheritdoc/>
    public string Task => Seq2SeqConfig.TranslateTask;
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
        set
        {
            _training = value;
            _sourceDropout.Training = _targetDropout.Training = _outputDropout.Training = Encoder.Training = value;
        }
    }

    /// <summary>The last Forward's un-averaged loss and its token count (for a mean over many batches).</summary>
    public double LossSum => _loss.LastLossSum;
    /// <summary>Target tokens (not padding) the last Forward's loss counted.</summary>
    public int LossTokens => _loss.Count;

    /// <summary>
    /// The encoder over a batch of sources, and the decoder's initial state: fills the keys [B, S, H] and s_{−1} [B, H].
    /// </summary>
    /// <param name="source">[S, B] time-major source ids, &lt;pad&gt; past each length.</param>
    /// <param name="lengths">[B] source lengths, 1..S.</param>
    /// <param name="steps">S: source time steps.</param>
    /// <param name="batch">B.</param>
    internal void Encode(int[] source, int[] lengths, int steps, int batch)
    {
        int H = Config.HiddenSize, half = Config.EncoderHidden;
        if (source.Length != steps * batch)
            throw new ShapeException($"Seq2SeqModel.Encode: {source.Length} source ids do not fill [S, B] = [{steps}, {batch}]");
        (_sourceSteps, _batch, _sourceLengths) = (steps, batch, lengths);
        var output = Encoder.Forward(_sourceDropout.Forward(SourceEmbedding.Forward(source, steps, batch)), lengths);
        Buffers.Grow(ref _keys, batch * steps * H);
        Kernels.SwapFirstTwoAxes(output.Span, _keys, steps, batch, H);

        var final = Encoder.TopFinalHidden.Span; // [2, B, H/2]
        _bridgeIn.Resize(batch, H);
        var bridgeIn = _bridgeIn.Span;
        for (int b = 0; b < batch; b++)
            for (int d = 0; d < 2; d++)
                final.Slice((d * batch + b) * half, half).CopyTo(bridgeIn.Slice(b * H + d * half, half));
        Buffers.Grow(ref _initialState, batch * H);
        Kernels.Tanh(Bridge.Forward(_bridgeIn).Span, _initialState.AsSpan(0, batch * H));
    }

    /// <summary>[B, S, H] encoder outputs of the last <see cref="Encode"/>.</summary>
    internal ReadOnlySpan<float> Keys => _keys.AsSpan(0, _batch * _sourceSteps * Config.HiddenSize);
    /// <summary>[B, H] the decoder's initial state s_{−1} of the last <see cref="Encode"/>.</summary>
    internal ReadOnlySpan<float> InitialState => _initialState.AsSpan(0, _batch * Config.HiddenSize);
    internal ReadOnlySpan<int> SourceLengths => _sourceLengths;
    internal int SourceSteps => _sourceSteps;

    /// <summary>
    /// Teacher-forced forward and the mean loss of one batch of sentence pairs.
    /// </summary>
    /// <param name="source">[S, B] time-major source ids.</param>
    /// <param name="sourceLengths">[B].</param>
    /// <param name="targetIn">[T, B] the decoder's gold inputs: &lt;s&gt; y_0 … y_{n−1}, &lt;pad&gt; after.</param>
    /// <param name="targetOut">[T, B] what it must predict: y_0 … y_{n−1} &lt;/s&gt;, &lt;pad&gt; (ignored) after.</param>
    /// <param name="sourceSteps">S.</param>
    /// <param name="targetSteps">T.</param>
    public float Forward(int[] source, int[] sourceLengths, int sourceSteps, int[] targetIn, int[] targetOut, int targetSteps)
    {
        int B = sourceLengths.Length, H = Config.HiddenSize, E = Config.EmbeddingSize;
        if (targetIn.Length != targetSteps * B || targetOut.Length != targetSteps * B)
            throw new ShapeException($"Seq2SeqModel.Forward: the targets must be [T, B] = [{targetSteps}, {B}], got {targetIn.Length} and {targetOut.Length} ids");
        TargetEmbedding.RequireTokens(targetIn, [targetSteps, B], "Seq2SeqModel.Forward targetIn");
        Encode(source, sourceLengths, sourceSteps, B);
        int T = _targetSteps = targetSteps;

        Buffers.Grow(ref _fed, T * B);
        Buffers.Grow(ref _embeddingMask, T * B * E);
        Buffers.Grow(ref _input, B * (E + H));
        Buffers.Grow(ref _contexts, T * B * H);
        _attended.Resize(T, B, 2 * H);
        bool dropEmbedding = _training && Config.Dropout > 0;
        if (dropEmbedding) _targetDropout.DrawMask(_embeddingMask.AsSpan(0, T * B * E));
        bool ownGuesses = _training && Config.TeacherForcing < 1;

        DecoderCell.Begin(T, B, InitialState);
        Attention?.SetKeys(Keys, B, sourceSteps, sourceLengths, T);
        var weights = TargetEmbedding.Weight.Value.Span;
        var attended = _attended.Span;
        for (int t = 0; t < T; t++)
        {
            var fed = _fed.AsSpan(t * B, B);
            if (t > 0 && ownGuesses && _rng.NextFloat() >= Config.TeacherForcing) Guess(attended.Slice((t - 1) * B * 2 * H, B * 2 * H), fed);
            else targetIn.AsSpan(t * B, B).CopyTo(fed);

            var x = _input.AsSpan(0, B * (E + H));
            for (int b = 0; b < B; b++)
            {
                var embedded = x.Slice(b * (E + H), E);
                weights.Slice(fed[b] * E, E).CopyTo(embedded);
                if (dropEmbedding) Kernels.Multiply(embedded, _embeddingMask.AsSpan((t * B + b) * E, E), embedded);
                if (t == 0 || Attention == null) x.Slice(b * (E + H) + E, H).Clear();
                else _contexts.AsSpan(((t - 1) * B + b) * H, H).CopyTo(x.Slice(b * (E + H) + E, H));
            }
            var s = DecoderCell.Step(t, x);
            var context = _contexts.AsSpan(t * B * H, B * H);
            if (Attention != null) Attention.Step(t, s, context);
            else context.Clear();
            for (int b = 0; b < B; b++)
            {
                s.Slice(b * H, H).CopyTo(attended.Slice((t * B + b) * 2 * H, H));
                context.Slice(b * H, H).CopyTo(attended.Slice((t * B + b) * 2 * H + H, H));
            }
        }
        int n = 0;
        Buffers.Grow(ref _predicting, T * B);
        Buffers.Grow(ref _predicted, T * B);
        for (int i = 0; i < T * B; i++)
            if (targetOut[i] != WordVocabulary.PadId)
            {
                _predicting[n] = i;
                _predicted[n] = targetOut[i];
                n++;
            }
        _rows.Resize(n, 2 * H);
        for (int k = 0; k < n; k++) attended.Slice(_predicting[k] * 2 * H, 2 * H).CopyTo(_rows.Span.Slice(k * 2 * H, 2 * H));
        var logits = Output.Forward(_outputDropout.Forward(_rows));
        float loss = _loss.Forward(logits, _predicted.AsSpan(0, n));
        _guard.Forward();
        return loss;
    }

    /// <summary>The argmax of each row's logits from [s; c] rows [B, 2H] (no dropout): the model's own previous word.</summary>
    private void Guess(ReadOnlySpan<float> rows, Span<int> fed)
    {
        int B = fed.Length, V = Config.TargetVocabulary.Count;
        Buffers.Grow(ref _guessLogits, B * V);
        OutputLogits(rows, _guessLogits.AsSpan(0, B * V), B);
        for (int b = 0; b < B; b++) fed[b] = Kernels.ArgMax(_guessLogits.AsSpan(b * V, V));
    }

    /// <summary>logits [N, V] = rows [N, 2H] W_oᵀ + b_o, without the layer's buffers (decoding calls it every step).</summary>
    internal void OutputLogits(ReadOnlySpan<float> rows, Span<float> logits, int n)
    {
        int H2 = 2 * Config.HiddenSize, V = Config.TargetVocabulary.Count;
        Gemm.MultiplyAddBias(rows, H2, false, Output.Weight.Value.Span, H2, true, Output.Bias!.Value.Span, logits, V, n, V, H2);
    }

    /// <summary>Accumulates every parameter's gradient of the last Forward's loss (zero them first).</summary>
    public void Backward()
    {
        _guard.Backward(nameof(Seq2SeqModel));
        // The output layer's weight gradient is a fifth of a translation step (31 of 147 ms at 2 threads), and the
        // decoder's small steps backward gain only 1.6× from a second core (19 ms on one, 11.5 on two), so that core
        // sums the weight gradient meanwhile. With ranks to sum over, it is wanted first instead: its sum over the ranks
        // then starts under the decoder's backward.
        if (GradientsReady == null)
            try
            {
                BackwardFromOutput(Output.BackwardOverlapped(_loss.Backward()));
            }
            finally
            {
                Output.FinishBackward();
            }
        else
        {
            var dRows = Output.Backward(_loss.Backward());
            GradientsReady(Output);
            BackwardFromOutput(dRows);
        }
    }

    /// <summary>Backward from dL/d[s_t; c_t] of the gathered rows [N, 2H] (before the output dropout) to the source embedding.</summary>
    private void BackwardFromOutput(Tensor dOutputRows)
    {
        int T = _targetSteps, B = _batch, S = _sourceSteps, H = Config.HiddenSize, E = Config.EmbeddingSize;
        var dRows = _outputDropout.Backward(dOutputRows).Span; // [N, 2H]
        _dAttended.Resize(T, B, 2 * H);
        var dAttended = _dAttended.Span;
        dAttended.Clear();
        for (int k = 0; k < _loss.Count; k++) dRows.Slice(k * 2 * H, 2 * H).CopyTo(dAttended.Slice(_predicting[k] * 2 * H, 2 * H));
        Buffers.Grow(ref _dContext, B * H);
        Buffers.Grow(ref _dHidden, B * H);
        Buffers.Grow(ref _dQuery, B * H);
        Buffers.Grow(ref _dMasked, E);
        var dContext = _dContext.AsSpan(0, B * H);
        var dHidden = _dHidden.AsSpan(0, B * H);
        var dQuery = _dQuery.AsSpan(0, B * H);
        dContext.Clear(); // dL/dc_t through x_{t+1}: nothing after the last step
        var dEmbedding = TargetEmbedding.Weight.Grad.Span;
        bool dropEmbedding = _training && Config.Dropout > 0;
        for (int t = T - 1; t >= 0; t--)
        {
            for (int b = 0; b < B; b++)
            {
                var row = dAttended.Slice((t * B + b) * 2 * H, 2 * H);
                row[..H].CopyTo(dHidden.Slice(b * H, H));
                Kernels.Add(dContext.Slice(b * H, H), row[H..], dContext.Slice(b * H, H));
            }
            if (Attention != null)
            {
                Attention.BackwardStep(t, dContext, dQuery);
                Kernels.Add(dHidden, dQuery, dHidden);
            }
            var dx = DecoderCell.BackwardStep(t, dHidden); // [B, E + H]
            for (int b = 0; b < B; b++)
            {
                var dEmbedded = dx.Slice(b * (E + H), E);
                var grad = dEmbedding.Slice(_fed[t * B + b] * E, E);
                if (dropEmbedding)
                {
                    // grad += dEmbedded ⊙ mask, the product rounded before the sum (as a scalar loop does), in vectors
                    var masked = _dMasked.AsSpan(0, E);
                    Kernels.Multiply(dEmbedded, _embeddingMask.AsSpan((t * B + b) * E, E), masked);
                    Kernels.Add(grad, masked, grad);
                }
                else Kernels.Add(grad, dEmbedded, grad);
                dx.Slice(b * (E + H) + E, H).CopyTo(dContext.Slice(b * H, H)); // dL/dc_{t−1}
            }
        }
        DecoderCell.EndBackward();

        _dEncoderOutput.Resize(S, B, H);
        if (Attention != null) Kernels.SwapFirstTwoAxes(Attention.EndBackward(), _dEncoderOutput.Span, B, S, H);
        else _dEncoderOutput.Zero();

        // s_{−1} = tanh(a): da = ds ⊙ (1 − s²), then the bridge's Linear, then [fwd; bwd] back to the encoder's h_n.
        _dBridge.Resize(B, H);
        Kernels.TanhBackward(InitialState, DecoderCell.DH0, _dBridge.Span);
        var dFinal = Bridge.Backward(_dBridge).Span;
        int half = Config.EncoderHidden;
        _dFinalHidden.Resize(2, B, half);
        for (int b = 0; b < B; b++)
            for (int d = 0; d < 2; d++)
                dFinal.Slice(b * H + d * half, half).CopyTo(_dFinalHidden.Span.Slice((d * B + b) * half, half));
        var dSource = Encoder.Backward(_dEncoderOutput, _dFinalHidden);
        SourceEmbedding.Backward(_sourceDropout.Backward(dSource));
    }

}
