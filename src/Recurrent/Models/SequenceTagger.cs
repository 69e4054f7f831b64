using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// Synchronized many-to-many: one tag per word (NER with BIO tags, part of speech). T = longest sentence of the batch,
/// B = batch, E = word embedding, F = 2·char_hidden character features (0 when off), H = hidden per direction,
/// D = directions, K = tags; time-major, padded, with each sentence's length.
///
///   x_t = dropout_e([E[w_t]; charBiLSTM(chars of word t)])   [T, B, E + F]   (Lample et al. 2016)
///   h = RNN stack(x) over each sentence's own length          [T, B, D·H]
///   emissions = dropout(h) W_headᵀ + b_head                   [T, B, K]
///   softmax: loss = mean over real tokens of −log softmax(emissions_t)[tag_t]; prediction argmax per token
///   CRF:     loss = Σ_sentences −log p(tags | emissions) / real tokens; prediction by Viterbi
///
/// PyTorch names: "embedding.weight", "char_embedding.weight", "char_lstm.*", "lstm.weight_ih_l0(_reverse)" ...,
/// "head.weight", "head.bias", "crf.transitions", "crf.start_transitions", "crf.end_transitions".
/// Keeps for backward: what each layer keeps. Its own buffers (the concatenated input, its gradient's two parts) are
/// resized in place to each batch's shape, growing to the largest seen.
/// </summary>
public sealed class SequenceTagger : WordModel
{
    private readonly CharWordEncoder? _chars;
    private readonly Dropout _inputDropout, _outputDropout;
    private readonly WordDropout _wordDropout;
    private readonly RecurrentStack _rnn;
    private readonly Linear _head;
    private readonly LinearChainCrf? _crf;
    private readonly SoftmaxCrossEntropy _softmax = new();
    private readonly BackwardGuard _guard = new(); // one Backward per loss: the layers' saved state is the last Forward's
    private bool _training = true;
    private int _steps, _batch, _realTokens;
    private int[] _lengths = [];
    private readonly Tensor _input = Tensor.Growable(0), _dEmbedding = Tensor.Growable(0), _dChars = Tensor.Growable(0);
    private Tensor? _emissions;
    private float _lossScale;

    /// <summary>
    /// Builds the tagger, its parameters drawn from <paramref name="rng"/> in state-dict order; the same Rng then draws the
    /// dropout masks. Throws <see cref="ArgumentException"/> when <paramref name="config"/> is invalid or not a tag config.
    /// </summary>
    public SequenceTagger(WordModelConfig config, Rng rng) : base(config, WordModelConfig.TagTask, rng)
    {
        if (config.HasCharFeatures) _chars = new CharWordEncoder(config.Characters!.Count, config.CharEmbedding, config.CharHidden, rng);
        int inputSize = config.EmbeddingSize + (_chars?.OutputSize ?? 0);
        _rnn = new RecurrentStack(config.Cell, inputSize, config.HiddenSize, config.NumLayers, config.Bidirectional,
            config.Dropout, config.RecurrentPrefix, rng);
        _head = new Linear(_rnn.OutputSize, config.Labels.Count, bias: true, rng);
        if (config.Crf) _crf = new LinearChainCrf(config.Labels.Count, rng);
        _inputDropout = new Dropout(config.EmbeddingDropout, rng);
        _outputDropout = new Dropout(config.Dropout, rng);
        _wordDropout = new WordDropout(config.WordDropout, rng);
        SetParameters(
        [
            .. Embedding.Prefixed("embedding."), .. _chars?.Parameters() ?? [], .. _rnn.Parameters(),
            .. _head.Prefixed("head."), .. _crf?.Prefixed("crf.") ?? [],
        ]);
    }

    /// <inheritdoc/>
    public override bool Training
    {
        get => _training;
        set
        {
            _training = value;
            _inputDropout.Training = _outputDropout.Training = _rnn.Training = _wordDropout.Training = value;
        }
    }

    /// <param name="tokens">[T, B] time-major word ids, padded with &lt;pad&gt; (exactly T·B).</param>
    /// <param name="characters">with character features: the character ids of the word at each of the T·B positions
    /// (time-major; padding positions hold any one-character word); else null.</param>
    /// <param name="lengths">[B] the sentences' lengths, 1..T.</param>
    /// <returns>emissions [T, B, K] (the model's buffer).</returns>
    /// <param name="steps">T.</param>
    /// <param name="batch">B.</param>
    public Tensor Forward(int[] tokens, IReadOnlyList<int[]>? characters, int[] lengths, int steps, int batch)
    {
        if (tokens.Length != steps * batch)
            throw new ShapeException($"SequenceTagger.Forward: {tokens.Length} tokens do not fill [T, B] = [{steps}, {batch}]");
        if ((_chars != null) != (characters != null))
            throw new ArgumentException($"SequenceTagger.Forward: the model {(_chars != null ? "reads" : "has no")} character features");
        (_steps, _batch, _lengths) = (steps, batch, lengths);
        _realTokens = lengths.Sum();
        var words = Embedding.Forward(_wordDropout.Apply(tokens), steps, batch);
        Tensor x = words;
        if (_chars != null)
        {
            var features = _chars.Forward(characters!);            // [T·B, F]
            x = Concatenate(words, features, steps, batch);
        }
        var h = _rnn.Forward(_inputDropout.Forward(x), lengths);
        _emissions = _head.Forward(_outputDropout.Forward(h));
        return _emissions;
    }

    /// <summary>
    /// The loss of the last Forward against tags [T, B] time-major (any value at padding), in nats per real token.
    /// </summary>
    public float Loss(int[] tags)
    {
        var emissions = _emissions ?? throw new InvalidOperationException("SequenceTagger.Loss called before Forward");
        if (_crf != null)
        {
            double sum = _crf.Forward(emissions, tags, _lengths);
            LossSum = sum;
            _lossScale = 1f / _realTokens;
            _guard.Forward();
            return (float)(sum / _realTokens);
        }
        // Padding positions are ignored by the softmax loss (target −100).
        var targets = Targets(tags);
        float loss = _softmax.Forward(emissions, targets);
        LossSum = _softmax.LastLossSum;
        _guard.Forward();
        return loss;
    }

    /// <summary>The un-averaged loss of the last <see cref="Loss"/> (nats over its real tokens).</summary>
    public double LossSum { get; private set; }

    private int[] _targets = []; // [T·B] (grown)

    private ReadOnlySpan<int> Targets(int[] tags)
    {
        if (_targets.Length < tags.Length) _targets = new int[tags.Length];
        for (int t = 0; t < _steps; t++)
            for (int b = 0; b < _batch; b++)
                _targets[t * _batch + b] = t < _lengths[b] ? tags[t * _batch + b] : -100;
        return _targets.AsSpan(0, tags.Length);
    }

    /// <summary>The best tags of the last Forward's sentences, time-major [T, B] (−1 at padding): argmax or Viterbi.</summary>
    public void Predict(int[] paths)
    {
        var emissions = _emissions ?? throw new InvalidOperationException("SequenceTagger.Predict called before Forward");
        if (_crf != null) { _crf.Decode(emissions, _lengths, paths); return; }
        int K = Config.Labels.Count;
        var e = emissions.Span;
        for (int t = 0; t < _steps; t++)
            for (int b = 0; b < _batch; b++)
            {
                int i = t * _batch + b;
                paths[i] = t < _lengths[b] ? Kernels.ArgMax(e.Slice(i * K, K)) : -1;
            }
    }

    /// <summary>Accumulates every parameter's gradient of the last <see cref="Loss"/> (zero them first).</summary>
    public void Backward()
    {
        _guard.Backward(nameof(SequenceTagger));
        var dEmissions = _crf != null ? _crf.Backward(_lossScale) : _softmax.Backward();
        var dx = _inputDropout.Backward(_rnn.Backward(_outputDropout.Backward(_head.Backward(dEmissions))));
        Tensor dWords = dx;
        if (_chars != null)
        {
            Split(dx, _steps, _batch);
            _chars.Backward(_dChars);
            dWords = _dEmbedding;
        }
        if (!Config.FreezeEmbeddings) Embedding.Backward(dWords);
    }

    /// <summary>[T, B, E] and [T·B, F] → [T, B, E + F] (the model's buffer).</summary>
    private Tensor Concatenate(Tensor words, Tensor features, int steps, int batch)
    {
        int E = Config.EmbeddingSize, F = _chars!.OutputSize, rows = steps * batch;
        _input.Resize(steps, batch, E + F);
        ReadOnlySpan<float> w = words.Span, f = features.Span;
        Span<float> x = _input.Span;
        for (int r = 0; r < rows; r++)
        {
            w.Slice(r * E, E).CopyTo(x.Slice(r * (E + F), E));
            f.Slice(r * F, F).CopyTo(x.Slice(r * (E + F) + E, F));
        }
        return _input;
    }

    /// <summary>dx [T, B, E + F] → the word embedding's [T, B, E] and the character encoder's [T·B, F].</summary>
    private void Split(Tensor dx, int steps, int batch)
    {
        int E = Config.EmbeddingSize, F = _chars!.OutputSize, rows = steps * batch;
        _dEmbedding.Resize(steps, batch, E);
        _dChars.Resize(rows, F);
        ReadOnlySpan<float> d = dx.Span;
        Span<float> dWords = _dEmbedding.Span, dChars = _dChars.Span;
        for (int r = 0; r < rows; r++)
        {
            d.Slice(r * (E + F), E).CopyTo(dWords.Slice(r * E, E));
            d.Slice(r * (E + F) + E, F).CopyTo(dChars.Slice(r * F, F));
        }
    }
}
