using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// Many-to-one: a sentence → one of C classes (sentiment). T = longest sentence of the batch, B = batch, E = embedding,
/// H = hidden per direction, D = directions, C = classes; time-major, padded, with each sentence's length.
///
///   w_t = word_t, or &lt;unk&gt; with probability word_dropout (training)
///   x = dropout_e(E[w])                                      tokens [T, B] → x [T, B, E]
///   h = RNN stack(x) over each sentence's own length          [T, B, D·H], zero past the length
///   s = pool(h): last | mean | max | attention over valid steps   [B, D·H]
///   logits = dropout(s) W_headᵀ + b_head                      [B, C]
///   loss = mean over the batch of −log softmax(logits)[label]
///
/// PyTorch names: "embedding.weight", "lstm.weight_ih_l0(_reverse)" ... ("gru." / "rnn."), "pool.attention.*"
/// (attention pooling), "head.weight", "head.bias". Padding never changes a result: the stack stops at each length,
/// and pooling reads only the valid steps.
/// Keeps for backward: what each layer keeps; the buffers take each batch's shape in place and grow to the largest seen.
/// </summary>
public sealed class SequenceClassifier : WordModel
{
    private readonly Dropout _embeddingDropout, _outputDropout;
    private readonly RecurrentStack _rnn;
    private readonly SequencePooling _pool;
    private readonly Linear _head;
    private readonly SoftmaxCrossEntropy _loss = new();
    private readonly BackwardGuard _guard = new(); // one Backward per loss: the layers' saved state is the last Forward's
    private readonly WordDropout _wordDropout;
    private bool _training = true;
    private Tensor? _logits;

    /// <summary>
    /// Builds the classifier, its parameters drawn from <paramref name="rng"/> in state-dict order; the same Rng then draws
    /// the dropout masks. Throws <see cref="ArgumentException"/> when <paramref name="config"/> is invalid or not a classify config.
    /// </summary>
    public SequenceClassifier(WordModelConfig config, Rng rng) : base(config, WordModelConfig.ClassifyTask, rng)
    {
        _rnn = new RecurrentStack(config.Cell, config.EmbeddingSize, config.HiddenSize, config.NumLayers, config.Bidirectional,
            config.Dropout, config.RecurrentPrefix, rng);
        int features = _rnn.OutputSize;
        _pool = new SequencePooling(config.Pooling, features, config.Directions, rng);
        _head = new Linear(features, config.Labels.Count, bias: true, rng);
        _embeddingDropout = new Dropout(config.EmbeddingDropout, rng);
        _outputDropout = new Dropout(config.Dropout, rng);
        _wordDropout = new WordDropout(config.WordDropout, rng);
        SetParameters([.. Embedding.Prefixed("embedding."), .. _rnn.Parameters(), .. _pool.Prefixed("pool."), .. _head.Prefixed("head.")]);
    }

    /// <inheritdoc/>
    public override bool Training
    {
        get => _training;
        set
        {
            _training = value;
            _embeddingDropout.Training = _outputDropout.Training = _rnn.Training = _wordDropout.Training = value;
        }
    }

    /// <param name="tokens">[T, B] time-major word ids, padded with &lt;pad&gt; (exactly T·B of them).</param>
    /// <param name="lengths">[B] the sentences' lengths, 1..T.</param>
    /// <returns>logits [B, C] (the model's buffer).</returns>
    /// <param name="steps">T.</param>
    /// <param name="batch">B.</param>
    public Tensor Forward(int[] tokens, int[] lengths, int steps, int batch)
    {
        if (tokens.Length != steps * batch)
            throw new ShapeException($"SequenceClassifier.Forward: {tokens.Length} tokens do not fill [T, B] = [{steps}, {batch}]");
        ReadOnlySpan<int> read = _wordDropout.Apply(tokens);
        var x = _embeddingDropout.Forward(Embedding.Forward(read, steps, batch));
        var h = _rnn.Forward(x, lengths);
        _logits = _head.Forward(_outputDropout.Forward(_pool.Forward(h, lengths)));
        return _logits;
    }

    /// <summary>Mean cross-entropy (nats) of the last Forward's logits against labels [B].</summary>
    public float Loss(ReadOnlySpan<int> labels)
    {
        var logits = _logits ?? throw new InvalidOperationException("SequenceClassifier.Loss called before Forward");
        float loss = _loss.Forward(logits, labels);
        _guard.Forward();
        return loss;
    }

    /// <summary>The un-averaged loss of the last <see cref="Loss"/> (for a mean over many batches).</summary>
    public double LossSum => _loss.LastLossSum;

    /// <summary>Accumulates every parameter's gradient of the last <see cref="Loss"/> (zero them first).</summary>
    public void Backward()
    {
        _guard.Backward(nameof(SequenceClassifier));
        var d = _outputDropout.Backward(_head.Backward(_loss.Backward()));
        d = _rnn.Backward(_pool.Backward(d));
        if (!Config.FreezeEmbeddings) Embedding.Backward(_embeddingDropout.Backward(d));
    }
}
