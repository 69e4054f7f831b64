using System.Globalization;
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

    /// <summary>Updates every parameter from its gradient and increments StepCount.</summary>
    public abstract void Step();

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
