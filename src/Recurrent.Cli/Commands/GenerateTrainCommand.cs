using Recurrent.Data;
using Recurrent.Models;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>`recurrent train --task generate`: a text generator conditioned on a label or a vector (one-to-many).</summary>
internal sealed class GenerateTrainCommand : TaskTrainSetup
{
    public static readonly GenerateTrainCommand Instance = new();

    public override string Task => GeneratorConfig.GenerateTask;
    public override double DefaultSeconds => 600;
    public override string? Metric => null;
    public override string Usage => $"""
        usage: recurrent train --task generate --train FILE [--dev FILE] [options]
          --train FILE  --dev FILE   condition<TAB>text lines, text already tokenized (split on spaces); the condition is
                                 a label (one token: "pos", "1") or a vector (two or more numbers separated by spaces)
          --cell lstm|gru|rnn|rnn-relu  --hidden N  --layers N   (default lstm, 256, 1)
          --embedding N          word (and label) vector size (default 128)
          --dropout P            on the word vectors and before the output layer (default 0.2)
          --min-count N          words seen fewer times in --train read as <unk> (default 2)
          --batch B  --optimizer adam|adamw|rmsprop|adagrad|sgd  --lr LR  --clip NORM  --clip-value V
                                 (default 64, adam 1e-3, clip 5)
        {TaskTrainCommand.ScheduleUsage}
          --steps N | --epochs N | --time 10m   totals for the model (default --time 10m)
          --eval-every N  --checkpoint-every N  --log-every N   (default: evaluate and checkpoint once an epoch)
          --out DIR  --resume DIR  --force  --seed S  --threads N  --json
        then: recurrent sample --model DIR --condition LABEL|"v1 v2 …" [--count N --temperature T --length N --seed S]
        """;

    public override string[] FixedFlags { get; } =
        ["cell", "hidden", "layers", "embedding", "dropout", "min-count", "batch", .. TaskTrainCommand.OptimizationFlags, "seed"];

    public override TrainingSettings? SavedSettings(string dir) => Checkpoint.LoadGeneratorConfig(dir).Training;

    public override IWordTask FromCheckpoint(string dir, TrainingSettings settings) =>
        Build(Checkpoint.LoadGeneratorConfig(dir).Model, settings, ConditionedText.Read(settings.Data));

    public override (IWordTask Task, TrainingSettings Settings) FromFlags(CliArgs args, string train, string? dev, TextWriter stdout, bool json)
    {
        var cell = CharLanguageModelConfig.ParseCell(args.Choice("cell", "lstm", CharLanguageModelConfig.CellNames));
        int hidden = args.Int("hidden", 256, 1, 1 << 16);
        int layers = args.Int("layers", 1, 1, 64);
        int embedding = args.Int("embedding", 128, 1, 1 << 16);
        double dropout = args.Double("dropout", 0.2, 0, 0.99);
        int minCount = args.Int("min-count", 2, 1);
        var settings = TaskTrainCommand.SharedSettings(args, train, dev, defaultBatch: 64);
        args.RejectUnknown(); // every flag is known before the data is read

        var corpus = ConditionedText.Read(train);
        var config = new GeneratorConfig
        {
            Cell = cell,
            Vocabulary = WordVocabulary.Build(corpus.Lines.SelectMany(l => l.Words), minCount, lowercase: false, sentenceMarkers: true),
            Labels = corpus.IsVector ? null : LabelSet.Build(corpus.Lines.Select(l => l.Label!)),
            VectorSize = corpus.VectorSize,
            EmbeddingSize = embedding,
            HiddenSize = hidden,
            NumLayers = layers,
            Dropout = (float)dropout,
        };
        config.Validate();
        settings = TaskTrainCommand.OncePerEpoch(settings, Task, corpus.Lines.Count);
        return (Build(config, settings, corpus), settings);
    }

    private static GenerateTask Build(GeneratorConfig config, TrainingSettings settings, ConditionedCorpus corpus)
    {
        var model = new ConditionedGenerator(config, new Rng(settings.Seed));
        var train = GenerationData.FromCorpus(settings.Data, corpus, config);
        var dev = settings.Dev == null ? null : GenerationData.Load(settings.Dev, config);
        return new GenerateTask(model, train, dev, settings.Batch);
    }

    public override string Describe(IWordTask task)
    {
        var c = ((ConditionedGenerator)task.Model).Config;
        string condition = c.Labels != null ? $"{c.Labels.Count} labels" : $"vectors of {c.VectorSize}";
        return $"generate: {CharLanguageModelConfig.CellName(c.Cell)} {c.NumLayers}×{c.HiddenSize} conditioned on {condition}, " +
               $"embedding {c.EmbeddingSize}, dropout {c.Dropout:G3}";
    }

    public override string DescribeData(IWordTask task, TrainingSettings settings)
    {
        var c = ((ConditionedGenerator)task.Model).Config;
        return $"data '{settings.Data}': {task.TrainLengths.Length:N0} texts, {task.TrainLengths.Sum(l => (long)l):N0} words; " +
               $"vocabulary {c.Vocabulary.Count:N0}";
    }
}
