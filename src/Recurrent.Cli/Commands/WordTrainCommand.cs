using System.Text.Json;
using System.Globalization;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;
using static Recurrent.Cli.Commands.TrainCommand;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent train --task classify|tag`: a sentence classifier or a sequence tagger from a training and a dev file,
/// or (--resume) the model in a directory. Everything is validated — flags, data, output directory — before anything
/// is written.
/// </summary>
internal sealed class WordTrainCommand : TaskTrainSetup
{
    public const string UsageText = $"""
        usage: recurrent train --task classify|tag --train FILE --dev FILE [options]
          --train FILE  --dev FILE   classify: label<TAB>text lines; tag: CoNLL token<TAB>tag lines, blank line between sentences
          --cell lstm|gru|rnn|rnn-relu  --hidden N  --layers N  --bidirectional true|false
                                 (default lstm, 150 (classify) / 200 (tag) per direction, 1 layer, bidirectional)
          --embedding N          word vector size (default 300 classify, 100 tag)
          --embeddings FILE      start the word vectors from a GloVe/word2vec text file (`word v1 … vN`; N = --embedding)
          --freeze-embeddings    keep those vectors fixed
          --min-count N          words seen fewer times in --train read as <unk> (default 2 classify, 1 tag)
          --lowercase            lowercase words for the lookup (default off)
          --zero-digits          read digits as 0 in the lookup (default on for tag)
          --dropout P  --embedding-dropout P  --word-dropout P   (default 0.5, 0.5, 0.25 classify / 0.5, 0.5, 0.05 tag)
          --pooling last|mean|max|attention   classify: how the outputs become one vector (default max)
          --crf                  tag: a linear-chain CRF output layer, Viterbi decoding
          --char-embedding N  --char-hidden N   tag: character-BiLSTM word features (default 25, 25; 0 = off)
          --batch B  --optimizer adam|adamw|rmsprop|adagrad|sgd  --lr LR  --clip NORM  --clip-value V
                                 (default 32, adam 1e-3, clip 5)
        {TaskTrainCommand.ScheduleUsage}
          --steps N | --epochs N | --time 10m   totals for the model (default --time 10m classify, 20m tag)
          --eval-every N  --checkpoint-every N  --log-every N   (default: evaluate and checkpoint once an epoch)
          --out DIR  --resume DIR  --force  --seed S  --threads N  --json
        """;

    private readonly bool _tag;
    private WordTrainCommand(string task) { Task = task; _tag = task == WordModelConfig.TagTask; }
    public static readonly WordTrainCommand Classify = new(WordModelConfig.ClassifyTask), Tag = new(WordModelConfig.TagTask);

    public override string Task { get; }
    public override string Usage => UsageText;
    public override double DefaultSeconds => _tag ? 1200 : 600;
    public override string Metric => _tag ? "dev_f1" : ClassifyTask.Metric;

    public override string[] FixedFlags { get; } =
        ["cell", "hidden", "layers", "bidirectional", "embedding", "embeddings", "freeze-embeddings", "min-count", "lowercase",
         "zero-digits", "dropout", "embedding-dropout", "word-dropout", "pooling", "crf", "char-embedding", "char-hidden",
         "batch", .. TaskTrainCommand.OptimizationFlags, "seed"];

    public override TrainingSettings? SavedSettings(string dir) => Checkpoint.LoadWordConfig(dir).Training;

    public override IWordTask FromCheckpoint(string dir, TrainingSettings settings)
    {
        var (config, _) = Checkpoint.LoadWordConfig(dir);
        return Build(config, settings, WordData.Read(Task, settings.Data, settings.Dev)).Task;
    }

    public override void WriteJson(Utf8JsonWriter w, ValidationResult? v, string metric)
    {
        if (_tag && metric != "dev_f1") Number(w, "dev_f1", null); // tags that are not BIO have no entity F1
    }

    public override string DescribeData(IWordTask task, TrainingSettings settings)
    {
        var config = ((WordModel)task.Model).Config;
        return $"data '{settings.Data}': {task.TrainLengths.Length:N0} {(_tag ? "sentences" : "examples")}, " +
               $"{task.TrainLengths.Sum(l => (long)l):N0} words; vocabulary {config.Vocabulary.Count:N0}, {config.Labels.Count} {(_tag ? "tags" : "labels")}";
    }

    /// <summary>The training file as read (labelled sentences for classify, tagged ones for tag) and the dev file's path.</summary>
    private sealed record WordData(string TrainPath, List<LabeledText>? Examples, List<TaggedSentence>? Sentences, string? Dev)
    {
        public static WordData Read(string task, string train, string? dev) => task == WordModelConfig.TagTask
            ? new(train, null, ConllReader.Read(train), dev)
            : new(train, LabeledTextReader.Read(train), null, dev);
    }

    /// <summary>The model and its task over the training and dev data (dev labels must be ones the model knows).</summary>
    private static (WordModel Model, IWordTask Task) Build(WordModelConfig config, TrainingSettings settings, WordData data)
    {
        var rng = new Rng(settings.Seed);
        if (config.Task == WordModelConfig.ClassifyTask)
        {
            var model = new SequenceClassifier(config, rng);
            var train = ClassificationData.FromExamples(data.TrainPath, data.Examples!, config);
            var dev = data.Dev == null ? null : ClassificationData.Load(data.Dev, config);
            return (model, new ClassifyTask(model, train, dev, settings.Batch));
        }
        var tagger = new SequenceTagger(config, rng);
        var trainTags = TaggingData.FromSentences(data.TrainPath, data.Sentences!, config);
        var devTags = data.Dev == null ? null : TaggingData.Load(data.Dev, config);
        return (tagger, new TagTask(tagger, trainTags, devTags, settings.Batch));
    }

    public override (IWordTask Task, TrainingSettings Settings) FromFlags(CliArgs args, string train, string? dev, TextWriter stdout, bool json)
    {
        bool tag = _tag;
        var cell = CharLanguageModelConfig.ParseCell(args.Choice("cell", "lstm", CharLanguageModelConfig.CellNames));
        int hidden = args.Int("hidden", tag ? 200 : 150, 1, 1 << 16);
        int layers = args.Int("layers", 1, 1, 64);
        bool bidirectional = !args.Has("bidirectional") || args.Flag("bidirectional");
        int embedding = args.Int("embedding", tag ? 100 : 300, 1, 1 << 16);
        string? vectors = args.String("embeddings");
        bool freeze = args.Flag("freeze-embeddings");
        if (freeze && vectors == null) throw CliArgs.Usage("--freeze-embeddings needs --embeddings FILE (the vectors to keep)");
        int minCount = args.Int("min-count", tag ? 1 : 2, 1);
        bool lowercase = args.Flag("lowercase");
        bool zeroDigits = args.Has("zero-digits") ? args.Flag("zero-digits") : tag;
        double dropout = args.Double("dropout", 0.5, 0, 0.99);
        double embeddingDropout = args.Double("embedding-dropout", 0.5, 0, 0.99);
        double wordDropout = args.Double("word-dropout", tag ? 0.05 : 0.25, 0, 0.99);
        var pooling = tag ? PoolingKind.Max : SequencePooling.Parse(args.Choice("pooling", "max", "last", "mean", "max", "attention"));
        bool crf = tag && args.Flag("crf");
        int charEmbedding = tag ? args.Int("char-embedding", 25, 0, 1 << 12) : 0;
        int charHidden = tag ? args.Int("char-hidden", 25, 0, 1 << 12) : 0;
        var settings = TaskTrainCommand.SharedSettings(args, train, dev, defaultBatch: 32) with
        {
            Embeddings = vectors == null ? null : Path.GetFullPath(vectors),
        };
        args.RejectUnknown(); // every flag is known before the data is read

        var data = WordData.Read(Task, train, dev);
        IEnumerable<string> words = tag ? data.Sentences!.SelectMany(s => s.Words) : data.Examples!.SelectMany(e => e.Words);
        var labels = tag ? data.Sentences!.SelectMany(s => s.Tags) : data.Examples!.Select(e => e.Label);
        var config = new WordModelConfig
        {
            Task = Task,
            Cell = cell,
            Vocabulary = WordVocabulary.Build(words, minCount, lowercase, zeroDigits: zeroDigits),
            Labels = LabelSet.Build(labels),
            EmbeddingSize = embedding,
            HiddenSize = hidden,
            NumLayers = layers,
            Bidirectional = bidirectional,
            Dropout = (float)dropout,
            EmbeddingDropout = (float)embeddingDropout,
            WordDropout = (float)wordDropout,
            FreezeEmbeddings = freeze,
            Pooling = pooling,
            Crf = crf,
            Characters = tag && charEmbedding > 0 && charHidden > 0 ? WordVocabulary.Build(TaggingData.CharactersOf(data.Sentences!), 1, false) : null,
            CharEmbedding = charEmbedding,
            CharHidden = charHidden,
        };
        config.Validate();
        settings = TaskTrainCommand.OncePerEpoch(settings, Task, tag ? data.Sentences!.Count : data.Examples!.Count);
        var (model, task) = Build(config, settings, data);
        if (settings.Embeddings is { } file)
        {
            int found = PretrainedVectors.LoadInto(file, config.Vocabulary, model.Embedding.Weight.Value);
            if (!json) stdout.WriteLine($"embeddings '{file}': {found:N0} of {config.Vocabulary.Count:N0} words found");
        }
        return (task, settings);
    }

    public override string Describe(IWordTask task)
    {
        var c = ((WordModel)task.Model).Config;
        return $"{c.Task}: {(c.Bidirectional ? "bidirectional " : "")}{CharLanguageModelConfig.CellName(c.Cell)} {c.NumLayers}×{c.HiddenSize}, " +
               $"embedding {c.EmbeddingSize}" +
               (c.HasCharFeatures ? $" + characters {c.CharEmbedding}/{c.CharHidden}" : "") +
               (c.Task == WordModelConfig.ClassifyTask ? $", {SequencePooling.Name(c.Pooling)} pooling" : c.Crf ? ", CRF" : ", softmax") +
               $", dropout {c.Dropout:G3}/{c.EmbeddingDropout:G3}, word dropout {c.WordDropout:G3}";
    }
}
