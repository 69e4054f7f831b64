using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Word tasks train on bucketed batches, every one a different (T, B): the layers' buffers grow to the largest shape
/// seen and are reused below it, so a step after the largest batch allocates only a few small arrays, and the numbers
/// are those a fresh model gives.
/// </summary>
public class BufferGrowthTests(ITestOutputHelper output)
{
    private const int MaxLength = 24, MaxBatch = 16;

    /// <summary>(T, B) after the largest: shorter, narrower, both, and the largest again.</summary>
    private static readonly (int T, int B)[] Shapes =
        [(7, 16), (13, 9), (24, 3), (2, 16), (18, 12), (5, 5), (24, 16), (11, 14), (1, 7), (16, 16), (9, 2), (20, 15)];

    /// <summary>Words of 2 to 8 characters ("w0", "w1x", ..., "w39xxx"), so the character LSTM sees words of many lengths.</summary>
    private static readonly string[] Words =
        ["<pad>", "<unk>", .. Enumerable.Range(0, 40).Select(i => $"w{i}{new string('x', i % 6)}")];
    private static readonly string[] Characters = ["<pad>", "<unk>", "w", "x", .. Enumerable.Range(0, 10).Select(d => $"{d}")];

    /// <summary>Sentence c·MaxLength + (n − 1) has n words, for n in 1..MaxLength and MaxBatch copies c.</summary>
    private static string[][] Sentences()
    {
        var rng = new Rng(21);
        return Enumerable.Range(0, MaxLength * MaxBatch)
            .Select(i => Enumerable.Range(0, i % MaxLength + 1).Select(_ => Words[2 + rng.NextInt(Words.Length - 2)]).ToArray())
            .ToArray();
    }

    /// <summary>B sentences, the first T words long and the others shorter (down to 1), so the batch is [T, B].</summary>
    private static int[] Examples(int T, int B) =>
        Enumerable.Range(0, B).Select(b => b * MaxLength + Math.Max(0, T - 1 - b % T)).ToArray();

    /// <summary>A 2-layer BiLSTM with every dropout on; the classifier pools by attention, the tagger has characters and a CRF.</summary>
    private static WordModelConfig Config(string task)
    {
        bool tag = task == WordModelConfig.TagTask;
        return new()
        {
            Task = task, Cell = CellKind.Lstm, Vocabulary = WordVocabulary.FromList(Words, lowercase: false),
            Labels = LabelSet.Build(tag ? ["O", "B-X", "I-X"] : ["neg", "pos", "mid"]),
            EmbeddingSize = 32, HiddenSize = 32, NumLayers = 2, Bidirectional = true, Dropout = 0.5f, EmbeddingDropout = 0.25f,
            WordDropout = 0.1f, Pooling = PoolingKind.Attention, Crf = true,
            Characters = tag ? WordVocabulary.FromList(Characters, lowercase: false) : null, CharEmbedding = tag ? 8 : 0, CharHidden = tag ? 8 : 0,
        };
    }

    /// <summary>A task over <see cref="Sentences"/> with a fresh model (seed 7) and its optimizer.</summary>
    private static (IWordTask Task, Optimizer Optimizer) NewTask(string task)
    {
        var sentences = Sentences();
        var config = Config(task);
        if (task == WordModelConfig.TagTask)
        {
            var tagged = sentences
                .Select((s, i) => new TaggedSentence(s, s.Select((w, t) => (w.Length + t) % 3 == 0 ? "B-X" : "O").ToArray(), i))
                .ToList();
            var model = new SequenceTagger(config, new Rng(7));
            return (new TagTask(model, TaggingData.FromSentences("train", tagged, config), null, MaxBatch),
                new Adam(model.TrainableParameters(), 1e-3f));
        }
        var labelled = sentences.Select((s, i) => new LabeledText(new[] { "neg", "pos", "mid" }[s.Length % 3], s, i)).ToList();
        var classifier = new SequenceClassifier(config, new Rng(7));
        return (new ClassifyTask(classifier, ClassificationData.FromExamples("train", labelled, config), null, MaxBatch),
            new Adam(classifier.TrainableParameters(), 1e-3f));
    }

    private static void Step(IWordTask task, Optimizer optimizer, int[] examples)
    {
        optimizer.ZeroGrad();
        task.TrainOn(examples);
        optimizer.Step();
    }

    /// <summary>
    /// The first step, on the largest batch, allocates every buffer; the steps after it, on smaller batches of every
    /// shape, allocate only the batch's own small arrays (ids, lengths, labels: a few kilobytes). Before the buffers grew
    /// in place, each such step allocated about a fifth of the first step's bytes (0.50 of 2.72 MB for the classifier,
    /// 0.96 of 5.13 MB for the tagger); now it is a few hundred times less.
    /// </summary>
    [Theory]
    [InlineData(WordModelConfig.ClassifyTask)]
    [InlineData(WordModelConfig.TagTask)]
    public void StepsAfterTheLargestBatchAllocateLittle(string taskName)
    {
        var largest = Examples(MaxLength, MaxBatch);
        var batches = Shapes.Select(s => Examples(s.T, s.B)).ToArray();
        // A first model runs every shape once, so that what the runtime allocates once (JIT, statics) is out of the way.
        var (warm, warmOptimizer) = NewTask(taskName);
        Step(warm, warmOptimizer, largest);
        foreach (var b in batches) Step(warm, warmOptimizer, b);

        var (task, optimizer) = NewTask(taskName);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Step(task, optimizer, largest);
        long first = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var b in batches) Step(task, optimizer, b);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / batches.Length;
        output.WriteLine($"{taskName}: first step [{MaxLength}, {MaxBatch}] {first:N0} bytes, " +
                         $"then {perStep:N0} bytes a step over {batches.Length} smaller or equal shapes");
        // One [T, B, E] tensor made anew per step would be ~18 KB here, more than the bound.
        Assert.True(perStep * 200 < first, $"{perStep:N0} bytes a step after warm-up against {first:N0} for the first");
    }

    /// <summary>
    /// One model runs larger batches (forward, loss, backward: its weights stay as they are), then, from the same dropout
    /// Rng state as a fresh twin, a [9, 6] batch: outputs, loss, gradients and predictions are the twin's to the bit,
    /// though the first model's buffers still hold the larger batches' numbers past the new shape.
    /// </summary>
    [Theory]
    [InlineData(WordModelConfig.ClassifyTask, PoolingKind.Last, false, false)]
    [InlineData(WordModelConfig.ClassifyTask, PoolingKind.Mean, false, false)]
    [InlineData(WordModelConfig.ClassifyTask, PoolingKind.Max, false, false)]
    [InlineData(WordModelConfig.ClassifyTask, PoolingKind.Attention, false, false)]
    [InlineData(WordModelConfig.TagTask, PoolingKind.Max, true, true)]
    [InlineData(WordModelConfig.TagTask, PoolingKind.Max, false, true)]
    [InlineData(WordModelConfig.TagTask, PoolingKind.Max, true, false)]
    public void AfterLargerBatchesAModelGivesWhatAFreshOneGives(string task, PoolingKind pooling, bool crf, bool chars)
    {
        var config = Config(task) with
        {
            Pooling = pooling, Crf = crf, EmbeddingSize = 6, HiddenSize = 5,
            Characters = chars ? WordVocabulary.FromList(Characters, lowercase: false) : null,
            CharEmbedding = chars ? 3 : 0, CharHidden = chars ? 2 : 0,
        };
        var sentences = Sentences();
        var ids = sentences.Select(s => config.Vocabulary.Encode(s)).ToArray();
        var characters = chars
            ? sentences.Select(s => s.Select(w => TaggingData.EncodeCharacters(w, config.Characters!)).ToArray()).ToArray()
            : null;
        WordModel used = NewModel(task, config), fresh = NewModel(task, config);
        uint[] freshRng = fresh.DropoutRngState;

        (int T, int B)[] before = [(MaxLength, MaxBatch), (17, 11), (MaxLength, 2), (3, MaxBatch)];
        foreach (var (t, b) in before) Run(used, Examples(t, b), ids, characters);
        used.DropoutRngState = freshRng;
        int[] examples = Examples(9, 6);
        var (outputs, loss, paths) = Run(used, examples, ids, characters);
        var (freshOutputs, freshLoss, freshPaths) = Run(fresh, examples, ids, characters);

        Assert.Equal(freshOutputs, outputs);
        Assert.Equal(freshLoss, loss);
        Assert.Equal(freshPaths, paths);
        foreach (var (p, q) in fresh.Parameters().Zip(used.Parameters()))
            Assert.True(p.Grad.Span.SequenceEqual(q.Grad.Span), $"{p.Name}: the gradients differ");
    }

    private static WordModel NewModel(string task, WordModelConfig config) => task == WordModelConfig.TagTask
        ? new SequenceTagger(config, new Rng(8))
        : new SequenceClassifier(config, new Rng(8));

    /// <summary>
    /// Forward, loss and backward (gradients zeroed first) of a training step on the examples; returns the outputs, the
    /// loss and (tagger) the predicted tags.
    /// </summary>
    private static (float[] Outputs, float Loss, int[] Paths) Run(WordModel model, int[] examples, int[][] ids,
        int[][][]? characters)
    {
        var (tokens, lengths, steps) = PaddedBatch.Pad(ids, examples);
        int B = examples.Length;
        model.ZeroGrad();
        if (model is SequenceTagger tagger)
        {
            // Position t·B + b: the characters of word t of sentence b, a one-character word at padding.
            var words = characters == null ? null : Enumerable.Range(0, steps * B)
                .Select(i => i / B < lengths[i % B] ? characters[examples[i % B]][i / B] : [0])
                .ToArray();
            var emissions = tagger.Forward(tokens, words, lengths, steps, B).Span.ToArray();
            var paths = new int[tokens.Length];
            tagger.Predict(paths);
            float tagLoss = tagger.Loss(tokens.Select(t => t % 3).ToArray());
            tagger.Backward();
            return (emissions, tagLoss, paths);
        }
        var classifier = (SequenceClassifier)model;
        var logits = classifier.Forward(tokens, lengths, steps, B).Span.ToArray();
        float loss = classifier.Loss(examples.Select(e => e % 3).ToArray());
        classifier.Backward();
        return (logits, loss, []);
    }

    /// <summary>The recurrent layer alone, every cell, both layouts, with lengths: the same after larger batches.</summary>
    [Theory]
    [InlineData(CellKind.Lstm, false)]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, false)]
    [InlineData(CellKind.Gru, true)]
    [InlineData(CellKind.RnnTanh, true)]
    public void AfterLargerBatchesARecurrentLayerGivesWhatAFreshOneGives(CellKind cell, bool batchFirst)
    {
        const int I = 3, H = 4;
        RecurrentLayer Layer() => new(cell, I, H, numLayers: 2, bidirectional: true, batchFirst: batchFirst, rng: new Rng(3));
        var rng = new Rng(4);
        Tensor Input(int T, int B) => new(GradCheck.RandomArray(rng, T * B * I), batchFirst ? [B, T, I] : [T, B, I]);
        int[] Lengths(int T, int B) => Enumerable.Range(0, B).Select(b => Math.Max(1, T - b)).ToArray();
        (float[] Output, float[] HN, float[] DInput, float[] DH0, float[][] Grads) Run(RecurrentLayer layer, Tensor x,
            int[] lengths)
        {
            var output = layer.Forward(x, lengths: lengths);
            var (outputs, hN) = (output.Output.Span.ToArray(), output.HN.Span.ToArray());
            layer.ZeroGrad();
            var dy = new Tensor(GradCheck.RandomArray(new Rng(5), output.Output.Length), output.Output.Shape);
            var grads = layer.Backward(dy, new Tensor(output.HN.Shape)); // a zero dhN
            return (outputs, hN, grads.DInput.Span.ToArray(), grads.DH0.Span.ToArray(),
                layer.Parameters().Select(p => p.Grad.Span.ToArray()).ToArray());
        }

        var used = Layer();
        foreach (var (t, b) in new[] { (9, 7), (2, 9), (9, 1) }) Run(used, Input(t, b), Lengths(t, b));
        var x = Input(5, 4);
        var a = Run(used, x, Lengths(5, 4));
        var e = Run(Layer(), x, Lengths(5, 4));
        Assert.Equal(e.Output, a.Output);
        Assert.Equal(e.HN, a.HN);
        Assert.Equal(e.DInput, a.DInput);
        Assert.Equal(e.DH0, a.DH0);
        Assert.Equal(e.Grads, a.Grads);
    }

    [Fact]
    public void ABufferResizesInPlaceAndItsArrayGrowsOnlyPastTheLargestShape()
    {
        var t = Tensor.Growable(2, 3);
        Assert.Equal((6, 6), (t.Length, t.Capacity));
        t.Span.Fill(7);
        t.Resize(4, 1, 1);
        Assert.Equal([4, 1, 1], t.Shape);
        Assert.Equal((4, 6), (t.Length, t.Capacity));
        Assert.Equal(4, t.Span.Length);
        Assert.Equal(7f, t[3]);
        Assert.Throws<IndexOutOfRangeException>(() => t[4]); // past Length, inside the array
        Assert.Contains("read Span", Assert.Throws<InvalidOperationException>(() => t.Data).Message);

        t.Zero(); // the tensor only: the floats past it keep their values
        Assert.All(t.Span.ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(7f, t.Storage[5]);
        var clone = t.Clone();
        Assert.Equal((4, 4), (clone.Length, clone.Capacity)); // a clone is exact
        Assert.Equal(new float[4], clone.Data);
        var source = new Tensor([1, 2, 3, 4], 4, 1, 1);
        t.CopyFrom(source);
        Assert.Equal([1f, 2, 3, 4, 7, 7], t.Storage);

        float[] array = t.Storage;
        t.Resize(3, 2); // the whole array again: Data is it
        Assert.Same(array, t.Data);
        t.Resize(7);
        Assert.Equal((7, 7), (t.Length, t.Capacity));
        Assert.NotSame(array, t.Storage);
        Assert.Equal(new float[7], t.Data); // a new array is zeroed

        var exact = new Tensor(2, 3);
        Assert.Contains("not a growable buffer", Assert.Throws<InvalidOperationException>(() => exact.Resize(3, 2)).Message);
        Assert.Throws<ArgumentException>(() => t.Resize(-1, 2));
    }

    [Fact]
    public void LayersKeepTheirBuffersAcrossShapes()
    {
        var rng = new Rng(6);
        var linear = new Linear(3, 2, rng: rng);
        var y = linear.Forward(new Tensor(5, 4, 3));
        var dx = linear.Backward(new Tensor(5, 4, 2));
        float[] yArray = y.Storage, dxArray = dx.Storage;
        Assert.Same(y, linear.Forward(new Tensor(2, 3, 3)));
        Assert.Same(dx, linear.Backward(new Tensor(2, 3, 2)));
        Assert.Equal([2, 3, 2], y.Shape);
        Assert.Same(yArray, y.Storage);
        Assert.Same(dxArray, dx.Storage);

        var dropout = new Dropout(0.5f, rng);
        var dropped = dropout.Forward(new Tensor(6, 5));
        Assert.Same(dropped, dropout.Forward(new Tensor(3, 2)));
        Assert.Equal(30, dropped.Capacity);

        var layer = new RecurrentLayer(CellKind.Lstm, 3, 2, rng: rng);
        var output = layer.Forward(new Tensor(6, 4, 3));
        var small = layer.Forward(new Tensor(2, 3, 3));
        Assert.Same(output.Output, small.Output);
        Assert.Same(output.HN, small.HN);
        Assert.Same(output.CN, small.CN);
        Assert.Equal((12, 48), (small.Output.Length, small.Output.Capacity));
    }
}
