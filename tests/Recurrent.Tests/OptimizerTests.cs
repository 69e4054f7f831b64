using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Optimizers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The optimizers against torch.optim (fixtures/optim/optim_reference.json, written by make_optim_reference.py):
/// two parameters, six fixed gradient steps, parameters compared bit for bit after every step.
/// </summary>
public class OptimizerTests
{
    private static readonly JsonElement Reference = LoadReference();

    private static JsonElement LoadReference()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "optim", "optim_reference.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    }

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Reference.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    internal static float[] Floats(JsonElement array) => array.EnumerateArray().Select(v => v.GetSingle()).ToArray();

    private static Parameter[] FixtureParameters()
    {
        return Reference.GetProperty("params").EnumerateArray().Select(p =>
        {
            var shape = p.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var parameter = new Parameter(p.GetProperty("name").GetString()!, shape);
            Floats(p.GetProperty("init")).CopyTo(parameter.Value.Data, 0);
            return parameter;
        }).ToArray();
    }

    private static Optimizer Create(string kind, JsonElement o, Parameter[] ps)
    {
        float F(string name, float fallback) => o.TryGetProperty(name, out var v) ? v.GetSingle() : fallback;
        bool B(string name) => o.TryGetProperty(name, out var v) && v.GetBoolean();
        float lr = F("lr", float.NaN);
        float beta1 = 0.9f, beta2 = 0.999f;
        if (o.TryGetProperty("betas", out var betas)) (beta1, beta2) = (betas[0].GetSingle(), betas[1].GetSingle());
        return kind switch
        {
            "sgd" => new Sgd(ps, lr, F("momentum", 0), F("dampening", 0), B("nesterov"), F("weight_decay", 0)),
            "adagrad" => new Adagrad(ps, lr, F("eps", 1e-10f), F("weight_decay", 0), F("initial_accumulator_value", 0), F("lr_decay", 0)),
            "rmsprop" => new RmsProp(ps, lr, F("alpha", 0.99f), F("eps", 1e-8f), F("momentum", 0), B("centered"), F("weight_decay", 0)),
            "adam" => new Adam(ps, lr, beta1, beta2, F("eps", 1e-8f), F("weight_decay", 0)),
            "adamw" => new AdamW(ps, lr, beta1, beta2, F("eps", 1e-8f), F("weight_decay", 0.01f)),
            _ => throw new InvalidOperationException($"unknown optimizer {kind} in the fixture"),
        };
    }

    private static JsonElement Case(string name) =>
        Reference.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);

    private static void SetGradients(Parameter[] ps, int step)
    {
        var grads = Reference.GetProperty("grads")[step];
        foreach (var p in ps) Floats(grads.GetProperty(p.Name)).CopyTo(p.Grad.Data, 0);
    }

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorchBitForBit(string name)
    {
        var c = Case(name);
        var ps = FixtureParameters();
        var opt = Create(c.GetProperty("optimizer").GetString()!, c.GetProperty("options"), ps);
        var lrs = Floats(c.GetProperty("lrs"));
        var expected = c.GetProperty("expected");
        for (int step = 0; step < lrs.Length; step++)
        {
            opt.LearningRate = lrs[step];
            SetGradients(ps, step);
            opt.Step();
            Assert.Equal(step + 1, opt.StepCount);
            foreach (var p in ps)
            {
                var want = Floats(expected[step].GetProperty(p.Name));
                for (int i = 0; i < want.Length; i++)
                    if (BitConverter.SingleToInt32Bits(want[i]) != BitConverter.SingleToInt32Bits(p.Value.Data[i]))
                        Assert.Fail($"{name} step {step + 1} {p.Name}[{i}]: got {p.Value.Data[i]:R}, PyTorch {want[i]:R}");
            }
        }
    }

    public static TheoryData<string> Kinds => new() { "sgd", "sgd_nesterov", "adagrad", "rmsprop", "rmsprop_full", "adam", "adamw" };

    private static Optimizer Make(string kind, Parameter[] ps) => kind switch
    {
        "sgd" => new Sgd(ps, 0.1f, momentum: 0.9f, dampening: 0.1f),
        "sgd_nesterov" => new Sgd(ps, 0.1f, momentum: 0.9f, nesterov: true, weightDecay: 1e-3f),
        "adagrad" => new Adagrad(ps, 0.05f, weightDecay: 1e-3f, initialAccumulatorValue: 0.1f),
        "rmsprop" => new RmsProp(ps, 0.01f),
        "rmsprop_full" => new RmsProp(ps, 0.01f, momentum: 0.9f, centered: true, weightDecay: 1e-2f),
        "adam" => new Adam(ps, 0.01f, weightDecay: 1e-2f),
        "adamw" => new AdamW(ps, 0.01f),
        _ => throw new ArgumentException(kind),
    };

    private static Parameter[] RandomParameters(ulong seed)
    {
        var rng = new Rng(seed);
        Parameter[] ps = [new Parameter("w", 5, 7), new Parameter("b", 40)];
        foreach (var p in ps) GradCheck.RandomArray(rng, p.Value.Length).CopyTo(p.Value.Data, 0);
        return ps;
    }

    private static void RandomGradients(Parameter[] ps, Rng rng)
    {
        foreach (var p in ps) GradCheck.RandomArray(rng, p.Grad.Length).CopyTo(p.Grad.Data, 0);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void SavedStateResumesBitIdentically(string kind)
    {
        var straight = RandomParameters(1);
        var opt = Make(kind, straight);
        var grads = new Rng(2);
        for (int s = 0; s < 3; s++)
        {
            RandomGradients(straight, grads);
            opt.Step();
        }
        // Checkpoint: copies of the parameters and the optimizer state, as a model directory would hold them.
        var resumed = RandomParameters(99);
        for (int i = 0; i < resumed.Length; i++) straight[i].Value.Span.CopyTo(resumed[i].Value.Span);
        var saved = opt.State().ToDictionary(e => e.Name, e => e.Value.Clone());
        Assert.NotEmpty(saved);
        var opt2 = Make(kind, resumed);
        opt2.LoadState(saved, opt.StepCount);
        Assert.Equal(3, opt2.StepCount);

        var grads2 = Rng.FromState(grads.State);
        for (int s = 0; s < 4; s++)
        {
            RandomGradients(straight, grads);
            RandomGradients(resumed, grads2);
            opt.Step();
            opt2.Step();
        }
        for (int i = 0; i < straight.Length; i++) Assert.Equal(straight[i].Value.Data, resumed[i].Value.Data);
    }

    [Fact]
    public void StateNamesFollowPyTorch()
    {
        var ps = RandomParameters(1);
        Assert.Equal(["exp_avg.w", "exp_avg.b", "exp_avg_sq.w", "exp_avg_sq.b"], new Adam(ps).State().Select(e => e.Name));
        Assert.Equal(["momentum_buffer.w", "momentum_buffer.b"], new Sgd(ps, 0.1f, momentum: 0.9f).State().Select(e => e.Name));
        Assert.Empty(new Sgd(ps, 0.1f).State());
        Assert.Equal(["sum.w", "sum.b"], new Adagrad(ps).State().Select(e => e.Name));
        Assert.Equal(["square_avg.w", "square_avg.b", "momentum_buffer.w", "momentum_buffer.b", "grad_avg.w", "grad_avg.b"],
            new RmsProp(ps, momentum: 0.5f, centered: true).State().Select(e => e.Name));
        Assert.All(new Adagrad(ps, initialAccumulatorValue: 0.25f).State(), e => Assert.All(e.Value.Data, v => Assert.Equal(0.25f, v)));
    }

    [Fact]
    public void LoadStateRefusesMissingMisshapedAndForeignEntries()
    {
        var ps = RandomParameters(1);
        var adam = new Adam(ps);
        var state = adam.State().ToDictionary(e => e.Name, e => e.Value.Clone());

        var missing = new Dictionary<string, Tensor>(state);
        missing.Remove("exp_avg_sq.b");
        Assert.Contains("missing state entry 'exp_avg_sq.b'", Assert.Throws<ArgumentException>(() => adam.LoadState(missing, 1)).Message);

        var misshaped = new Dictionary<string, Tensor>(state) { ["exp_avg.w"] = new Tensor(7, 5) };
        var e = Assert.Throws<ShapeException>(() => adam.LoadState(misshaped, 1));
        Assert.Contains("'exp_avg.w'", e.Message);
        Assert.Contains("[7, 5]", e.Message);

        var foreign = new Dictionary<string, Tensor>(state) { ["momentum_buffer.w"] = new Tensor(5, 7) };
        Assert.Contains("unexpected state entry 'momentum_buffer.w'", Assert.Throws<ArgumentException>(() => adam.LoadState(foreign, 1)).Message);

        Assert.Throws<ArgumentException>(() => adam.LoadState(state, -1));
        Assert.Equal(0, adam.StepCount); // nothing changed by the failed loads
    }

    [Fact]
    public void HyperparametersAreReadAsTheDecimalsTheyWereWrittenAs()
    {
        Assert.Equal(0.99, Optimizer.AsWritten(0.99f));
        Assert.Equal(1e-3, Optimizer.AsWritten(1e-3f));
        Assert.Equal(0.999, Optimizer.AsWritten(0.999f));
        Assert.NotEqual(0.99, (double)0.99f); // the reason: 1 − 0.99f in double is not PyTorch's 1 − 0.99
    }

    [Fact]
    public void ZeroGradClearsEveryGradientAndStepLeavesThem()
    {
        var ps = RandomParameters(1);
        RandomGradients(ps, new Rng(3));
        var before = ps.Select(p => p.Grad.Clone()).ToArray();
        var opt = new Sgd(ps, 0.1f);
        opt.Step();
        for (int i = 0; i < ps.Length; i++) Assert.Equal(before[i].Data, ps[i].Grad.Data);
        opt.ZeroGrad();
        Assert.All(ps, p => Assert.All(p.Grad.Data, v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void HyperparametersAreValidatedWithClearMessages()
    {
        var ps = RandomParameters(1);
        Assert.Contains("learning rate must be ≥ 0, got -1", Assert.Throws<ArgumentException>(() => new Sgd(ps, -1f)).Message);
        Assert.Contains("momentum must be ≥ 0", Assert.Throws<ArgumentException>(() => new Sgd(ps, 0.1f, momentum: -0.5f)).Message);
        Assert.Contains("nesterov", Assert.Throws<ArgumentException>(() => new Sgd(ps, 0.1f, nesterov: true)).Message);
        Assert.Contains("nesterov", Assert.Throws<ArgumentException>(() => new Sgd(ps, 0.1f, momentum: 0.9f, dampening: 0.1f, nesterov: true)).Message);
        Assert.Contains("beta1 must be in [0, 1), got 1", Assert.Throws<ArgumentException>(() => new Adam(ps, beta1: 1f)).Message);
        Assert.Contains("beta2 must be in [0, 1), got -0.1", Assert.Throws<ArgumentException>(() => new AdamW(ps, beta2: -0.1f)).Message);
        Assert.Contains("eps must be ≥ 0", Assert.Throws<ArgumentException>(() => new RmsProp(ps, eps: -1f)).Message);
        Assert.Contains("alpha must be ≥ 0", Assert.Throws<ArgumentException>(() => new RmsProp(ps, alpha: -1f)).Message);
        Assert.Contains("weight decay must be ≥ 0", Assert.Throws<ArgumentException>(() => new Adagrad(ps, weightDecay: -1f)).Message);
        Assert.Contains("initial accumulator value", Assert.Throws<ArgumentException>(() => new Adagrad(ps, initialAccumulatorValue: -1f)).Message);
        Assert.Contains("learning rate", Assert.Throws<ArgumentException>(() => new Adam(ps).LearningRate = float.NaN).Message);
        Assert.Contains("empty parameter list", Assert.Throws<ArgumentException>(() => new Adam([])).Message);
        Assert.Contains("two parameters are named 'w'", Assert.Throws<ArgumentException>(() => new Adam([ps[0], ps[0]])).Message);
    }
}
