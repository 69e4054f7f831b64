using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Analysis;

/// <summary>
/// The trained baseline beside the echo state network: an LSTM that reads a scalar series and predicts its next value,
///
///   h_t = LSTM(u_t, h_{t−1}),   y_t = Linear(h_t) ≈ u_{t+1}          T = window, B = batch, H = hidden
///
/// trained teacher-forced by backpropagation through time (Adam, global-norm clipping) on random windows of the
/// training part, the mean squared error taken after a burn-in of each window (its first steps start from a zero state
/// that the test never sees). It is scored by <see cref="MackeyGlassForecast"/>'s protocol: all M tests at once as one
/// batch, teacher-forced through the <c>warmup</c> steps before each start, then H steps free-running with each output
/// fed back as the next input. Single precision, as every trained model here.
/// </summary>
public sealed class LstmForecaster
{
    /// <summary>H: the LSTM's hidden size.</summary>
    public int Hidden { get; }
    /// <summary>The LSTM, 1 → H.</summary>
    public RecurrentLayer Lstm { get; }
    /// <summary>The readout Linear(H, 1) on every step's state.</summary>
    public Linear Head { get; }

    private readonly MeanSquaredError _loss = new();

    /// <summary>A forecaster with weights from <paramref name="rng"/> (LSTM first, then head); throws <see cref="ArgumentException"/> when hidden ≤ 0.</summary>
    public LstmForecaster(int hidden, Rng rng)
    {
        if (hidden <= 0) throw new ArgumentException($"LstmForecaster: hidden size must be positive (got {hidden})");
        Hidden = hidden;
        Lstm = new RecurrentLayer(CellKind.Lstm, 1, hidden, rng: rng);
        Head = new Linear(hidden, 1, rng: rng);
    }

    /// <summary>The LSTM's, then the head's.</summary>
    public IEnumerable<Parameter> Parameters() => Lstm.Parameters().Concat(Head.Parameters());

    /// <summary>
    /// Trains for <paramref name="steps"/> Adam steps on batches of random windows of signal[0 .. trainEnd), the learning
    /// rate decayed by cosine to a tenth. Calls <paramref name="progress"/>(step, loss) every 100 steps and at the end.
    /// Returns the mean loss of the last 100 steps.
    /// </summary>
    public double Fit(ReadOnlySpan<double> signal, int trainEnd, int steps, Rng rng, int window = 100, int burnIn = 20,
        int batch = 32, float learningRate = 3e-3f, Action<int, double>? progress = null)
    {
        if (steps <= 0) throw new ArgumentException($"LstmForecaster.Fit: steps must be positive (got {steps})");
        if (burnIn < 0 || burnIn >= window) throw new ArgumentException($"LstmForecaster.Fit: the burn-in must be in 0..{window - 1} (got {burnIn})");
        if (batch <= 0) throw new ArgumentException($"LstmForecaster.Fit: the batch must be positive (got {batch})");
        if (trainEnd > signal.Length || trainEnd < window + 1)
            throw new ArgumentException($"LstmForecaster.Fit: a training part of {trainEnd} samples is shorter than a window of {window} plus its target");
        var parameters = Parameters().ToArray();
        var adam = new Adam(parameters, learningRate);
        var input = new Tensor(window, batch, 1);
        var target = new Tensor(window, batch, 1);
        double recent = 0;
        int counted = 0;
        for (int step = 1; step <= steps; step++)
        {
            for (int b = 0; b < batch; b++)
            {
                int s = rng.NextInt(trainEnd - window);
                for (int t = 0; t < window; t++)
                {
                    input[t, b, 0] = (float)signal[s + t];
                    target[t, b, 0] = (float)signal[s + t + 1];
                }
            }
            adam.ZeroGrad();
            var y = Head.Forward(Lstm.Forward(input).Output);
            // The burn-in steps' targets are the predictions themselves: zero error there, so zero gradient.
            y.Span[..(burnIn * batch)].CopyTo(target.Span);
            double loss = _loss.Forward(y, target) * window / (window - burnIn);
            Lstm.Backward(Head.Backward(_loss.Backward()));
            GradientClipping.ClipGlobalNorm(parameters, 1f);
            adam.LearningRate = learningRate * (float)(0.1 + 0.45 * (1 + Math.Cos(Math.PI * (step - 1) / steps)));
            adam.Step();

            if (step > steps - 100) { recent += loss; counted++; }
            if (progress != null && (step % 100 == 0 || step == steps)) progress(step, loss);
        }
        return recent / counted;
    }

    /// <summary>The H-th free-running output (in u) of each of the task's M tests, warmed up on the true series.</summary>
    public double[] Forecast(MackeyGlassForecast task, int warmup = 200)
    {
        if (warmup <= 0 || warmup > task.Start(0))
            throw new ArgumentException($"LstmForecaster.Forecast: the warm-up must be in 1..{task.Start(0)} steps (got {warmup})");
        int m = task.Starts, h = Hidden;
        var input = new Tensor(warmup, m, 1);
        for (int j = 0; j < m; j++)
            for (int t = 0; t < warmup; t++) input[t, j, 0] = (float)task.Signal[task.Start(j) - warmup + t];
        var output = Lstm.Forward(input);
        // The layer's buffers change at its next call: the state and the last step's output are copied out.
        var h0 = output.HN.Clone();
        var c0 = output.CN!.Clone();
        var last = new Tensor(1, m, h);
        output.Output.Span.Slice((warmup - 1) * m * h, m * h).CopyTo(last.Span);
        var step = new Tensor(1, m, 1);
        Head.Forward(last).Span.CopyTo(step.Span);       // predictions of u[Start(j)]
        for (int k = 1; k < task.Horizon; k++)
        {
            var next = Lstm.Forward(step, h0, c0);
            next.HN.Span.CopyTo(h0.Span);
            next.CN!.Span.CopyTo(c0.Span);
            Head.Forward(next.Output).Span.CopyTo(step.Span);
        }
        return step.Span.ToArray().Select(v => (double)v).ToArray();
    }
}
