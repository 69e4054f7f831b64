using System.Globalization;
using Recurrent.Analysis;
using Recurrent.IO;
using Recurrent.Layers;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent analyze leaky`: what the leak α of a leaky-integrator RNN changes, on a task with a fast and a slow
/// target (<see cref="TwoTimescaleTask"/>): the same model trained with α = 1 fixed (the tanh RNN), a small α fixed,
/// and α learned per unit. Prints each run's test MSE (fast, slow, mean) and the learned α; the figure is the test MSE
/// against step, and next to it (NAME-alpha.svg) the learned α of every unit, sorted.
/// </summary>
internal static class AnalyzeLeakyCommand
{
    public const string Summary = "leaky-integrator RNN on a two-time-scale task: α = 1, small α fixed, α learned per unit";

    private const string Usage = """
        usage: recurrent analyze leaky [options]
          --hidden N       hidden units (default 32)
          --steps N        Adam steps per run, fresh sequences each step (default 2000)
          --seq-len T  --batch B   sequence length and batch (default 250, 32)
          --lr LR          Adam learning rate, decayed linearly to a tenth (default 0.01; gradient norm clipped to 1)
          --delay D        the fast target is the input D steps back (default 2)
          --tau N          the slow target averages the input over about N steps (default 50)
          --small A        the small fixed α (default 0.02)
          --initial A      where the learned α starts, every unit (default 0.5)
          --seed S  --threads N  --json
          --out FILE.svg   test MSE against step (default leaky.svg); the learned α per unit goes next to it,
                           FILE-alpha.svg
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        var settings = new LeakyTimescales.Settings
        {
            Hidden = args.Int("hidden", 32, 1, 4096),
            Steps = args.Int("steps", 2000, 1, 1_000_000),
            SeqLen = args.Int("seq-len", 250, 1, 100_000),
            Batch = args.Int("batch", 32, 1, 4096),
            LearningRate = (float)args.Double("lr", 1e-2, double.Epsilon, 10),
            Task = new TwoTimescaleTask(args.Int("delay", 2, 0, 1000), args.Double("tau", 50, 1, 100_000)),
        };
        settings = settings with { EvalEvery = Math.Max(1, settings.Steps / 30) };
        var small = ParseLeak(args, "small", 0.02, learned: false);
        var initial = ParseLeak(args, "initial", 0.5, learned: true);
        var options = AnalysisOptions.Read(args, "leaky.svg");

        Leak[] leaks = [Leak.Fixed(1f), small, initial];
        string[] names = ["α = 1 (tanh RNN)", $"α = {F(small.Alpha)} fixed", $"α learned (from {F(initial.Alpha)})"];
        var runs = new LeakyTimescales.Run[leaks.Length];
        for (int i = 0; i < leaks.Length; i++)
        {
            AnalysisOptions.Progress(stderr, $"run {i + 1}/{leaks.Length}: {names[i]}");
            runs[i] = LeakyTimescales.Train(settings, leaks[i], (ulong)options.Seed, line => AnalysisOptions.Progress(stderr, "  " + line));
        }
        var learned = runs[^1].Alpha;
        double tau = settings.Task.SlowTau;
        int slowUnits = LeakyTimescales.SlowUnits(learned, tau), fastUnits = learned.Length - slowUnits;

        var table = new List<string> { $"{"run",-26} {"test MSE",9} {"fast MSE",9} {"slow MSE",9} {"seconds",8}" };
        for (int i = 0; i < runs.Length; i++)
            table.Add($"{names[i],-26} {runs[i].TestLoss,9:G3} {runs[i].FastLoss,9:G3} {runs[i].SlowLoss,9:G3} {runs[i].Seconds,8:F1}");
        table.Add($"(predicting 0 scores about 1; fast = input {settings.Task.Delay} steps back, slow = its average over ~{F(tau)} steps)");
        table.Add($"learned α, sorted: min {F(learned[0])}, median {F(learned[learned.Length / 2])}, max {F(learned[^1])}; " +
                  $"{slowUnits} of {learned.Length} units slow (α < √(1/τ) = {F(Math.Sqrt(1 / tau))}), {fastUnits} fast");

        string alphaOut = AlphaFigurePath(options.Out);
        AtomicFile.WriteAllText(alphaOut, LineChart.Render($"learned α per unit, sorted (τ = {F(tau)} steps)", "unit (sorted by α)", "α",
            [new LineChart.Series("learned α", LineChart.Color(2), learned.Select((a, k) => ((double)(k + 1), (double)a)).ToList())],
            logY: true, references: AlphaReferences(small.Alpha, tau)));
        string figure = LineChart.Render($"two time scales (delay {settings.Task.Delay}, τ = {F(tau)}): test MSE", "step", "test MSE (mean of fast and slow)",
            runs.Select((r, i) => new LineChart.Series(names[i], LineChart.Color(i), r.Curve.Select(p => ((double)p.Step, p.Loss)).ToList())).ToList(),
            logY: true, references: [new("predict 0", 1)]);
        table.Add($"wrote {alphaOut}");

        options.Finish(stdout, table, w =>
        {
            w.WriteStartObject("task");
            w.WriteNumber("delay", settings.Task.Delay);
            w.WriteNumber("slow_tau", tau);
            w.WriteEndObject();
            w.WriteNumber("hidden", settings.Hidden);
            w.WriteNumber("steps", settings.Steps);
            w.WriteNumber("seq_len", settings.SeqLen);
            w.WriteNumber("batch", settings.Batch);
            w.WriteNumber("seed", options.Seed);
            w.WriteStartArray("runs");
            for (int i = 0; i < runs.Length; i++)
            {
                var r = runs[i];
                w.WriteStartObject();
                w.WriteString("name", names[i]);
                w.WriteNumber("alpha", r.Leak.Alpha);
                w.WriteBoolean("learned", r.Leak.Learned);
                w.WriteNumber("test_loss", r.TestLoss);
                w.WriteNumber("fast_loss", r.FastLoss);
                w.WriteNumber("slow_loss", r.SlowLoss);
                w.WriteNumber("seconds", Math.Round(r.Seconds, 2));
                w.WriteStartArray("curve");
                foreach (var (step, loss) in r.Curve)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(step);
                    w.WriteNumberValue(loss);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("learned_alpha");
            foreach (float a in learned) w.WriteNumberValue(a);
            w.WriteEndArray();
            w.WriteNumber("slow_units", slowUnits);
            w.WriteNumber("fast_units", fastUnits);
            w.WriteString("figure", options.Out);
            w.WriteString("alpha_figure", alphaOut);
        }, figure);
        return 0;
    }

    /// <summary>Lines at α = 1, the small fixed α and 1/τ (one line when the last two coincide, as with the defaults).</summary>
    private static List<LineChart.ReferenceLine> AlphaReferences(float small, double tau) =>
        Math.Abs(small - 1 / tau) < 1e-6 * small
            ? [new("α = 1", 1), new($"fixed α = 1/τ = {F(small)}", small)]
            : [new("α = 1", 1), new($"fixed α = {F(small)}", small), new($"1/τ = {F(1 / tau)}", 1 / tau)];

    /// <summary>NAME.svg → NAME-alpha.svg beside it (any other name gets "-alpha.svg" appended).</summary>
    internal static string AlphaFigurePath(string output) =>
        output.EndsWith(".svg", StringComparison.OrdinalIgnoreCase) ? output[..^4] + "-alpha.svg" : output + "-alpha.svg";

    private static Leak ParseLeak(CliArgs args, string name, double fallback, bool learned)
    {
        double alpha = args.Double(name, fallback, double.Epsilon, learned ? 0.999999 : 1);
        return learned ? Leak.Learn((float)alpha) : Leak.Fixed((float)alpha);
    }

    private static string F(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
}
