using Recurrent.Tasks;
using Recurrent.Analysis;
using Recurrent.IO;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>`recurrent plot`: a model directory's learning curves (train and validation loss against step) as SVG.</summary>
internal static class PlotCommand
{
    public const string Summary = "draw a model's train and validation loss curves (and dev metric) as an SVG";

    private const string Usage = """
        usage: recurrent plot --model DIR [--out FILE.svg]
          --out FILE.svg   where to write the plot (default DIR/loss.svg)
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        string dir = args.RequiredDirectory("model", "a directory written by 'recurrent train'");
        string output = args.OutputFile("out", Path.Combine(dir, "loss.svg"));
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        string task = Checkpoint.ReadTask(dir);
        string logPath = Path.Combine(dir, Checkpoint.LogFile);
        if (!File.Exists(logPath)) throw new CliException($"'{dir}' has no {Checkpoint.LogFile}: nothing to plot");
        var log = TrainLog.Read(logPath);
        var train = log.Where(e => double.IsFinite(e.TrainLoss)).Select(e => ((double)e.Step, e.TrainLoss)).ToList();
        var val = log.Where(e => e.ValLoss is { } v && double.IsFinite(v)).Select(e => ((double)e.Step, e.ValLoss!.Value)).ToList();
        if (train.Count == 0 && val.Count == 0) throw new CliException($"{logPath} has no losses yet: nothing to plot");

        string svg;
        if (task == CharLanguageModelConfig.Task)
        {
            var (config, _) = Checkpoint.LoadConfig(dir);
            string title = $"{CharLanguageModelConfig.CellName(config.Cell)} {config.NumLayers}×{config.HiddenSize} char-LM: loss";
            svg = LossPlot.Render(title, [new("train", "#1f77b4", train), new("validation", "#d62728", val)]);
        }
        else
        {
            // The other tasks: the dev metric shares the axis with the losses, which sit in the same range (BLEU, on
            // 0–100, is drawn divided by 100).
            string? name = log.LastOrDefault(e => e.MetricName != null)?.MetricName;
            double scale = name == TranslateTask.Metric ? 0.01 : 1;
            var metric = log.Where(e => e.Metric is { } m && double.IsFinite(m)).Select(e => ((double)e.Step, e.Metric!.Value * scale)).ToList();
            string metricName = (name?.Replace('_', ' ') ?? "dev metric") + (scale != 1 ? " / 100" : "");
            string title = name == null ? $"{task}: loss" : $"{task}: loss and {metricName}";
            string unit = task switch
            {
                WordModelConfig.TagTask => "nats/word", WordModelConfig.ClassifyTask => "nats/sentence", _ => "nats/token",
            };
            svg = LossPlot.Render(title, [new("train loss", "#1f77b4", train), new("dev loss", "#d62728", val), new(metricName, "#2ca02c", metric)],
                $"loss ({unit}), fraction");
        }
        AtomicFile.WriteAllText(output, svg);
        stdout.WriteLine($"wrote {output} ({train.Count} train and {val.Count} validation points)");
        return 0;
    }
}
