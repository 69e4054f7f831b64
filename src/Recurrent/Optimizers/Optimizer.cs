using System.Globalization;
using System.Numerics;
using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>
/// A first-order optimizer over a fixed list of parameters, updating each from its Grad as torch.optim does
/// (same formulas, same order of float operations). Step does not zero the gradients; ZeroGrad does.
/// The per-parameter state (moments, buffers) is named "kind.parameter" ("exp_avg.lstm.weight_ih_l0") so a checkpoint
/// can save it with State() and a resumed run can LoadState it and continue bit-identically.
/// </summary>
public abstract class Optimizer
{
    /// <summary>The parameters updated, in the order given; their names must be unique (they key the saved state).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Read at every Step, so a schedule may change it between steps.</summary>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            Require("learning rate", value, 0);
            _learningRate = value;
            LearningRateAsWritten = AsWritten(value);
        }
    }

    /// <summary>The learning rate as the decimal it was written as (see AsWritten).</summary>
    protected double LearningRateAsWritten { get; private set; }

    /// <summary>Steps taken (PyTorch's state["step"]; Adam's bias correction uses it).</summary>
    public long StepCount { get; protected set; }

    private float _learningRate;
    private Tensor[]? _average;
    private double _averageDecay; // as written (AsWritten)
    private readonly List<(string Kind, Tensor[] Slots)> _state = [];

    /// <summary>Throws <see cref="ArgumentException"/> for an empty list, two parameters of the same name, or a negative learning rate.</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, float learningRate)
    {
        Parameters = parameters.ToArray();
        if (Parameters.Count == 0) throw new ArgumentException($"{Who}: got an empty parameter list");
        var seen = new HashSet<string>();
        foreach (var p in Parameters)
            if (!seen.Add(p.Name))
                throw new ArgumentException($"{Who}: two parameters are named '{p.Name}' (state names must be unique)");
        LearningRate = learningRate;
    }

    /// <summary>
    /// Updates every parameter from its gradient and increments StepCount; then, when <see cref="AverageWeights"/> was
    /// called, the weights' average.
    /// </summary>
    public void Step()
    {
        UpdateParameters();
        if (_average != null) UpdateAverage();
    }

    /// <summary>The optimizer's own update of every parameter from its gradient; increments StepCount.</summary>
    protected abstract void UpdateParameters();

    /// <summary>The decay of the weights' moving average, or null when none is kept.</summary>
    public float? AverageDecay => _average == null ? null : (float)_averageDecay;

    /// <summary>
    /// Keeps an exponential moving average of the weights from now on: the first Step copies them, and step t moves the
    /// average by ema ← ema + (1 − d_t)·(p − ema) with d_t = min(decay, (1 + t)/(10 + t)), as TensorFlow's
    /// ExponentialMovingAverage with num_updates = the step. That ramp lets the average follow the weights early on
    /// (d_t reaches 0.999 at step 8,990): without it, as in torch's AveragedModel with get_ema_multi_avg_fn(0.999),
    /// a char-LM's averaged weights still held 61 % of the initial ones at step 500 (validation 3.19 nats/char against
    /// the trained weights' 1.64). The average is saved with the rest of the state as "ema.name";
    /// <see cref="SwapAverage"/> puts it in the parameters for evaluation. Call it before the first Step and before
    /// LoadState. Throws <see cref="ArgumentException"/> unless 0 ≤ decay &lt; 1, or when called twice.
    /// </summary>
    public void AverageWeights(float decay)
    {
        Require("averaging decay", decay, 0, 1);
        if (_average != null) throw new ArgumentException($"{Who}: the weights are averaged already");
        _averageDecay = AsWritten(decay);
        _average = AddState("ema");
    }

    /// <summary>Exchanges the parameters' values with their average (twice restores them); needs AverageWeights.</summary>
    public void SwapAverage()
    {
        if (_average == null) throw new InvalidOperationException($"{Who}: no weights are averaged");
        for (int i = 0; i < Parameters.Count; i++)
        {
            Span<float> p = Parameters[i].Value.Span, a = _average[i].Span;
            for (int j = 0; j < p.Length; j++) (p[j], a[j]) = (a[j], p[j]);
        }
    }

    private void UpdateAverage()
    {
        double decay = Math.Min(_averageDecay, (1.0 + StepCount) / (10.0 + StepCount));
        float w = (float)(1 - decay);
        var weight = new Vector<float>(w);
        for (int i = 0; i < Parameters.Count; i++)
        {
            ReadOnlySpan<float> p = Parameters[i].Value.Span;
            Span<float> a = _average![i].Span;
            if (StepCount == 1)
            {
                p.CopyTo(a);
                continue;
            }
            // A multiply and an add, unfused, in the vectors and the tail alike: one result per element at any width.
            int j = 0;
            for (; j <= p.Length - Vector<float>.Count; j += Vector<float>.Count)
            {
                var average = new Vector<float>(a[j..]);
                (average + weight * (new Vector<float>(p[j..]) - average)).CopyTo(a[j..]);
            }
            for (; j < p.Length; j++) a[j] += w * (p[j] - a[j]);
        }
    }

    /// <summary>Sets every parameter's gradient to 0 (torch's zero_grad(set_to_none=False)).</summary>
    public void ZeroGrad()
    {
        GradientPasses.Zero(Parameters); // on the GEMM threads: 50 MB a step for a translation model
    }

    /// <summary>One state tensor per parameter, shaped like it, filled with initial; saved and loaded as "kind.name".</summary>
    protected Tensor[] AddState(string kind, float initial = 0)
    {
        var slots = new Tensor[Parameters.Count];
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i] = new Tensor(Parameters[i].Shape);
            if (initial != 0) slots[i].Span.Fill(initial);
        }
        _state.Add((kind, slots));
        return slots;
    }

    /// <summary>The live state tensors (not copies): save them before the next Step.</summary>
    public IEnumerable<(string Name, Tensor Value)> State()
    {
        foreach (var (kind, slots) in _state)
            for (int i = 0; i < slots.Length; i++)
                yield return ($"{kind}.{Parameters[i].Name}", slots[i]);
    }

    /// <summary>
    /// Restores what State() gave after stepCount steps. Every entry must be present with its parameter's shape and no
    /// other entry may appear (state from another optimizer type is refused); nothing changes when the check fails.
    /// </summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        string who = Who;
        if (stepCount < 0) throw new ArgumentException($"{who}.LoadState: step count must be ≥ 0, got {stepCount}");
        var expected = State().ToList();
        foreach (var (name, value) in expected)
        {
            if (!state.TryGetValue(name, out var saved))
                throw new ArgumentException($"{who}.LoadState: missing state entry '{name}'");
            if (!saved.HasShape(value.Shape))
                throw new ShapeException($"{who}.LoadState: state entry '{name}' has shape {Tensor.Describe(saved.Shape)}, expected {Tensor.Describe(value.Shape)}");
        }
        if (state.Count != expected.Count)
        {
            var known = expected.Select(e => e.Name).ToHashSet();
            string extra = state.Keys.First(k => !known.Contains(k));
            throw new ArgumentException($"{who}.LoadState: unexpected state entry '{extra}' (is this state from another optimizer?)");
        }
        foreach (var (name, value) in expected) state[name].Span.CopyTo(value.Span);
        StepCount = stepCount;
    }

    /// <summary>The optimizer's type name ("Adam"), with which its error messages start.</summary>
    protected string Who => GetType().Name;

    /// <summary>
    /// The double nearest the shortest decimal that rounds to x: the number the user wrote (0.99f -> 0.99). PyTorch
    /// holds hyperparameters as Python floats (doubles) and computes 1 − β, β^t, lr/(1 − β₁^t) in double before
    /// rounding to float, so doing the same from 0.99 rather than from 0.99f's exact value 0.99000001 is what makes
    /// "Adam(lr=1e-3)" here and there give the same bits.
    /// </summary>
    protected internal static double AsWritten(float x)
    {
        Span<char> text = stackalloc char[32]; // no allocation: a schedule sets the learning rate every step
        x.TryFormat(text, out int length, "R", CultureInfo.InvariantCulture);
        return double.Parse(text[..length], CultureInfo.InvariantCulture);
    }

    /// <summary>Throws unless low ≤ value &lt; high (NaN fails): hyperparameter checks with one clear line.</summary>
    protected internal void Require(string name, float value, float low, float high = float.PositiveInfinity)
    {
        if (!(value >= low && value < high))
        {
            string range = float.IsPositiveInfinity(high) ? $"≥ {low}" : $"in [{low}, {high})";
            throw new ArgumentException($"{Who}: {name} must be {range}, got {value}");
        }
    }
}
