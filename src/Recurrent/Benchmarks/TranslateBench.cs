using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Benchmarks;

/// <summary>
/// One training step of the translation model at a fixed shape, through the path `recurrent train --task translate`
/// takes (padded batch, teacher-forced forward, loss, backward, clip the global norm to 5, Adam 1e-3), on random data:
/// B pairs of S source words and T − 1 target words (+ &lt;/s&gt;), drawn uniformly from vocabularies of the given sizes.
/// The model is train --task translate's default: GRU, E 256, H 256 (128 per encoder direction), Bahdanau attention,
/// dropout 0.2. bench/torch_seq2seq.py's `step` builds the PyTorch model of the same architecture at the same shape.
/// </summary>
public sealed class TranslateBench
{
    /// <summary>The fixed shape: B pairs, S source words, T target steps (words + &lt;/s&gt;), and the two vocabulary sizes.</summary>
    public const int Batch = 64, SourceLength = 10, TargetSteps = 12, SourceVocabulary = 8000, TargetVocabulary = 12000;

    private readonly WordTaskTrainer _trainer;
    /// <summary>The model's parameter count, in floats.</summary>
    public long Parameters { get; }
    /// <summary>Target tokens (words and &lt;/s&gt;) a step predicts.</summary>
    public int TokensPerStep => Batch * TargetSteps;

    /// <summary>The model, its trainer and a random batch at the fixed shape, all drawn from <paramref name="seed"/>.</summary>
    public TranslateBench(ulong seed = 0)
    {
        var rng = new Rng(seed ^ 0x7A4B5);
        static string[] Words(string prefix, int count) => Enumerable.Range(0, count).Select(i => prefix + i).ToArray();
        var config = new Seq2SeqConfig
        {
            Cell = CellKind.Gru,
            SourceVocabulary = WordVocabulary.FromList([WordVocabulary.Pad, WordVocabulary.Unknown, .. Words("s", SourceVocabulary - 2)], lowercase: false),
            TargetVocabulary = WordVocabulary.FromList([WordVocabulary.Pad, WordVocabulary.Unknown, WordVocabulary.Start, WordVocabulary.End,
                .. Words("t", TargetVocabulary - 4)], lowercase: false),
        };
        var pairs = Enumerable.Range(0, Batch * 4).Select(i => new ParallelPair(
            Enumerable.Range(0, SourceLength).Select(_ => config.SourceVocabulary.Words[2 + rng.NextInt(SourceVocabulary - 2)]).ToArray(),
            Enumerable.Range(0, TargetSteps - 1).Select(_ => config.TargetVocabulary.Words[4 + rng.NextInt(TargetVocabulary - 4)]).ToArray(),
            i + 1)).ToList();
        var model = new Seq2SeqModel(config, new Rng(seed));
        var task = new TranslateTask(model, TranslationData.FromCorpus("bench", new ParallelCorpus(pairs), config), null, Batch);
        var settings = new TrainingSettings { Data = "bench", DataSha256 = "", Optimizer = "adam", LearningRate = 1e-3, Clip = 5, Batch = Batch, Seed = seed };
        _trainer = new WordTaskTrainer(task, new Adam(task.TrainableParameters(), 1e-3f), settings, new TrainingProgress());
        Parameters = model.ParameterCount();
    }

    /// <summary>One training step; returns its loss.</summary>
    public float TrainStep() => _trainer.Step().Loss;
}
