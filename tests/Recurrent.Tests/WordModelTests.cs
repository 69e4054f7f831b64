using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The word-level models see each sentence only up to its length: a sentence alone gives the outputs and gradients it
/// gives inside a padded batch, whatever the padding holds.
/// </summary>
public class WordModelTests
{
    private static readonly string[] Words = ["<pad>", "<unk>", "a", "b", "c", "d", "e", "f"];
    private static readonly int[][] Sentences = [[2, 3, 4], [5, 6, 7, 2, 3], [4], [7, 7, 6, 5]];

    private static WordModelConfig Config(string task, PoolingKind pooling = PoolingKind.Max, bool crf = false, bool chars = false,
        CellKind cell = CellKind.Lstm, int layers = 2) => new()
    {
        Task = task, Cell = cell, Vocabulary = WordVocabulary.FromList(Words, lowercase: false),
        Labels = LabelSet.Build(task == "tag" ? ["O", "B-X", "I-X"] : ["0", "1", "2"]),
        EmbeddingSize = 5, HiddenSize = 4, NumLayers = layers, Bidirectional = true, Dropout = 0.5f, EmbeddingDropout = 0.5f,
        WordDropout = 0.5f, Pooling = pooling, Crf = crf,
        Characters = chars ? WordVocabulary.FromList(["<pad>", "<unk>", "x", "y", "z"], false) : null,
        CharEmbedding = chars ? 3 : 0, CharHidden = chars ? 2 : 0,
    };

    /// <summary>Sentences [examples] as a time-major batch, padding filled with <paramref name="pad"/>.</summary>
    private static (int[] Tokens, int[] Lengths, int T) Batch(int[] examples, int pad)
    {
        int T = examples.Max(e => Sentences[e].Length), B = examples.Length;
        var tokens = Enumerable.Repeat(pad, T * B).ToArray();
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Sentences[examples[b]].Length; t++) tokens[t * B + b] = Sentences[examples[b]][t];
        return (tokens, examples.Select(e => Sentences[e].Length).ToArray(), T);
    }

    private static Dictionary<string, float[]> Gradients(IModule model) =>
        model.Parameters().ToDictionary(p => p.Name, p => (float[])p.Grad.Data.Clone());


    [Theory]
    [InlineData(PoolingKind.Last)]
    [InlineData(PoolingKind.Mean)]
    [InlineData(PoolingKind.Max)]
    [InlineData(PoolingKind.Attention)]
    public void ClassifierAloneEqualsInsideAPaddedBatch(PoolingKind pooling)
    {
        var model = new SequenceClassifier(Config("classify", pooling), new Rng(5)) { Training = false };
        int[] labels = [0, 2, 1, 1];
        int[] all = [0, 1, 2, 3];
        // The batch loss is the mean over sentences, so its gradient is the mean of the sentences' own gradients.
        var (tokens, lengths, T) = Batch(all, pad: 3); // padding with a real word id: it must still change nothing
        var logits = model.Forward(tokens, lengths, T, all.Length).Data.ToArray();
        model.ZeroGrad();
        model.Loss(labels);
        model.Backward();
        var batchGrads = Gradients(model);

        var sum = batchGrads.ToDictionary(kv => kv.Key, kv => new double[kv.Value.Length]);
        for (int e = 0; e < all.Length; e++)
        {
            var (one, oneLength, oneT) = Batch([e], 0);
            var alone = model.Forward(one, oneLength, oneT, 1).Span.ToArray();
            for (int c = 0; c < 3; c++) Assert.Equal(logits[e * 3 + c], alone[c], 5);
            model.ZeroGrad();
            model.Loss([labels[e]]);
            model.Backward();
            foreach (var p in model.Parameters())
                for (int i = 0; i < p.Grad.Length; i++) sum[p.Name][i] += p.Grad.Data[i] / all.Length;
        }
        foreach (var (name, g) in batchGrads)
            for (int i = 0; i < g.Length; i++) Assert.True(Math.Abs(g[i] - sum[name][i]) < 1e-5, $"{name}[{i}]: batch {g[i]}, alone {sum[name][i]}");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void TaggerAloneEqualsInsideAPaddedBatch(bool crf, bool chars)
    {
        var model = new SequenceTagger(Config("tag", crf: crf, chars: chars), new Rng(6)) { Training = false };
        int[][] gold = Sentences.Select(s => s.Select(w => w % 3).ToArray()).ToArray();
        int[][] characters(int[] examples, int T)
        {
            var words = new int[T * examples.Length][];
            for (int t = 0; t < T; t++)
                for (int b = 0; b < examples.Length; b++)
                    words[t * examples.Length + b] = t < Sentences[examples[b]].Length ? [2 + Sentences[examples[b]][t] % 3, 3] : [4, 4, 4];
            return words;
        }
        int[] Tags(int[] examples, int T)
        {
            var tags = new int[T * examples.Length];
            for (int b = 0; b < examples.Length; b++)
                for (int t = 0; t < T; t++) tags[t * examples.Length + b] = t < gold[examples[b]].Length ? gold[examples[b]][t] : 1;
            return tags;
        }
        int[] all = [0, 1, 2, 3];
        var (tokens, lengths, T) = Batch(all, pad: 6);
        var emissions = model.Forward(tokens, chars ? characters(all, T) : null, lengths, T, all.Length).Data.ToArray();
        var paths = new int[T * all.Length];
        model.Predict(paths);
        model.ZeroGrad();
        model.Loss(Tags(all, T));
        model.Backward();
        var batchGrads = Gradients(model);

        // The loss is per real token: the batch's gradient is Σ (n_e / N) · (sentence e's own gradient).
        int N = lengths.Sum();
        var sum = batchGrads.ToDictionary(kv => kv.Key, kv => new double[kv.Value.Length]);
        for (int e = 0; e < all.Length; e++)
        {
            var (one, oneLength, oneT) = Batch([e], 0);
            var alone = model.Forward(one, chars ? characters([e], oneT) : null, oneLength, oneT, 1).Span.ToArray();
            var onePath = new int[oneT];
            model.Predict(onePath);
            for (int t = 0; t < oneT; t++)
            {
                for (int k = 0; k < 3; k++) Assert.Equal(emissions[(t * all.Length + e) * 3 + k], alone[t * 3 + k], 5);
                Assert.Equal(paths[t * all.Length + e], onePath[t]);
            }
            model.ZeroGrad();
            model.Loss(Tags([e], oneT));
            model.Backward();
            foreach (var p in model.Parameters())
                for (int i = 0; i < p.Grad.Length; i++) sum[p.Name][i] += p.Grad.Data[i] * oneT / N;
        }
        foreach (var (name, g) in batchGrads)
            for (int i = 0; i < g.Length; i++) Assert.True(Math.Abs(g[i] - sum[name][i]) < 1e-5, $"{name}[{i}]: batch {g[i]}, alone {sum[name][i]}");
    }

    [Theory]
    [InlineData("classify", false)]
    [InlineData("tag", false)]
    [InlineData("tag", true)]
    public void WholeModelGradientsMatchFiniteDifferences(string task, bool crf)
    {
        // Dropout off (evaluation mode), so the loss is a deterministic function of every parameter.
        var config = Config(task, PoolingKind.Attention, crf: crf, chars: task == "tag", layers: 2) with { HiddenSize = 3, EmbeddingSize = 3 };
        int[] examples = [0, 2, 1];
        var (tokens, lengths, T) = Batch(examples, pad: 0);
        IModule wrapped;
        Func<double> loss;
        if (task == "classify")
        {
            var model = new SequenceClassifier(config, new Rng(11)) { Training = false };
            int[] labels = [2, 0, 1];
            loss = () => { model.Forward(tokens, lengths, T, examples.Length); return model.Loss(labels); };
            loss();
            model.ZeroGrad();
            model.Backward();
            wrapped = model;
        }
        else
        {
            var model = new SequenceTagger(config, new Rng(12)) { Training = false };
            var characters = Enumerable.Range(0, tokens.Length).Select(i => new[] { 2 + tokens[i] % 3, 2 + i % 3 }).ToArray();
            var tags = tokens.Select(t => t % 3).ToArray();
            loss = () => { model.Forward(tokens, characters, lengths, T, examples.Length); return model.Loss(tags); };
            loss();
            model.ZeroGrad();
            model.Backward();
            wrapped = model;
        }
        foreach (var p in wrapped.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, (float[])p.Grad.Data.Clone(), loss);
    }

    [Fact]
    public void ModelsNameTheirParametersAsPyTorchDoes()
    {
        var classifier = new SequenceClassifier(Config("classify", PoolingKind.Attention, cell: CellKind.Gru), new Rng(1));
        Assert.Equal(["embedding.weight", "gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0",
            "gru.weight_ih_l0_reverse", "gru.weight_hh_l0_reverse", "gru.bias_ih_l0_reverse", "gru.bias_hh_l0_reverse"],
            classifier.Parameters().Select(p => p.Name).Take(9));
        Assert.Contains("gru.weight_hh_l1_reverse", classifier.Parameters().Select(p => p.Name));
        Assert.Contains("pool.attention.query", classifier.Parameters().Select(p => p.Name));
        Assert.Equal(["head.weight", "head.bias"], classifier.Parameters().Select(p => p.Name).TakeLast(2));
        var tagger = new SequenceTagger(Config("tag", crf: true, chars: true), new Rng(1));
        var names = tagger.Parameters().Select(p => p.Name).ToList();
        Assert.Contains("char_embedding.weight", names);
        Assert.Contains("char_lstm.weight_ih_l0_reverse", names);
        Assert.Equal(["crf.start_transitions", "crf.end_transitions", "crf.transitions"], names.TakeLast(3)); // pytorch-crf's order
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void RecurrentStackEqualsTheMultiLayerLayerWithoutDropout()
    {
        var rng = new Rng(9);
        var stack = new RecurrentStack(CellKind.Lstm, 3, 4, 2, bidirectional: true, dropout: 0f, "lstm.", new Rng(2));
        var layer = new RecurrentLayer(CellKind.Lstm, 3, 4, numLayers: 2, bidirectional: true, rng: new Rng(2));
        var byName = layer.Parameters().ToDictionary(p => "lstm." + p.Name);
        foreach (var p in stack.Parameters()) byName[p.Name].Value.CopyFrom(p.Value);
        var x = new Tensor(GradCheck.RandomArray(rng, 5 * 2 * 3), 5, 2, 3);
        int[] lengths = [5, 3];
        var a = stack.Forward(x, lengths).Data.ToArray();
        var b = layer.Forward(x, lengths: lengths).Output.Data;
        Assert.Equal(b, a);
        var dy = new Tensor(GradCheck.RandomArray(rng, a.Length), 5, 2, 8);
        var dxStack = stack.Backward(dy).Data.ToArray();
        var dxLayer = layer.Backward(dy).DInput.Data;
        Assert.Equal(dxLayer, dxStack);
        foreach (var p in stack.Parameters()) Assert.Equal(byName[p.Name].Grad.Data, p.Grad.Data);
    }
}
