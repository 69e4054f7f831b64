using System.Text;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Benchmarks;

/// <summary>
/// One training step of the classify and tag models at a fixed realistic shape, through the same path `recurrent
/// train` takes (padded batch, forward, loss, backward, clip the global norm to 5, Adam 1e-3), on random data:
/// B sentences of exactly T words drawn uniformly from a vocabulary of V words (each tag-row word 6 characters from 60).
/// bench/torch_tasks.py's `step` rows build the PyTorch model of the same architecture at the same shapes.
///   classify: E 300, bidirectional LSTM H 150, max pooling, 2 classes  (the defaults of train --task classify)
///   tag:      E 100 + character BiLSTM 25/25, bidirectional LSTM H 200, 9 tags, CRF  (train --task tag --crf)
/// </summary>
public sealed class WordTaskBench
{
    /// <summary>One benchmarked shape.</summary>
    /// <param name="Task">"classify" or "tag".</param>
    /// <param name="Batch">B: sentences per step.</param>
    /// <param name="SeqLen">T: words per sentence.</param>
    /// <param name="Vocab">V: the vocabulary size, &lt;pad&gt; and &lt;unk&gt; included.</param>
    /// <param name="Crf">tag: a CRF over the tags.</param>
    public sealed record Shape(string Task, int Batch, int SeqLen, int Vocab, bool Crf);

    /// <summary>The classify row: B 32, T 20, V 16,000.</summary>
    public static readonly Shape Classify = new("classify", 32, 20, 16000, false);
    /// <summary>The tag row: B 32, T 15, V 20,000, with a CRF.</summary>
    public static readonly Shape Tag = new("tag", 32, 15, 20000, true);

    private readonly WordTaskTrainer _trainer;
    /// <summary>The shape benchmarked.</summary>
    public Shape Size { get; }
    /// <summary>The model's parameter count, in floats.</summary>
    public long Parameters { get; }

    /// <summary>The model of the shape's task, its trainer and a random batch, all drawn from <paramref name="seed"/>.</summary>
    public WordTaskBench(Shape shape, ulong seed = 0)
    {
        Size = shape;
        var rng = new Rng(seed ^ 0xBE7C4);
        var words = new string[shape.Vocab - 2];
        for (int i = 0; i < words.Length; i++) words[i] = Word(rng);
        string[] vocabulary = [WordVocabulary.Pad, WordVocabulary.Unknown, .. words.Distinct()];
        string[] Sentence() => Enumerable.Range(0, shape.SeqLen).Select(_ => vocabulary[2 + rng.NextInt(vocabulary.Length - 2)]).ToArray();
        bool tag = shape.Task == WordModelConfig.TagTask;
        var config = new WordModelConfig
        {
            Task = shape.Task, Cell = CellKind.Lstm, Vocabulary = WordVocabulary.FromList(vocabulary, lowercase: false),
            Labels = tag ? LabelSet.Build(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]) : LabelSet.Build(["0", "1"]),
            EmbeddingSize = tag ? 100 : 300, HiddenSize = tag ? 200 : 150, NumLayers = 1, Bidirectional = true,
            Dropout = 0.5f, EmbeddingDropout = 0.5f, WordDropout = tag ? 0.05f : 0.25f, Pooling = PoolingKind.Max, Crf = shape.Crf,
            Characters = tag ? WordVocabulary.FromList([WordVocabulary.Pad, WordVocabulary.Unknown, .. Alphabet.Select(c => c.ToString())], false) : null,
            CharEmbedding = tag ? 25 : 0, CharHidden = tag ? 25 : 0,
        };
        int examples = shape.Batch * 8;
        var settings = new TrainingSettings { Data = "bench", DataSha256 = "", Optimizer = "adam", LearningRate = 1e-3, Clip = 5, Batch = shape.Batch, Seed = seed };
        IWordTask task;
        if (tag)
        {
            var sentences = Enumerable.Range(0, examples).Select(i =>
                new TaggedSentence(Sentence(), Enumerable.Range(0, shape.SeqLen).Select(_ => config.Labels.Name(rng.NextInt(9))).ToArray(), i + 1)).ToList();
            var model = new SequenceTagger(config, new Rng(seed));
            task = new TagTask(model, TaggingData.FromSentences("bench", sentences, config), null, shape.Batch);
        }
        else
        {
            var texts = Enumerable.Range(0, examples).Select(i => new LabeledText(rng.NextInt(2).ToString(), Sentence(), i + 1)).ToList();
            var model = new SequenceClassifier(config, new Rng(seed));
            task = new ClassifyTask(model, ClassificationData.FromExamples("bench", texts, config), null, shape.Batch);
        }
        var optimizer = new Adam(task.TrainableParameters(), 1e-3f);
        _trainer = new WordTaskTrainer(task, optimizer, settings, new TrainingProgress());
        Parameters = task.Model.ParameterCount();
    }

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567";

    private static string Word(Rng rng)
    {
        var sb = new StringBuilder(6);
        for (int i = 0; i < 6; i++) sb.Append(Alphabet[rng.NextInt(Alphabet.Length)]);
        return sb.ToString();
    }

    /// <summary>Words read per step: B·T.</summary>
    public int WordsPerStep => Size.Batch * Size.SeqLen;

    /// <summary>One training step; returns its loss.</summary>
    public float TrainStep() => _trainer.Step().Loss;
}
