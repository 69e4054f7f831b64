using System.Text.Json;
using Recurrent.Analysis;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent analyze adding`: the IRNN paper's adding problem (Le, Jaitly &amp; Hinton 2015). Trains each cell on fresh
/// batches, measures the MSE on a fixed test set as it goes, and draws the test-MSE curves against the 1/6 baseline
/// of always answering 1. The library does the work (<see cref="AddingProblem"/>, <see cref="AddingRegressor"/>).
/// </summary>
internal static class AnalyzeAddingCommand
{
    public const string Summary = "the adding problem: test MSE of tanh-RNN, IRNN, LSTM (GRU) against the 0.167 baseline";

    private const string Usage = """
        usage: recurrent analyze adding [--cell C[,C...]] [--length T] [--hidden H] [--steps N] [--batch B] [--lr X]
                                        [--drop-at F] [--seed S] [--threads N] [--out FILE.svg] [--json]
          --cell C,...   cells to train: rnn_tanh, irnn, lstm, gru (default rnn_tanh,irnn,lstm)
          --length T     sequence length (default 150); one marker falls in each half
          --hidden H     hidden units (default 64)
          --steps N      training steps (default per cell: irnn 20000, rnn_tanh 2000, lstm and gru 4000)
          --batch B      sequences per step (default 32)
          --lr X         Adam's learning rate (default 1e-2), the gradient norm clipped to 1
          --drop-at F    the learning rate drops to a tenth after this fraction of the steps (default 0.75; 1: never)
          --seed S       seed of the initialisation, the data and the test set (default 1)
          --threads N    GEMM threads (default: the cores)
          --out FILE     the figure (default adding.svg)
          --json         print one JSON object instead of the table
        """;

    /// <summary>Sequences in the fixed test set, and per batch when measuring it.</summary>
    private const int TestCount = 1000, TestBatch = 100;

    /// <summary>
    /// Adam's learning rate unless --lr is given: 1e-2 for every cell. Lower rates only lengthen the plateau at the
    /// baseline (at T = 150 the IRNN at 1e-3 and 5e-3 and the LSTM at 1e-3 were still on it after 6000–20000 steps).
    /// </summary>
    internal const float DefaultLearningRate = 1e-2f;

    /// <summary>
    /// Training steps per cell unless --steps is given. At T = 150 the LSTM and GRU leave the baseline's plateau after
    /// about 2500 steps, the IRNN after about 8000 and then needs a lower rate to settle (the drop at 3/4); the
    /// tanh-RNN never leaves it, and its step is the dearest, so it gets 2000. Measured at T = 150, H = 64, 2 cores
    /// (Xeon family 6 model 207): 2000 tanh-RNN steps 20.4 s, 20000 IRNN steps 35.5 s, 4000 LSTM steps 17.8 s.
    /// </summary>
    internal static int DefaultSteps(string cell) => cell switch { "irnn" => 20_000, "rnn_tanh" => 2000, _ => 4000 };

    /// <summary>The default fraction of the steps after which the learning rate drops to a tenth.</summary>
    internal const double DefaultDropAt = 0.75;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        var cells = Cells(args.String("cell", "rnn_tanh,irnn,lstm"));
        int length = args.Int("length", 150, min: 2, max: 100_000);
        int hidden = args.Int("hidden", 64, min: 1, max: 4096);
        int? stepsOption = args.OptionalInt("steps", min: 0, max: 10_000_000);
        int batch = args.Int("batch", 32, min: 1, max: 100_000);
        double? lr = args.Has("lr") ? args.Double("lr", 0, min: 1e-9, max: 10) : null;
        double dropAt = args.Double("drop-at", DefaultDropAt, min: 0, max: 1);
        var options = AnalysisOptions.Read(args, "adding.svg");

        var problem = new AddingProblem(length);
        var test = problem.TestSet(TestCount, TestBatch, (ulong)options.Seed + 1_000_003);
        var runs = new List<CellRun>();
        foreach (string cell in cells)
        {
            float rate = lr is { } x ? (float)x : DefaultLearningRate;
            int steps = stepsOption ?? DefaultSteps(cell);
            var model = new AddingRegressor(cell, hidden, new Rng((ulong)options.Seed));
            var settings = new AddingTraining(steps, batch, rate, EvalEvery: Math.Max(1, steps / 30), DropAt: dropAt);
            var curve = model.Train(problem, settings, new Rng((ulong)options.Seed + 7919), test,
                (step, mse) => AnalysisOptions.Progress(stderr, $"{cell} T={length}: step {step}/{steps}, test MSE {mse:F4}"));
            runs.Add(new CellRun(cell, rate, steps, curve));
        }

        var table = new List<string> { $"adding problem, T = {length}, H = {hidden}, batch {batch} (baseline MSE {AddingProblem.BaselineMse:F3})",
            $"{"cell",-9} {"steps",7} {"lr",8} {"test MSE",9} {"seconds",8}" };
        table.AddRange(runs.Select(r => $"{r.Cell,-9} {r.Steps,7} {r.Lr,8:G3} {r.Curve.FinalMse,9:F4} {r.Curve.Seconds,8:F1}"));
        // Adam's step does not shrink with a clipped gradient, so a ReLU RNN whose W_hh grows past 1 can overflow on long
        // sequences: say so rather than leave a bare NaN.
        foreach (var r in runs)
            if (r.Curve.Points.FirstOrDefault(p => !double.IsFinite(p.TestMse)) is { Step: > 0 } bad)
                table.Add($"{r.Cell}: the test MSE was not finite from step {bad.Step} on (the weights diverged; a lower --lr keeps them finite)");

        var series = runs.Select((r, i) => new LineChart.Series(r.Cell, LineChart.Color(i),
            r.Curve.Points.Select(p => ((double)p.Step, p.TestMse)).ToList())).ToList();
        string figure = LineChart.Render($"Adding problem, T = {length}: test MSE", "training step", "test MSE", series, logY: true,
            [new LineChart.ReferenceLine("always 1 (1/6)", AddingProblem.BaselineMse)]);

        options.Finish(stdout, table, w =>
        {
            if (runs.Count == 1) WriteRun(w, runs[0], length, hidden, batch, dropAt, withLength: true);
            else
            {
                w.WriteNumber("length", length);
                w.WriteNumber("baseline_mse", AddingProblem.BaselineMse);
                w.WriteStartArray("cells");
                foreach (var run in runs)
                {
                    w.WriteStartObject();
                    WriteRun(w, run, length, hidden, batch, dropAt, withLength: false);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
        }, figure);
        return 0;
    }

    private sealed record CellRun(string Cell, float Lr, int Steps, AddingCurve Curve);

    private static void WriteRun(Utf8JsonWriter w, CellRun run, int length, int hidden, int batch, double dropAt, bool withLength)
    {
        w.WriteString("cell", run.Cell);
        if (withLength)
        {
            w.WriteNumber("length", length);
            w.WriteNumber("baseline_mse", AddingProblem.BaselineMse);
        }
        TrainCommand.Number(w, "test_mse", run.Curve.FinalMse);
        w.WriteNumber("steps", run.Steps);
        w.WriteNumber("hidden", hidden);
        w.WriteNumber("batch", batch);
        w.WriteNumber("lr", run.Lr);
        w.WriteNumber("drop_at", dropAt);
        w.WriteNumber("seconds", Math.Round(run.Curve.Seconds, 2));
        w.WriteStartArray("curve");
        foreach (var (step, mse) in run.Curve.Points)
        {
            w.WriteStartObject();
            w.WriteNumber("step", step);
            TrainCommand.Number(w, "test_mse", mse);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>The --cell list: known names, each once.</summary>
    internal static List<string> Cells(string list)
    {
        var cells = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        if (cells.Count == 0) throw CliArgs.Usage("--cell needs at least one cell");
        foreach (string cell in cells)
            if (!AddingRegressor.CellNames.Contains(cell))
                throw CliArgs.Usage($"--cell: unknown cell '{cell}' (cells: {string.Join(", ", AddingRegressor.CellNames)})");
        if (cells.Distinct().Count() != cells.Count) throw CliArgs.Usage($"--cell names a cell twice ('{list}')");
        return cells;
    }
}
