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
internal static class WordTrainCommand
{
    public const string Usage = """
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
          --steps N | --epochs N | --time 10m   totals for the model (default --time 10m classify, 20m tag)
          --eval-every N  --checkpoint-every N  --log-every N   (default: evaluate and checkpoint once an epoch)
          --out DIR  --resume DIR  --force  --seed S  --threads N  --json
        """;

    /// <summary>Flags that define the model, its data or its optimization: fixed once a model exists.</summary>
    private static readonly string[] FixedFlags =
        ["cell", "hidden", "layers", "bidirectional", "embedding", "embeddings", "freeze-embeddings", "min-count", "lowercase",
         "zero-digits", "dropout", "embedding-dropout", "word-dropout", "pooling", "crf", "char-embedding", "char-hidden",
         "batch", "optimizer", "lr", "clip", "clip-value", "seed"];

    public static int Run(string task, CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        bool json = args.Flag("json");
        bool force = args.Flag("force");
        string? resume = args.String("resume");
        string? outArg = args.String("out");
        string? trainArg = args.String("train"), devArg = args.String("dev");
        if (args.OptionalInt("threads", 1, 1024) is { } threads) Gemm.Threads = threads;
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        bool tag = task == WordModelConfig.TagTask;

        var (limitsGiven, steps, epochs, seconds) = Limits(args);

        WordModelConfig config;
        TrainingSettings settings;
        string outDir;
        WordModel model;
        IWordTask wordTask;
        Recurrent.Optimizers.Optimizer optimizer;
        TrainingProgress progress;
        WordData data;
        if (resume == null)
        {
            string train = trainArg ?? throw CliArgs.Usage("--train FILE is required (the training data)");
            (config, settings, data) = FromFlags(task, args, train, devArg);
            if (!limitsGiven) seconds = tag ? 1200 : 600;
            settings = settings with { MaxSteps = steps, MaxEpochs = epochs, MaxSeconds = seconds };
            outDir = outArg ?? Path.Combine("runs", task + "-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
            (model, wordTask) = Build(config, settings, data);
            if (settings.Embeddings is { } vectors)
            {
                int found = PretrainedVectors.LoadInto(vectors, config.Vocabulary, model.Embedding.Weight.Value);
                if (!json) stdout.WriteLine($"embeddings '{vectors}': {found:N0} of {config.Vocabulary.Count:N0} words found");
            }
            optimizer = Trainer.CreateOptimizer(settings.Optimizer, wordTask.TrainableParameters(), (float)settings.LearningRate);
            progress = new TrainingProgress { SampleRngState = new Rng(settings.Seed ^ 0x5A3B1E_C0FFEEUL).State };
        }
        else
        {
            RejectFixedFlags(args, FixedFlags, resume);
            (config, var saved) = Checkpoint.LoadWordConfig(resume);
            settings = Resumed(args, resume, saved, Intervals, (limitsGiven, steps, epochs, seconds));
            string train = trainArg ?? settings.Data;
            ModelDirectory.RequireSameData(train, settings.DataSha256, resume, "--train");
            string? dev = devArg ?? settings.Dev;
            if (dev != null && devArg == null) ModelDirectory.RequireSameData(dev, settings.DevSha256, resume, "--dev");
            settings = settings with
            {
                Data = Path.GetFullPath(train),
                Dev = dev == null ? null : Path.GetFullPath(dev),
                DevSha256 = dev == null ? null : ModelDirectory.Sha256(dev),
            };
            data = WordData.Read(task, train, dev);
            (model, wordTask) = Build(config, settings, data);
            optimizer = Trainer.CreateOptimizer(settings.Optimizer, wordTask.TrainableParameters(), (float)settings.LearningRate);
            progress = Checkpoint.LoadTrainingState(resume, model, optimizer, []);
            outDir = outArg ?? resume;
        }

        // Everything is checked: only now is anything written.
        if (resume == null) ModelDirectory.PrepareNew(outDir, force);
        else ModelDirectory.PrepareResume(resume, outDir, progress.Step, force);
        var trainer = new WordTaskTrainer(wordTask, optimizer, settings, progress);
        Checkpoint.Save(outDir, trainer); // loadable from the first moment
        if (!json)
        {
            stdout.WriteLine($"{Describe(config)}, {model.ParameterCount():N0} parameters");
            stdout.WriteLine($"data '{settings.Data}': {wordTask.TrainLengths.Length:N0} {(tag ? "sentences" : "examples")}, " +
                             $"{wordTask.TrainLengths.Sum(l => (long)l):N0} words; vocabulary {config.Vocabulary.Count:N0}, {config.Labels.Count} {(tag ? "tags" : "labels")}" +
                             (settings.Dev != null ? $"; dev '{settings.Dev}'" : "; no --dev: no best/ model"));
            stdout.WriteLine($"batch {settings.Batch}, {trainer.StepsPerEpoch:N0} steps/epoch, {settings.Optimizer} lr {settings.LearningRate:G4}" +
                             $"{(settings.Clip > 0 ? $", clip {settings.Clip:G4}" : "")}; " +
                             $"{(resume != null ? $"resuming at step {progress.Step}, " : "")}until {LimitsText(settings)} → {outDir}");
        }

        var result = TrainingConsole.Run(trainer, outDir, stdout, stderr, json);
        var v = result.Validation;
        if (json)
        {
            WriteJson(stdout, w =>
            {
                w.WriteString("task", task);
                WriteResult(w, result, outDir);
                string metric = v?.MetricName ?? (tag ? "dev_f1" : ClassifyTask.Metric);
                Number(w, "dev_loss", v?.Loss);
                Number(w, metric, v?.Metric);
                if (tag && metric != "dev_f1") Number(w, "dev_f1", null); // tags that are not BIO have no entity F1
                Number(w, "best_" + metric, progress.BestMetric);
                w.WriteNumber("best_step", progress.BestStep);
            });
        }
        else
        {
            if (result.StepsThisRun == 0)
                stdout.WriteLine($"nothing to train: the model is already at its limit ({LimitsText(settings)}); pass a larger --steps, --epochs or --time");
            string dev = v is null ? "" : $", dev loss {v.Loss:F4}" + (v.MetricName is { } n ? $", {n.Replace('_', ' ')} {v.Metric:F4}" : "") +
                                         (progress.BestMetric is { } best ? $" (best {best:F4} at step {progress.BestStep}, in best/)" : "");
            stdout.WriteLine($"done: step {result.Steps}, epoch {result.Epochs:F2}, train loss {result.TrainLoss:F4}{dev}, " +
                             $"{result.TokensPerSecond:N0} words/s, {FormatDuration(result.Seconds)} → {outDir}");
            stdout.WriteLine($"score it: recurrent eval --model {outDir} --data FILE; use it: recurrent predict --model {outDir}");
        }
        return 0;
    }

    /// <summary>The training file as read (labelled sentences for classify, tagged ones for tag) and the dev file's path.</summary>
    private sealed record WordData(string TrainPath, List<LabeledText>? Examples, List<TaggedSentence>? Sentences, string? Dev)
    {
        public static WordData Read(string task, string train, string? dev) => task == WordModelConfig.TagTask
            ? new(train, null, ConllReader.Read(train), dev)
            : new(train, LabeledTextReader.Read(train), null, dev);
    }

    /// <summary>The model and its task over the training and dev data (dev labels must be ones the model knows).</summary>
    private static (WordModel, IWordTask) Build(WordModelConfig config, TrainingSettings settings, WordData data)
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

    private static (WordModelConfig, TrainingSettings, WordData) FromFlags(string task, CliArgs args, string train, string? dev)
    {
        bool tag = task == WordModelConfig.TagTask;
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
        int batch = args.Int("batch", 32, 1, 1 << 16);
        string optimizer = args.Choice("optimizer", "adam", TrainingSettings.Optimizers);
        double lr = args.Double("lr", optimizer is "adam" or "adamw" ? 1e-3 : TrainingSettings.DefaultLearningRate(optimizer), double.Epsilon, 100);
        double clip = args.Double("clip", 5, 0);
        double clipValue = args.Double("clip-value", 0, 0);
        int seed = args.Int("seed", 1, 0);
        var intervals = Intervals(args, new TrainingSettings { Data = "", DataSha256 = "", Optimizer = optimizer, EvalEvery = -1, CheckpointEvery = -1 });
        args.RejectUnknown(); // every flag is known before the data is read

        var data = WordData.Read(task, train, dev);
        IEnumerable<string> words = tag ? data.Sentences!.SelectMany(s => s.Words) : data.Examples!.SelectMany(e => e.Words);
        var labels = tag ? data.Sentences!.SelectMany(s => s.Tags) : data.Examples!.Select(e => e.Label);
        var config = new WordModelConfig
        {
            Task = task,
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
        int stepsPerEpoch = BucketedBatches.BatchesFor(tag ? data.Sentences!.Count : data.Examples!.Count, batch);
        var settings = intervals with
        {
            Data = Path.GetFullPath(train),
            DataSha256 = ModelDirectory.Sha256(train),
            Dev = dev == null ? null : Path.GetFullPath(dev),
            DevSha256 = dev == null ? null : ModelDirectory.Sha256(dev),
            Embeddings = vectors == null ? null : Path.GetFullPath(vectors),
            Batch = batch,
            Optimizer = optimizer,
            LearningRate = lr,
            Clip = clip,
            ClipValue = clipValue,
            Seed = (ulong)seed,
            // Once an epoch unless told otherwise: dev scores are compared epoch to epoch, as Keras does.
            EvalEvery = intervals.EvalEvery < 0 ? stepsPerEpoch : intervals.EvalEvery,
            CheckpointEvery = intervals.CheckpointEvery < 0 ? stepsPerEpoch : intervals.CheckpointEvery,
        };
        settings.Validate(task);
        return (config, settings, data);
    }

    /// <summary>The schedule flags, which a resumed run may change.</summary>
    private static TrainingSettings Intervals(CliArgs args, TrainingSettings s) => s with
    {
        EvalEvery = args.Int("eval-every", s.EvalEvery, 0),
        CheckpointEvery = args.Int("checkpoint-every", s.CheckpointEvery, 0),
        LogEvery = args.Int("log-every", s.LogEvery, 1),
    };

    private static string Describe(WordModelConfig c) =>
        $"{c.Task}: {(c.Bidirectional ? "bidirectional " : "")}{CharLanguageModelConfig.CellName(c.Cell)} {c.NumLayers}×{c.HiddenSize}, " +
        $"embedding {c.EmbeddingSize}" +
        (c.HasCharFeatures ? $" + characters {c.CharEmbedding}/{c.CharHidden}" : "") +
        (c.Task == WordModelConfig.ClassifyTask ? $", {SequencePooling.Name(c.Pooling)} pooling" : c.Crf ? ", CRF" : ", softmax") +
        $", dropout {c.Dropout:G3}/{c.EmbeddingDropout:G3}, word dropout {c.WordDropout:G3}";
}
