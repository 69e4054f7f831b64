using System.Globalization;
using Recurrent.Analysis;
using Recurrent.Data;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent analyze residual`: LSTM char-LMs of each depth in --layers, with and without residual connections, the
/// same steps each on tiny-shakespeare (<see cref="ResidualDepth"/>); a table, the validation curves as one SVG (a
/// colour per depth, dashed = no residual) and, with --json, every run's numbers.
/// </summary>
internal static class AnalyzeResidualCommand
{
    public const string Summary = "skip connections: deep LSTM char-LMs with and without residual, validation curves";

    private const string Usage = """
        usage: recurrent analyze residual [options]
          --layers 4,8           depths to compare, each with and without residual (default 4,8)
          --hidden H             hidden size of every layer (default 128)
          --embedding E          embedding size, 0 = one-hot (default 64)
          --seq-len T  --batch B truncated-BPTT length and parallel streams (default 50, 32)
          --steps N              optimizer steps per run, the same for all (default 400)
          --eval-every N         validation every N steps (default 25)
          --val-chars N          characters of the held-out text each validation reads (default 10000)
          --lr LR                Adam's learning rate (default 2e-3)
          --data FILE            training text (default data/tinyshakespeare.txt; its last tenth validates)
          --seed S  --threads N  --out FILE (default residual.svg)  --json
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        int[] depths = ParseDepths(args.String("layers", "4,8"));
        int hidden = args.Int("hidden", 128, 1, 1 << 14);
        int embedding = args.Int("embedding", 64, 0, 1 << 14);
        int seqLen = args.Int("seq-len", 50, 1, 1 << 16);
        int batch = args.Int("batch", 32, 1, 1 << 14);
        int steps = args.Int("steps", 400, 1);
        int evalEvery = args.Int("eval-every", 25, 1);
        int valChars = args.Int("val-chars", 10000, 2);
        double lr = args.Double("lr", 2e-3, double.Epsilon, 10);
        string data = args.String("data") ?? TrainCommand.FindDefaultData();
        var options = AnalysisOptions.Read(args, "residual.svg");

        var corpus = CharCorpus.Load(data, 0.1);
        if (corpus.TrainLength < batch + 1)
            throw new CliException($"the training text of {corpus.Source} has {corpus.TrainLength} characters, too short for --batch {batch}");
        var settings = new ResidualDepthSettings(hidden, embedding, seqLen, batch, steps, evalEvery, valChars, lr, Seed: (ulong)options.Seed);

        double unigram = ResidualDepth.UnigramLoss(corpus, valChars);
        var runs = new List<ResidualDepthRun>();
        foreach (int layers in depths)
            foreach (bool residual in new[] { false, true })
                runs.Add(ResidualDepth.Train(corpus, layers, residual, settings, run =>
                    AnalysisOptions.Progress(stderr, $"{Name(run)}: step {run.Curve[^1].Step}/{steps}, val loss {run.Curve[^1].ValLoss:F4}, " +
                                                     $"{run.Seconds:F1}s")));

        var table = new List<string> { $"{"layers",6}  {"residual",8}  {"best val",8}  {"final val",9}  {"steps",5}  {"seconds",7}" };
        table.AddRange(runs.Select(r =>
            $"{r.Layers,6}  {(r.Residual ? "yes" : "no"),8}  {r.BestValLoss,8:F4}  {r.FinalValLoss,9:F4}  {r.Steps,5}  {r.Seconds,7:F1}"));
        table.Add($"validation loss in nats/char over the first {Math.Min(valChars, corpus.Validation.Length):N0} held-out characters " +
                  $"(unigram frequencies: {unigram:F4}); seconds = training steps only");

        var series = runs.Select(r => new LineChart.Series(Name(r), LineChart.Color(Array.IndexOf(depths, r.Layers)),
            r.Curve.Select(p => ((double)p.Step, p.ValLoss)).ToList(), Dashed: !r.Residual)).ToList();
        string figure = LineChart.Render($"LSTM char-LM {hidden} wide: residual connections by depth", "step",
            "validation loss (nats/char)", series, references: [new LineChart.ReferenceLine("unigram frequencies", unigram)]);

        options.Finish(stdout, table, w =>
        {
            w.WriteNumber("unigram_val_loss", unigram);
            w.WriteStartArray("runs");
            foreach (var r in runs)
            {
                w.WriteStartObject();
                w.WriteNumber("layers", r.Layers);
                w.WriteBoolean("residual", r.Residual);
                TrainCommand.Number(w, "best_val_loss", r.BestValLoss); // null if a run diverged
                TrainCommand.Number(w, "final_val_loss", r.FinalValLoss);
                w.WriteNumber("steps", r.Steps);
                w.WriteNumber("seconds", Math.Round(r.Seconds, 3));
                w.WriteNumber("parameters", r.Parameters);
                w.WriteStartArray("curve");
                foreach (var (step, loss) in r.Curve)
                {
                    w.WriteStartObject();
                    w.WriteNumber("step", step);
                    TrainCommand.Number(w, "val_loss", loss);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }, figure);
        return 0;
    }

    private static string Name(ResidualDepthRun r) => $"{r.Layers} layers{(r.Residual ? ", residual" : "")}";

    /// <summary>"4,8" → [4, 8]: distinct depths of 1 to 64 layers.</summary>
    private static int[] ParseDepths(string text)
    {
        var depths = new List<int>();
        foreach (string part in text.Split(','))
        {
            if (!int.TryParse(part.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int layers) || layers < 1 || layers > 64)
                throw CliArgs.Usage($"--layers must be a comma-separated list of depths from 1 to 64 (got '{text}')");
            if (depths.Contains(layers)) throw CliArgs.Usage($"--layers names depth {layers} twice (got '{text}')");
            depths.Add(layers);
        }
        return depths.ToArray();
    }
}
