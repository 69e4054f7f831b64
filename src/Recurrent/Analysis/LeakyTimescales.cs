using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Analysis;

/// <summary>
/// A task with two time scales for the leaky-integrator RNN. T = time, B = batch. One input channel, u_t ~ U(−√3, √3)
/// i.i.d. (unit variance); two targets, each scaled to unit variance so that predicting 0 scores an MSE of about 1:
///   fast_t = u_{t−d}                                        (the input d steps back; 0 for t &lt; d)
///   slow_t = s_t / σ_s,  s_t = (1 − 1/τ) s_{t−1} + u_t / τ   (an exponential average over about τ steps; s_{−1} = 0)
/// with σ_s² = 1 / (τ(2 − 1/τ)) the stationary variance of s. The fast target needs a unit that forgets at once, the
/// slow one a unit that integrates over τ steps: α near 1 serves the first, α near 1/τ the second.
/// </summary>
public sealed record TwoTimescaleTask(int Delay = 2, double SlowTau = 50)
{
    /// <summary>Fills input [T, B, 1] and target [T, B, 2] (fast, slow) with B fresh sequences of T steps.</summary>
    public void Generate(Rng rng, Tensor input, Tensor target)
    {
        if (Delay < 0) throw new ArgumentException($"TwoTimescaleTask: delay must be ≥ 0 (got {Delay})");
        if (!(SlowTau >= 1)) throw new ArgumentException($"TwoTimescaleTask: the slow time scale τ must be ≥ 1 (got {SlowTau})");
        if (input.Rank != 3 || input.Dim(2) != 1) throw new ShapeException($"TwoTimescaleTask: input must be [T, B, 1], got {Tensor.Describe(input.Shape)}");
        int T = input.Dim(0), B = input.Dim(1);
        Tensor.RequireShape(target, [T, B, 2], "TwoTimescaleTask (target)");
        float bound = MathF.Sqrt(3f);
        for (int i = 0; i < T * B; i++) input.Data[i] = rng.Uniform(-bound, bound);
        double decay = 1 - 1 / SlowTau, scale = Math.Sqrt(SlowTau * (2 - 1 / SlowTau));
        for (int b = 0; b < B; b++)
        {
            double s = 0;
            for (int t = 0; t < T; t++)
            {
                s = decay * s + input.Data[t * B + b] / SlowTau;
                target.Data[(t * B + b) * 2] = t >= Delay ? input.Data[(t - Delay) * B + b] : 0f;
                target.Data[(t * B + b) * 2 + 1] = (float)(s * scale);
            }
        }
    }
}

/// <summary>
/// What the leak α changes, on <see cref="TwoTimescaleTask"/>: a leaky RNN (1 → H, <see cref="CellKind.Leaky"/>) with a
/// linear readout (H → 2) trained by Adam (learning rate decayed linearly to a tenth, global gradient norm clipped) on
/// fresh sequences to minimise the MSE of both targets, with α fixed or
/// learned per unit. Every run starts from the same weights (the model's Rng) and sees the same batches (the data's
/// Rng), so runs differ in α alone. The test set is fixed: its MSE is reported per target and on average, along the way
/// (the learning curve) and at the end, with the learned α of every unit sorted (fast units near 1, slow near 1/τ).
/// Kept per run: the layer's and readout's buffers, reused by every step.
/// </summary>
public static class LeakyTimescales
{
    /// <summary>The experiment's sizes and schedule, shared by every run.</summary>
    public sealed record Settings
    {
        /// <summary>The task's delay and slow time scale.</summary>
        public TwoTimescaleTask Task { get; init; } = new();
        /// <summary>H: units of the leaky RNN.</summary>
        public int Hidden { get; init; } = 32;
        /// <summary>Adam steps.</summary>
        public int Steps { get; init; } = 2000;
        /// <summary>T: steps per training and test sequence.</summary>
        public int SeqLen { get; init; } = 250;
        /// <summary>B: fresh sequences per step.</summary>
        public int Batch { get; init; } = 32;
        /// <summary>Adam's starting learning rate, decayed linearly to a tenth.</summary>
        public float LearningRate { get; init; } = 1e-2f;
        /// <summary>The global gradient norm clip.</summary>
        public float Clip { get; init; } = 1f;
        /// <summary>Steps between evaluations on the test set.</summary>
        public int EvalEvery { get; init; } = 50;
        /// <summary>Sequences in the fixed test set.</summary>
        public int TestSequences { get; init; } = 64;

        /// <summary>Throws a one-line <see cref="ArgumentException"/> for a size, step count, rate or interval out of range.</summary>
        public void Validate()
        {
            if (Hidden < 1) throw new ArgumentException($"hidden size must be ≥ 1, got {Hidden}");
            if (Steps < 1) throw new ArgumentException($"steps must be ≥ 1, got {Steps}");
            if (SeqLen < 1) throw new ArgumentException($"sequence length must be ≥ 1, got {SeqLen}");
            if (Batch < 1) throw new ArgumentException($"batch must be ≥ 1, got {Batch}");
            if (!(LearningRate > 0)) throw new ArgumentException($"learning rate must be > 0, got {LearningRate}");
            if (EvalEvery < 1) throw new ArgumentException($"eval interval must be ≥ 1, got {EvalEvery}");
            if (TestSequences < 1) throw new ArgumentException($"test sequences must be ≥ 1, got {TestSequences}");
        }
    }

    /// <summary>One run's result: the leak trained with, its test-MSE curve, its final test MSE (both targets' mean, and each), the learned α and the seconds it took.</summary>
    /// <param name="Curve">(step, test MSE averaged over both targets) at step 0 and every EvalEvery steps, and the last.</param>
    /// <param name="Alpha">each unit's α at the end, ascending (all equal when fixed).</param>
    /// <param name="Leak">the leak the run used: fixed α, or learned from a starting α.</param>
    /// <param name="TestLoss">the final test MSE, averaged over both targets.</param>
    /// <param name="FastLoss">the final test MSE of the fast (delayed input) target.</param>
    /// <param name="SlowLoss">the final test MSE of the slow (exponential average) target.</param>
    /// <param name="Seconds">wall-clock seconds of the run.</param>
    public sealed record Run(Leak Leak, IReadOnlyList<(int Step, double Loss)> Curve, double TestLoss, double FastLoss, double SlowLoss,
        float[] Alpha, double Seconds);

    /// <summary>Trains one model with the given leak; progress gets a line per evaluation.</summary>
    public static Run Train(Settings settings, Leak leak, ulong seed, Action<string>? progress = null)
    {
        settings.Validate();
        leak.Validate("LeakyTimescales");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var modelRng = new Rng(seed);
        var layer = new RecurrentLayer(CellKind.Leaky, 1, settings.Hidden, rng: modelRng, leak: leak);
        var readout = new Linear(settings.Hidden, 2, bias: true, modelRng);
        IModule[] modules = [layer, readout];
        var parameters = modules.SelectMany(m => m.Parameters()).Select((p, i) => new Parameter($"{i}.{p.Name}", p.Value, p.Grad)).ToArray();
        var optimizer = new Adam(parameters, settings.LearningRate);
        var loss = new MeanSquaredError();

        int T = settings.SeqLen;
        var dataRng = new Rng(seed ^ 0x7E57_DA7AUL);
        var input = new Tensor(T, settings.Batch, 1);
        var target = new Tensor(T, settings.Batch, 2);
        var testInput = new Tensor(T, settings.TestSequences, 1);
        var testTarget = new Tensor(T, settings.TestSequences, 2);
        settings.Task.Generate(new Rng(seed ^ 0x7E57_5E7UL), testInput, testTarget);

        var curve = new List<(int, double)>();
        void Evaluate(int step)
        {
            var (fast, slow) = TestLosses(layer, readout, testInput, testTarget);
            curve.Add((step, (fast + slow) / 2));
            progress?.Invoke($"leak {leak}: step {step}, test MSE {(fast + slow) / 2:F4} (fast {fast:F4}, slow {slow:F4})");
        }
        Evaluate(0);
        for (int step = 1; step <= settings.Steps; step++)
        {
            settings.Task.Generate(dataRng, input, target);
            optimizer.LearningRate = settings.LearningRate * (1f - 0.9f * (step - 1) / settings.Steps);
            optimizer.ZeroGrad();
            var h = layer.Forward(input).Output;
            loss.Forward(readout.Forward(h), target);
            layer.Backward(readout.Backward(loss.Backward()));
            if (settings.Clip > 0) GradientClipping.ClipGlobalNorm(parameters, settings.Clip);
            optimizer.Step();
            if (step % settings.EvalEvery == 0 && step != settings.Steps) Evaluate(step);
        }
        Evaluate(settings.Steps);

        var (fastLoss, slowLoss) = TestLosses(layer, readout, testInput, testTarget);
        return new Run(leak, curve, (fastLoss + slowLoss) / 2, fastLoss, slowLoss, Alphas(layer), clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Units with α below √(1/τ), the geometric middle of the slow scale's 1/τ and the fast scale's 1, count as slow.
    /// </summary>
    public static int SlowUnits(IEnumerable<float> alpha, double tau) => alpha.Count(a => a < Math.Sqrt(1 / tau));

    /// <summary>Each unit's α of a one-layer leaky layer, ascending: σ(leak) when learned, else the fixed α.</summary>
    public static float[] Alphas(RecurrentLayer layer)
    {
        var u = layer.Parameters().FirstOrDefault(p => p.Name == "leak_l0");
        float[] alpha = u == null
            ? Enumerable.Repeat(layer.Leak.Alpha, layer.HiddenSize).ToArray()
            : u.Value.Data.Select(v => 1f / (1f + MathF.Exp(-v))).ToArray();
        Array.Sort(alpha);
        return alpha;
    }

    /// <summary>The test set's MSE of the fast and of the slow target.</summary>
    private static (double Fast, double Slow) TestLosses(RecurrentLayer layer, Linear readout, Tensor input, Tensor target)
    {
        ReadOnlySpan<float> prediction = readout.Forward(layer.Forward(input).Output).Span, expected = target.Span;
        double fast = 0, slow = 0;
        int n = prediction.Length / 2;
        for (int i = 0; i < n; i++)
        {
            double df = prediction[2 * i] - expected[2 * i], ds = prediction[2 * i + 1] - expected[2 * i + 1];
            fast += df * df;
            slow += ds * ds;
        }
        return (fast / n, slow / n);
    }
}
