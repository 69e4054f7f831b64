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

    private static readonly string[] Words = ["<pad>", "<unk>", .. Enumerable.Range(0, 40).Select(i => $"w{i}{new string('x', i % 6)}")];

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

    private static WordModelConfig Config(string task) => new()
    {
        Task = task, Cell = CellKind.Lstm, Vocabulary = WordVocabulary.FromList(Words, lowercase: false),
        Labels = LabelSet.Build(task == WordModelConfig.TagTask ? ["O", "B-X", "I-X"] : ["neg", "pos", "mid"]),
        EmbeddingSize = 32, HiddenSize = 32, NumLayers = 2, Bidirectional = true, Dropout = 0.5f, EmbeddingDropout = 0.25f,
        WordDropout = 0.1f, Pooling = PoolingKind.Attention, Crf = true,
        Characters = task == WordModelConfig.TagTask ? WordVocabulary.FromList(["<pad>", "<unk>", "w", "x", .. Enumerable.Range(0, 10).Select(d => $"{d}")], false) : null,
        CharEmbedding = task == WordModelConfig.TagTask ? 8 : 0, CharHidden = task == WordModelConfig.TagTask ? 8 : 0,
    };

    /// <summary>A task over <see cref="Sentences"/> with a fresh model (seed 7) and its optimizer.</summary>
    private static (IWordTask Task, Optimizer Optimizer) NewTask(string task)
    {
        var sentences = Sentences();
        var config = Config(task);
        if (task == WordModelConfig.TagTask)
        {
            var tagged = sentences.Select((s, i) => new TaggedSentence(s, s.Select((w, t) => (w.Length + t) % 3 == 0 ? "B-X" : "O").ToArray(), i)).ToList();
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
        output.WriteLine($"{taskName}: first step [{MaxLength}, {MaxBatch}] {first:N0} bytes, then {perStep:N0} bytes a step over {batches.Length} smaller or equal shapes");
        Assert.True(perStep * 20 < first, $"{perStep:N0} bytes a step after warm-up against {first:N0} for the first");
    }
}
