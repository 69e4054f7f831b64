using System.Diagnostics;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Analysis;

/// <summary>
/// How <see cref="AddingRegressor.Train"/> trains: steps of batch sequences each, Adam (or plain SGD) at learningRate,
/// a tenth of it from step ⌈DropAt·Steps⌉ + 1 on (DropAt = 1: never), the global gradient norm clipped to clipNorm
/// (0: off), the test MSE measured every evalEvery steps. The drop lets a run that has found the solution at a high
/// rate settle into it: Adam at 1e-2 finds the IRNN's solution soonest but keeps knocking it about.
/// </summary>
public sealed record AddingTraining(int Steps, int Batch, float LearningRate, bool Sgd = false, float ClipNorm = 1f, int EvalEvery = 100,
    double DropAt = 1)
{
    /// <summary>The learning rate of step (1-based).</summary>
    public float RateAt(int step) => step > Math.Ceiling(DropAt * Steps) ? LearningRate / 10 : LearningRate;

    /// <summary>Throws a one-line <see cref="ArgumentException"/> for settings that cannot train.</summary>
    public void Validate()
    {
        if (Steps < 0) throw new ArgumentException($"AddingTraining: steps must be ≥ 0 (got {Steps})");
        if (Batch <= 0) throw new ArgumentException($"AddingTraining: the batch size must be positive (got {Batch})");
        if (!(LearningRate > 0)) throw new ArgumentException($"AddingTraining: the learning rate must be positive (got {LearningRate})");
        if (!(ClipNorm >= 0)) throw new ArgumentException($"AddingTraining: the clipping norm must be ≥ 0 (got {ClipNorm})");
        if (EvalEvery <= 0) throw new ArgumentException($"AddingTraining: evalEvery must be positive (got {EvalEvery})");
        if (!(DropAt >= 0 && DropAt <= 1)) throw new ArgumentException($"AddingTraining: DropAt must be in [0, 1] (got {DropAt})");
    }
}

/// <summary>The test-MSE curve of a training run: (step, test MSE) from step 0, and the wall-clock seconds.</summary>
public sealed record AddingCurve(IReadOnlyList<(int Step, double TestMse)> Points, double Seconds)
{
    /// <summary>The test MSE at the last point of the curve.</summary>
    public double FinalMse => Points[^1].TestMse;
}

/// <summary>
/// The adding problem's model: one recurrent layer of H units over the [T, B, 2] input, a Linear(H, 1) on its last
/// state, mean squared error against the [B, 1] target. The loss is on the last step only, so ∂L/∂h_t is the gradient
/// that crossed T − 1 − t steps of the recurrence (what <see cref="GradientFlow"/> measures).
///   ŷ = W_o h_{T−1} + b_o;   L = (1/B) Σ_b (ŷ_b − y_b)²
/// Cells (their names in the CLI): rnn_tanh (PyTorch's init, U(±1/√H)), irnn (ReLU, <see cref="Init.Irnn"/>), lstm and
/// gru (PyTorch's init; the LSTM's forget bias 0, so σ(0) = 1/2 at the start). Kept for backward: what the layer and
/// the Linear keep, and the last state's copy. Buffers are owned and grow to the largest batch seen, so a training
/// step allocates nothing.
///
/// Backward runs on the loss times <see cref="LossScale"/> (2⁶⁰ unless set) and divides the parameters' gradients by it after,
/// as mixed-precision training does: ∂L/∂h_t of a tanh-RNN or an untrained LSTM shrinks by about half a step, so
/// 130 or so steps back it falls below float's normal range (1.2e-38), and arithmetic on subnormal floats is some
/// hundred times slower on x86 (it made an LSTM step at T = 400 ten times slower). Scaling by a power of two is exact,
/// so every gradient that was a normal float is the same bits; the scaled ones stay far below float's maximum (the
/// last state's gradient is at most about 1, times 1.2e18).
/// </summary>
public sealed class AddingRegressor : IModule
{
    /// <summary>The cells, as the CLI names them.</summary>
    public static readonly IReadOnlyList<string> CellNames = ["rnn_tanh", "irnn", "lstm", "gru"];

    /// <summary>The cell's CLI name, one of <see cref="CellNames"/>.</summary>
    public string Cell { get; }
    /// <summary>The recurrent layer, [T, B, 2] → [T, B, H].</summary>
    public RecurrentLayer Rnn { get; }
    /// <summary>The readout Linear(H, 1) on the last state.</summary>
    public Linear Output { get; }

    /// <summary>2⁶⁰: see <see cref="LossScale"/>.</summary>
    public const float DefaultLossScale = 1_152_921_504_606_846_976f;

    /// <summary>
    /// The factor the backward pass's gradients carry, removed from the parameters' gradients after (a power of two;
    /// 1: none, for a model whose gradients are already huge, such as the exploding case).
    /// </summary>
    public float LossScale
    {
        get => _lossScale;
        set
        {
            if (!(value > 0) || !float.IsFinite(value) || BitConverter.SingleToInt32Bits(value) % (1 << 23) != 0)
                throw new ArgumentException($"AddingRegressor: the loss scale must be a positive power of two (got {value})");
            _lossScale = value;
        }
    }
    private float _lossScale = DefaultLossScale;

    private readonly MeanSquaredError _loss = new();
    private readonly Tensor _last = Tensor.Growable(0), _dhN = Tensor.Growable(0);

    /// <param name="cell">one of <see cref="CellNames"/>.</param>
    /// <param name="hidden">H: units of the recurrent layer.</param>
    /// <param name="rng">draws the recurrent layer's weights (then the IRNN's identity init), then the readout's.</param>
    public AddingRegressor(string cell, int hidden, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (hidden <= 0) throw new ArgumentException($"AddingRegressor: the hidden size must be positive (got {hidden})");
        var kind = cell switch
        {
            "rnn_tanh" => CellKind.RnnTanh,
            "irnn" => CellKind.RnnRelu,
            "lstm" => CellKind.Lstm,
            "gru" => CellKind.Gru,
            _ => throw new ArgumentException($"AddingRegressor: unknown cell '{cell}' (cells: {string.Join(", ", CellNames)})"),
        };
        Cell = cell;
        Rnn = new RecurrentLayer(kind, AddingProblem.Channels, hidden, rng: rng);
        if (cell == "irnn") Init.Irnn(Rnn, rng);
        Output = new Linear(hidden, 1, rng: rng);
    }

    /// <summary>The recurrent layer's, then the readout's.</summary>
    public IEnumerable<Parameter> Parameters() => Rnn.Parameters().Concat(Output.Parameters());

    /// <summary>The MSE of the batch (forward only).</summary>
    public float Loss(Tensor input, Tensor target) => _loss.Forward(Predict(input), target);

    /// <summary>
    /// The MSE of the batch; sets every parameter's gradient to this batch's (it zeroes them first). The layer's probe,
    /// when on, records ∂L/∂h_t times <see cref="LastBackwardScale"/>. A gradient too large for the scale (beyond
    /// float's 3.4e38 / 2⁶⁰ ≈ 3e20, as an IRNN whose W_hh has grown past 1 reaches at T = 400) overflows to ∞ and
    /// clipping would turn it into NaN: that step is redone without the scale, so only its large gradients are seen.
    /// </summary>
    public float LossAndBackward(Tensor input, Tensor target)
    {
        float loss = LossAndBackward(input, target, LossScale);
        if (LossScale != 1 && !GradientsFinite()) loss = LossAndBackward(input, target, 1);
        return loss;
    }

    /// <summary>The factor the last backward pass's gradients (and the probe's) carried: LossScale, or 1 when redone.</summary>
    public float LastBackwardScale { get; private set; } = 1;

    private float LossAndBackward(Tensor input, Tensor target, float scale)
    {
        float loss = Loss(input, target);
        this.ZeroGrad();
        var dPrediction = _loss.Backward();
        Kernels.Scale(dPrediction.Span, scale);
        var dLast = Output.Backward(dPrediction);
        _dhN.Resize(1, dLast.Dim(0), dLast.Dim(1));
        dLast.Span.CopyTo(_dhN.Span);
        // The last output is h_{T−1} = h_N: its gradient enters as dh_N, and no other step's output has one.
        Rnn.Backward(null, _dhN);
        foreach (var p in Parameters()) Kernels.Scale(p.Grad.Span, 1 / scale);
        LastBackwardScale = scale;
        return loss;
    }

    private bool GradientsFinite()
    {
        double sum = 0;
        foreach (var p in Parameters()) sum += Kernels.SumOfSquares(p.Grad.Span);
        return double.IsFinite(sum);
    }

    /// <summary>ŷ [B, 1] (the Linear's buffer).</summary>
    private Tensor Predict(Tensor input)
    {
        var hN = Rnn.Forward(input).HN;
        _last.Resize(hN.Dim(1), hN.Dim(2));
        hN.Span.CopyTo(_last.Span);
        return Output.Forward(_last);
    }

    /// <summary>The MSE over a whole test set (its batches weighted by their sizes).</summary>
    public double TestMse(IReadOnlyList<(Tensor Input, Tensor Target)> test)
    {
        double sum = 0;
        int count = 0;
        foreach (var (input, target) in test)
        {
            sum += (double)Loss(input, target) * target.Length;
            count += target.Length;
        }
        return sum / count;
    }

    /// <summary>
    /// Trains on fresh batches from rng (settings.Steps of them) and returns the test-MSE curve, measured at step 0,
    /// every EvalEvery steps and at the end; onEval (may be null) sees each point as it comes. A step whose loss or
    /// gradient is not finite is still taken (the curve then shows NaN): the run reports what happened.
    /// </summary>
    public AddingCurve Train(AddingProblem problem, AddingTraining settings, Rng rng, IReadOnlyList<(Tensor Input, Tensor Target)> test,
        Action<int, double>? onEval = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        settings.Validate();
        var clock = Stopwatch.StartNew();
        Optimizer optimizer = settings.Sgd ? new Sgd(Parameters(), settings.LearningRate) : new Adam(Parameters(), settings.LearningRate);
        var (input, target) = problem.NewBatch(settings.Batch);
        var points = new List<(int, double)>();
        void Evaluate(int step)
        {
            double mse = TestMse(test);
            points.Add((step, mse));
            onEval?.Invoke(step, mse);
        }
        Evaluate(0);
        for (int step = 1; step <= settings.Steps; step++)
        {
            problem.Sample(rng, input, target);
            optimizer.LearningRate = settings.RateAt(step);
            LossAndBackward(input, target);
            if (settings.ClipNorm > 0) GradientClipping.ClipGlobalNorm(optimizer.Parameters, settings.ClipNorm);
            optimizer.Step();
            if (step % settings.EvalEvery == 0 || step == settings.Steps) Evaluate(step);
        }
        return new AddingCurve(points, clock.Elapsed.TotalSeconds);
    }
}
