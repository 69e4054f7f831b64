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
        string dir = args.String("model") ?? throw CliArgs.Usage("--model DIR is required (a directory written by 'recurrent train')");
        string output = args.String("out") ?? Path.Combine(dir, "loss.svg");
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
            // Word tasks: the dev metric (a fraction) shares the axis with the losses, which sit in the same range.
            var (config, _) = Checkpoint.LoadWordConfig(dir);
            var metric = log.Where(e => e.Metric is { } m && double.IsFinite(m)).Select(e => ((double)e.Step, e.Metric!.Value)).ToList();
            string metricName = log.LastOrDefault(e => e.MetricName != null)?.MetricName?.Replace('_', ' ') ?? "dev metric";
            string title = $"{task}: {CharLanguageModelConfig.CellName(config.Cell)} {config.NumLayers}×{config.HiddenSize}: loss and {metricName}";
            svg = LossPlot.Render(title, [new("train loss", "#1f77b4", train), new("dev loss", "#d62728", val), new(metricName, "#2ca02c", metric)],
                task == WordModelConfig.TagTask ? "loss (nats/word), fraction" : "loss (nats/sentence), fraction");
        }
        string? parent = Path.GetDirectoryName(Path.GetFullPath(output));
        if (parent != null && !Directory.Exists(parent)) throw new CliException($"the directory of --out '{output}' does not exist");
        AtomicFile.WriteAllText(output, svg);
        stdout.WriteLine($"wrote {output} ({train.Count} train and {val.Count} validation points)");
        return 0;
    }
}
