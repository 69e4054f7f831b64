using System.Text.Json;
using Recurrent.Analysis;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent analyze gradients`: how far back the gradient of a last-step loss reaches. For the tanh-RNN, IRNN, LSTM
/// and GRU on the adding problem: ‖∂L_T/∂h_t‖ against T − t at initialisation and after a short training run, its
/// fitted decay rate per step, norm_ratio_100 and the spectral radius of W_hh; then the exploding case (a ReLU RNN with
/// W_hh = ρ·I, ρ &gt; 1) trained with plain SGD with and without gradient clipping. The library does the work
/// (<see cref="GradientFlow"/>, <see cref="AddingRegressor"/>, the layer's per-step probe).
/// </summary>
internal static class AnalyzeGradientsCommand
{
    public const string Summary = "gradient norm against steps back for tanh-RNN, IRNN, LSTM, GRU (init and trained), exploding case";

    private const string Usage = """
        usage: recurrent analyze gradients [--length T] [--train-length T] [--train-steps N] [--hidden H] [--batch B]
                                           [--scale R] [--explode-steps N] [--seed S] [--threads N] [--out FILE.svg] [--json]
          --length T         length of the adding-problem sequences the norms are measured on; the farthest step back
                             is T − 1 (default 201, at least 101 for norm_ratio_100)
          --train-length T   length of the training run's sequences (default 150, as 'analyze adding')
          --train-steps N    the training run on the adding problem, per cell (default: as 'analyze adding', the IRNN
                             20000 steps, the tanh-RNN 2000, the others 4000; Adam 1e-2, a tenth for the last quarter,
                             gradient norm clipped to 1: the same runs, so the same models, as 'analyze adding')
          --hidden H         hidden units (default 64)
          --batch B          sequences per training step (default 32)
          --scale R          the exploding case's W_hh = R·I, its spectral radius (default 1.1)
          --explode-steps N  SGD steps of the exploding case, with and without clipping (default 20)
          --seed S           seed of the initialisation and the data (default 1)
          --threads N        GEMM threads (default: the cores)
          --out FILE         the figure (default gradients.svg)
          --json             print one JSON object instead of the table
        """;

    /// <summary>How many steps back the norms are drawn, fitted and reported; the ratio reported by name.</summary>
    private const int MaxBack = 200, RatioBack = 100;

    /// <summary>Sequences in the batch the norms are measured on, and in the test set scoring the trained models.</summary>
    private const int ProbeBatch = 100, TestCount = 1000;

    /// <summary>The exploding case's SGD learning rate and clipping norm.</summary>
    private const float ExplodeLr = 1e-2f, ExplodeClip = 1f;

    private sealed record CellResult(string Cell, int TrainSteps, double[] NormsInit, double[] NormsTrained,
        IReadOnlyList<(string Gate, double Radius)> RadiiInit, IReadOnlyList<(string Gate, double Radius)> RadiiTrained,
        double TestMseInit, double TestMseTrained, double Seconds);

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        int length = args.Int("length", MaxBack + 1, min: RatioBack + 1, max: 100_000);
        int trainLength = args.Int("train-length", 150, min: 2, max: 100_000);
        int? trainStepsOption = args.OptionalInt("train-steps", min: 0, max: 10_000_000);
        int hidden = args.Int("hidden", 64, min: 1, max: 4096);
        int batch = args.Int("batch", 32, min: 1, max: 100_000);
        float scale = (float)args.Double("scale", 1.1, min: 1e-3, max: 100);
        int explodeSteps = args.Int("explode-steps", 20, min: 1, max: 100_000);
        var options = AnalysisOptions.Read(args, "gradients.svg");

        // The models train (and are scored) on sequences of trainLength; the norms are read on one batch of length.
        var problem = new AddingProblem(trainLength);
        var test = problem.TestSet(TestCount, ProbeBatch, (ulong)options.Seed + 1_000_003);
        var (probeInput, probeTarget) = new AddingProblem(length).TestSet(ProbeBatch, ProbeBatch, (ulong)options.Seed + 2_000_003)[0];
        var results = new List<CellResult>();
        foreach (string cell in AddingRegressor.CellNames)
        {
            var model = new AddingRegressor(cell, hidden, new Rng((ulong)options.Seed));
            var normsInit = GradientFlow.NormsBack(model, probeInput, probeTarget);
            var radiiInit = GradientFlow.RecurrentSpectralRadii(model.Rnn);
            int trainSteps = trainStepsOption ?? AnalyzeAddingCommand.DefaultSteps(cell);
            var settings = new AddingTraining(trainSteps, batch, AnalyzeAddingCommand.DefaultLearningRate,
                EvalEvery: Math.Max(1, trainSteps), DropAt: AnalyzeAddingCommand.DefaultDropAt);
            var curve = model.Train(problem, settings, new Rng((ulong)options.Seed + 7919), test,
                (step, mse) => AnalysisOptions.Progress(stderr, $"{cell} T={trainLength}: step {step}/{trainSteps}, test MSE {mse:F4}"));
            var normsTrained = GradientFlow.NormsBack(model, probeInput, probeTarget);
            results.Add(new CellResult(cell, trainSteps, normsInit, normsTrained, radiiInit, GradientFlow.RecurrentSpectralRadii(model.Rnn),
                curve.Points[0].TestMse, curve.FinalMse, curve.Seconds));
        }

        // The exploding case: its norms at initialisation, then SGD with and without clipping from the same start.
        var exploding = GradientFlow.ExplodingModel(hidden, scale, (ulong)options.Seed);
        var explodingNorms = GradientFlow.NormsBack(exploding, probeInput, probeTarget);
        var unclipped = GradientFlow.Exploding(problem, hidden, scale, explodeSteps, batch, ExplodeLr, clipNorm: 0, (ulong)options.Seed);
        var clipped = GradientFlow.Exploding(problem, hidden, scale, explodeSteps, batch, ExplodeLr, ExplodeClip, (ulong)options.Seed);
        AnalysisOptions.Progress(stderr, $"exploding case (ρ = {scale}): {Describe(unclipped)} without clipping, {Describe(clipped)} with");

        var table = new List<string>
        {
            $"gradient flow over T = {length} steps, H = {hidden}, at initialisation and trained at T = {trainLength}; n(d) = ‖∂L/∂h_(T−d)‖",
            $"{"cell",-9} {"n(100)/n(0)",12} {"trained",10} {"decay/step",10} {"trained",8} {"ρ(W_hh)",8} {"trained",8} {"test MSE",9} {"steps",6}",
        };
        foreach (var r in results)
            table.Add($"{r.Cell + RadiusBlock(r.RadiiInit),-9} {Ratio(r.NormsInit),12:0.0e+0} {Ratio(r.NormsTrained),10:0.0e+0} " +
                      $"{Decay(r.NormsInit),10:F4} {Decay(r.NormsTrained),8:F4} {GradientFlow.CandidateRadius(r.RadiiInit),8:F3} " +
                      $"{GradientFlow.CandidateRadius(r.RadiiTrained),8:F3} {r.TestMseTrained,9:F4} {r.TrainSteps,6}");
        table.Add($"exploding: relu, W_hh = {scale}·I: n(100)/n(0) = {Ratio(explodingNorms):0.0e+0}, decay/step {Decay(explodingNorms):F4}; " +
                  $"SGD lr {ExplodeLr}: {Describe(unclipped)} without clipping, {Describe(clipped)} with clipping to {ExplodeClip}");

        var series = new List<LineChart.Series>();
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            series.Add(new LineChart.Series(r.Cell + " init", LineChart.Color(i), Relative(r.NormsInit), Dashed: true));
            series.Add(new LineChart.Series(r.Cell + " trained", LineChart.Color(i), Relative(r.NormsTrained)));
        }
        series.Add(new LineChart.Series($"relu W_hh = {scale}·I", LineChart.Color(7), Relative(explodingNorms), Dashed: true));
        string figure = LineChart.Render($"Gradient flow across time (adding problem; trained at T = {trainLength})", "steps back, T − t",
            "‖∂L/∂h_t‖ / ‖∂L/∂h_T‖", series, logY: true);

        options.Finish(stdout, table, w =>
        {
            w.WriteNumber("length", length);
            w.WriteNumber("hidden", hidden);
            w.WriteNumber("train_length", trainLength);
            w.WriteStartArray("cells");
            foreach (var r in results) WriteCell(w, r);
            w.WriteEndArray();
            w.WriteStartObject("exploding");
            w.WriteString("cell", "irnn");
            w.WriteNumber("spectral_radius", scale);
            TrainCommand.Number(w, "norm_ratio_100", Ratio(explodingNorms));
            TrainCommand.Number(w, "decay_per_step", Decay(explodingNorms));
            w.WriteNumber("lr", ExplodeLr);
            w.WriteNumber("clip_norm", ExplodeClip);
            WriteExploding(w, "without_clipping", unclipped);
            WriteExploding(w, "with_clipping", clipped);
            w.WriteEndObject();
        }, figure);
        return 0;
    }

    private static double Ratio(double[] norms) => GradientFlow.Ratio(norms, RatioBack);
    private static double Decay(double[] norms) => GradientFlow.DecayPerStep(norms, MaxBack);

    /// <summary>Which W_hh block the table's radius is, for the gated cells.</summary>
    private static string RadiusBlock(IReadOnlyList<(string Gate, double Radius)> radii) =>
        radii.Count == 1 ? "" : $"({radii.First(r => r.Gate is "g" or "n").Gate})";

    /// <summary>n(d)/n(0) for d = 0 … min(MaxBack, T − 1), as (d, value) points.</summary>
    private static List<(double, double)> Relative(double[] norms) =>
        Enumerable.Range(0, Math.Min(MaxBack + 1, norms.Length)).Select(d => ((double)d, norms[d] / norms[0])).ToList();

    private static string Describe(List<GradientFlow.ExplodingStep> run)
    {
        int bad = run.FindIndex(s => !double.IsFinite(s.Loss) || !double.IsFinite(s.GradientNorm));
        return bad < 0
            ? $"finite for {run.Count} steps (last loss {run[^1].Loss:G3}, max gradient norm {run.Max(s => s.GradientNorm):G3})"
            : $"non-finite at step {run[bad].Step}";
    }

    private static void WriteCell(Utf8JsonWriter w, CellResult r)
    {
        w.WriteStartObject();
        w.WriteString("cell", r.Cell);
        TrainCommand.Number(w, "norm_ratio_100_init", Ratio(r.NormsInit));
        TrainCommand.Number(w, "norm_ratio_100_trained", Ratio(r.NormsTrained));
        TrainCommand.Number(w, "decay_per_step_init", Decay(r.NormsInit));
        TrainCommand.Number(w, "decay_per_step_trained", Decay(r.NormsTrained));
        w.WriteString("spectral_radius_block", r.RadiiInit.Count == 1 ? "W_hh" : r.RadiiInit.First(g => g.Gate is "g" or "n").Gate);
        w.WriteNumber("spectral_radius_init", GradientFlow.CandidateRadius(r.RadiiInit));
        w.WriteNumber("spectral_radius_trained", GradientFlow.CandidateRadius(r.RadiiTrained));
        WriteRadii(w, "spectral_radii_init", r.RadiiInit);
        WriteRadii(w, "spectral_radii_trained", r.RadiiTrained);
        w.WriteNumber("train_steps", r.TrainSteps);
        TrainCommand.Number(w, "test_mse_init", r.TestMseInit);
        TrainCommand.Number(w, "test_mse_trained", r.TestMseTrained);
        w.WriteNumber("train_seconds", Math.Round(r.Seconds, 2));
        WriteArray(w, "norms_init", r.NormsInit);
        WriteArray(w, "norms_trained", r.NormsTrained);
        w.WriteEndObject();
    }

    private static void WriteRadii(Utf8JsonWriter w, string name, IReadOnlyList<(string Gate, double Radius)> radii)
    {
        w.WriteStartObject(name);
        foreach (var (gate, radius) in radii) w.WriteNumber(gate, radius);
        w.WriteEndObject();
    }

    /// <summary>n(d) for d = 0 … min(MaxBack, T − 1).</summary>
    private static void WriteArray(Utf8JsonWriter w, string name, double[] norms)
    {
        w.WriteStartArray(name);
        for (int d = 0; d < Math.Min(MaxBack + 1, norms.Length); d++)
            if (double.IsFinite(norms[d])) w.WriteNumberValue(norms[d]); else w.WriteNullValue();
        w.WriteEndArray();
    }

    private static void WriteExploding(Utf8JsonWriter w, string name, List<GradientFlow.ExplodingStep> run)
    {
        w.WriteStartObject(name);
        int bad = run.FindIndex(s => !double.IsFinite(s.Loss) || !double.IsFinite(s.GradientNorm));
        w.WriteBoolean("finite", bad < 0);
        if (bad >= 0) w.WriteNumber("first_non_finite_step", run[bad].Step);
        else w.WriteNull("first_non_finite_step");
        w.WriteNumber("steps", run.Count);
        w.WriteStartArray("losses");
        foreach (var s in run) if (double.IsFinite(s.Loss)) w.WriteNumberValue(s.Loss); else w.WriteNullValue();
        w.WriteEndArray();
        w.WriteStartArray("gradient_norms");
        foreach (var s in run) if (double.IsFinite(s.GradientNorm)) w.WriteNumberValue(s.GradientNorm); else w.WriteNullValue();
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
