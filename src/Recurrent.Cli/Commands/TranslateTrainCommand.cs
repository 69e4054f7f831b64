using Recurrent.Data;
using Recurrent.Models;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;
using static Recurrent.Cli.Commands.TrainCommand;

namespace Recurrent.Cli.Commands;

/// <summary>`recurrent train --task translate`: an encoder–decoder with attention from `source<TAB>target` files.</summary>
internal sealed class TranslateTrainCommand : TaskTrainSetup
{
    public static readonly TranslateTrainCommand Instance = new();

    public override string Task => Seq2SeqConfig.TranslateTask;
    public override double DefaultSeconds => 1800;
    public override string Metric => TranslateTask.Metric;
    public override string Usage => $"""
        usage: recurrent train --task translate --train FILE --dev FILE [options]
          --train FILE  --dev FILE   source<TAB>target lines (lines that share a source are its references in BLEU);
                                 text is lowercased and punctuation split from words (see docs/tasks.md); sources of
                                 more than {ParallelCorpus.MaxSourceTokens} tokens are an error
          --cell gru|lstm|rnn|rnn-relu  (default gru)
          --hidden N             decoder state and encoder output size; each encoder direction has N/2 (default 256)
          --layers N             encoder layers (default 1)
          --embedding N          word vector size, both languages (default 256)
          --attention bahdanau|luong-dot|luong-general|luong-concat|none   (default bahdanau)
          --dropout P            on the embeddings and before the output layer (default 0.2)
          --teacher-forcing R    probability of reading the gold previous word; else the model's own guess (default 1)
          --beam N               beam width for dev BLEU, eval and predict (default 5; 1 = greedy)
          --min-count N          words seen fewer times in --train read as <unk> (default 2)
          --batch B  --optimizer adam|adamw|rmsprop|adagrad|sgd  --lr LR  --clip NORM  --clip-value V
                                 (default 64, adam 1e-3, clip 5)
        {TaskTrainCommand.ScheduleUsage}
          --steps N | --epochs N | --time 30m   totals for the model (default --time 30m)
          --eval-every N  --checkpoint-every N  --log-every N   (default: evaluate and checkpoint once an epoch)
          --out DIR  --resume DIR  --force  --seed S  --threads N  --json
        """;

    public override string[] FixedFlags { get; } =
        ["cell", "hidden", "layers", "embedding", "attention", "dropout", "teacher-forcing", "beam", "min-count",
         "batch", .. TaskTrainCommand.OptimizationFlags, "seed"];

    public override TrainingSettings? SavedSettings(string dir) => Checkpoint.LoadSeq2SeqConfig(dir).Training;

    public override IWordTask FromCheckpoint(string dir, TrainingSettings settings) =>
        Build(Checkpoint.LoadSeq2SeqConfig(dir).Model, settings, ParallelCorpus.Read(settings.Data));

    public override (IWordTask Task, TrainingSettings Settings) FromFlags(CliArgs args, string train, string? dev, TextWriter stdout, bool json)
    {
        var cell = CharLanguageModelConfig.ParseCell(args.Choice("cell", "gru", CharLanguageModelConfig.CellNames));
        int hidden = args.Int("hidden", 256, 2, 1 << 16);
        int layers = args.Int("layers", 1, 1, 64);
        int embedding = args.Int("embedding", 256, 1, 1 << 16);
        var attention = Seq2SeqConfig.ParseAttention(args.Choice("attention", "bahdanau", Seq2SeqConfig.AttentionNames));
        double dropout = args.Double("dropout", 0.2, 0, 0.99);
        double teacherForcing = args.Double("teacher-forcing", 1, 0, 1);
        int beam = args.Int("beam", 5, 1, 1000);
        int minCount = args.Int("min-count", 2, 1);
        var settings = TaskTrainCommand.SharedSettings(args, train, dev, defaultBatch: 64);
        args.RejectUnknown(); // every flag is known before the data is read

        var corpus = ParallelCorpus.Read(train);
        var config = new Seq2SeqConfig
        {
            Cell = cell,
            SourceVocabulary = WordVocabulary.Build(corpus.Pairs.SelectMany(p => p.Source), minCount, lowercase: false),
            TargetVocabulary = WordVocabulary.Build(corpus.Pairs.SelectMany(p => p.Target), minCount, lowercase: false, sentenceMarkers: true),
            EmbeddingSize = embedding,
            HiddenSize = hidden,
            NumLayers = layers,
            Attention = attention,
            Dropout = (float)dropout,
            TeacherForcing = (float)teacherForcing,
            Beam = beam,
        };
        config.Validate();
        settings = TaskTrainCommand.OncePerEpoch(settings, Task, corpus.Pairs.Count);
        return (Build(config, settings, corpus), settings);
    }

    /// <summary>The model and its task over the training corpus and the dev file.</summary>
    private static TranslateTask Build(Seq2SeqConfig config, TrainingSettings settings, ParallelCorpus corpus)
    {
        var model = new Seq2SeqModel(config, new Rng(settings.Seed));
        var train = TranslationData.FromCorpus(settings.Data, corpus, config);
        var dev = settings.Dev == null ? null : TranslationData.Load(settings.Dev, config);
        return new TranslateTask(model, train, dev, settings.Batch);
    }

    public override string Describe(IWordTask task)
    {
        var c = ((Seq2SeqModel)task.Model).Config;
        string cell = CharLanguageModelConfig.CellName(c.Cell);
        return $"translate: bidirectional {cell} encoder {c.NumLayers}×{c.EncoderHidden}, {cell} decoder {c.HiddenSize}, " +
               $"attention {Seq2SeqConfig.AttentionName(c.Attention)}, embedding {c.EmbeddingSize}, dropout {c.Dropout:G3}, " +
               $"teacher forcing {c.TeacherForcing:G3}, beam {c.Beam}";
    }

    public override string DescribeData(IWordTask task, TrainingSettings settings)
    {
        var c = ((Seq2SeqModel)task.Model).Config;
        return $"data '{settings.Data}': {task.TrainLengths.Length:N0} pairs, {task.TrainLengths.Sum(l => (long)l):N0} source words; " +
               $"vocabulary {c.SourceVocabulary.Count:N0} source, {c.TargetVocabulary.Count:N0} target";
    }
}
