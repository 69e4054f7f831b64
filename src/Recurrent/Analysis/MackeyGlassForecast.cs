namespace Recurrent.Analysis;

/// <summary>
/// The free-running forecast benchmark of Jaeger &amp; Haas (2004) on Mackey–Glass τ = 17, shared by the echo state
/// network and the LSTM beside it. The series x (sampling step 1) is split in time:
///
///   [0, TrainEnd)                the training part: washout + train teacher-forced steps and the last target
///   Start(j) = TrainEnd + j·S    j = 0 … M−1: the test starts, S = spacing (the test windows do not overlap when S ≥ H)
///
/// A model reads the true series up to Start(j) − 1 (teacher forcing, which also warms its state up), then runs free
/// for H = 84 steps, its own output fed back as input; its H-th output x̂_j predicts x[Start(j) + H − 1]. The score is
///
///   NRMSE_H = sqrt( Σ_j (x̂_j − x[Start(j) + H − 1])² / (M σ²) ),   σ² = the variance of x over the whole series,
///
/// as Jaeger &amp; Haas (their 100 independent runs are the M starts here). Models read u = tanh(x − 1) rather than x
/// (Jaeger &amp; Haas's transform: centred, and within the reservoir's tanh range), and their outputs are mapped back
/// with x = 1 + artanh(u) before the error is taken.
/// </summary>
public sealed class MackeyGlassForecast
{
    /// <summary>H = 84: the horizon Jaeger &amp; Haas report NRMSE at.</summary>
    public const int DefaultHorizon = 84;

    /// <summary>Initial teacher-forced steps whose states are not used for training.</summary>
    public int Washout { get; }
    /// <summary>Teacher-forced steps whose states train the readout.</summary>
    public int Train { get; }
    /// <summary>M: free-running tests.</summary>
    public int Starts { get; }
    /// <summary>S: time steps between test starts.</summary>
    public int Spacing { get; }
    /// <summary>H: free-running steps of each test; NRMSE is taken at the H-th.</summary>
    public int Horizon { get; }
    /// <summary>x, the Mackey–Glass series, <see cref="Length"/> samples.</summary>
    public double[] Series { get; }
    /// <summary>u = tanh(x − 1), what the models read and predict.</summary>
    public double[] Signal { get; }
    /// <summary>σ² of x over the whole series.</summary>
    public double Variance { get; }

    /// <summary>The end (exclusive) of the training part: washout + train inputs and the target of the last.</summary>
    public int TrainEnd => Washout + Train + 1;
    /// <summary>Samples of the series: the training part, then the tests' starts and horizon.</summary>
    public int Length => TrainEnd + (Starts - 1) * Spacing + Horizon;
    /// <summary>The index of the first free-running prediction of test j.</summary>
    public int Start(int j) => TrainEnd + j * Spacing;

    /// <param name="washout">initial teacher-forced steps whose states are not used for training (the zero start fades).</param>
    /// <param name="train">teacher-forced steps whose states train the readout.</param>
    /// <param name="starts">M, the number of free-running tests.</param>
    /// <param name="spacing">S, time steps between test starts.</param>
    /// <param name="horizon">H: free-running steps per test; NRMSE is taken at the H-th.</param>
    /// <param name="tau">the Mackey–Glass delay τ of the series.</param>
    public MackeyGlassForecast(int washout = 500, int train = 8000, int starts = 100, int spacing = DefaultHorizon,
        int horizon = DefaultHorizon, int tau = MackeyGlass.Tau)
    {
        if (washout < 0) throw new ArgumentException($"MackeyGlassForecast: the washout must be ≥ 0 (got {washout})");
        if (train <= 0) throw new ArgumentException($"MackeyGlassForecast: the training steps must be positive (got {train})");
        if (starts <= 0) throw new ArgumentException($"MackeyGlassForecast: the number of test starts must be positive (got {starts})");
        if (spacing <= 0) throw new ArgumentException($"MackeyGlassForecast: the spacing of test starts must be positive (got {spacing})");
        if (horizon <= 0) throw new ArgumentException($"MackeyGlassForecast: the horizon must be positive (got {horizon})");
        (Washout, Train, Starts, Spacing, Horizon) = (washout, train, starts, spacing, horizon);
        Series = MackeyGlass.Generate(Length, tau);
        Signal = Series.Select(ToSignal).ToArray();
        double mean = Series.Average();
        Variance = Series.Sum(v => (v - mean) * (v - mean)) / Series.Length;
    }

    /// <summary>u = tanh(x − 1), the transform models read.</summary>
    public static double ToSignal(double x) => Math.Tanh(x - 1);

    /// <summary>x = 1 + artanh(u); an output at or past ±1 (a run that blew up) maps to ±∞, an infinite error.</summary>
    public static double FromSignal(double u) => 1 + Math.Atanh(Math.Clamp(u, -1, 1));

    /// <summary>NRMSE_H from the H-th free-running outputs (in u) of the M tests, in test order.</summary>
    public double Nrmse(ReadOnlySpan<double> predictedSignal)
    {
        if (predictedSignal.Length != Starts)
            throw new ArgumentException($"MackeyGlassForecast.Nrmse: expected {Starts} predictions, got {predictedSignal.Length}");
        double sum = 0;
        for (int j = 0; j < Starts; j++)
        {
            double e = FromSignal(predictedSignal[j]) - Series[Start(j) + Horizon - 1];
            sum += e * e;
        }
        return Math.Sqrt(sum / (Starts * Variance));
    }

    /// <summary>
    /// Trains the network's readout on the training part (ridge λ) and scores it: the state runs on teacher-forced
    /// through the test part, and at each start a copy of it runs free for H steps. Returns NRMSE_H and the one-step
    /// training RMSE (in u).
    /// </summary>
    public (double Nrmse, double TrainRmse) Evaluate(EchoStateNetwork esn, double ridge)
    {
        double trainRmse = esn.Train(Signal.AsSpan(0, TrainEnd), Washout, ridge);
        // The state has read Signal[TrainEnd − 2]; test j needs it after Signal[Start(j) − 1].
        var saved = new double[esn.Units];
        var outputs = new double[Horizon];
        var predicted = new double[Starts];
        int read = TrainEnd - 2;
        for (int j = 0; j < Starts; j++)
        {
            while (read < Start(j) - 1) esn.Step(Signal[++read]);
            esn.State.CopyTo(saved);
            esn.FreeRun(Signal[read], outputs);
            predicted[j] = outputs[^1];
            saved.CopyTo(esn.State);
        }
        return (Nrmse(predicted), trainRmse);
    }
}
