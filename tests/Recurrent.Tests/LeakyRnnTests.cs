using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The leaky-integrator RNN in RecurrentLayer (CellKind.Leaky): finite differences on every path (1 and 2 layers, both
/// directions, lengths, batch-first; learned α including dL/d leak, and fixed α), α = 1 against the tanh RNN to the bit,
/// PyTorch autograd (fixtures/leaky/leaky_reference.safetensors, written by make_leaky_reference.py), names, options
/// and errors. The thread cuts are in <see cref="LeakyRnnThreadsTests"/>.
/// </summary>
public class LeakyRnnTests
{
    public static TheoryData<bool, int, bool, bool, bool> Cases()
    {
        var data = new TheoryData<bool, int, bool, bool, bool>();
        foreach (bool learned in new[] { true, false })
            foreach (var (layers, bidirectional) in new[] { (1, false), (1, true), (2, false), (2, true) })
                foreach (bool withLengths in new[] { false, true })
                    data.Add(learned, layers, bidirectional, withLengths, layers == 2 && !withLengths);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardMatchesFiniteDifferences(bool learned, int layers, bool bidirectional, bool withLengths, bool batchFirst)
    {
        const int I = 3, H = 4, T = 4, B = 3;
        var rng = new Rng(23);
        var leak = learned ? Leak.Learn(0.4f) : Leak.Fixed(0.3f);
        var layer = new RecurrentLayer(CellKind.Leaky, I, H, layers, bidirectional, batchFirst: batchFirst, rng: rng, leak: leak);
        // Learned leaks spread over α ∈ (0.12, 0.88), as after training, so every unit's dα differs.
        foreach (var p in layer.Parameters().Where(p => p.Name.StartsWith("leak_")))
            GradCheck.RandomArray(rng, H, 2f).CopyTo(p.Value.Data, 0);
        var problem = new RecurrentLayerGradientTests.Problem(layer, rng, T, B, withLengths ? [4, 1, 2] : null);

        problem.Backward();
        GradCheck.Check("input", problem.Input.Data, problem.Grads.DInput.Data, problem.Loss);
        GradCheck.Check("h0", problem.H0.Data, problem.Grads.DH0.Data, problem.Loss);
        foreach (var p in layer.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), problem.Loss);
        int D = bidirectional ? 2 : 1;
        Assert.Equal(layers * D * (learned ? 5 : 4), layer.Parameters().Count());
        if (learned) Assert.All(layer.Parameters().Where(p => p.Name.StartsWith("leak_")), p => Assert.Contains(p.Grad.Data, g => g != 0f));
    }

    [Fact]
    public void GradientChecksCatchAWrongLeakGradient()
    {
        // The leak's gradient is checked for real: one element off by 5% fails.
        var rng = new Rng(5);
        var layer = new RecurrentLayer(CellKind.Leaky, 3, 4, rng: rng, leak: Leak.Learn(0.3f));
        var problem = new RecurrentLayerGradientTests.Problem(layer, rng, 4, 2, null);
        problem.Backward();
        var leak = layer.Parameters().Single(p => p.Name == "leak_l0");
        var wrong = leak.Grad.Data.ToArray();
        wrong[2] += 0.05f * Math.Abs(wrong[2]) + 1e-2f;
        Assert.ThrowsAny<Exception>(() => GradCheck.Check("leak_l0", leak.Value.Data, wrong, problem.Loss));
    }

    [Theory]
    [InlineData(1, false, false, 3)]
    [InlineData(2, true, true, 3)]
    [InlineData(2, true, false, 24)]   // a batch the threaded loop would cut by rows
    public void AlphaOneIsTheTanhRnnToTheBit(int layers, bool bidirectional, bool withLengths, int batch)
    {
        const int I = 5, H = 19, T = 6;
        var leaky = new RecurrentLayer(CellKind.Leaky, I, H, layers, bidirectional, rng: new Rng(3), leak: Leak.Fixed(1f));
        var tanh = new RecurrentLayer(CellKind.RnnTanh, I, H, layers, bidirectional, rng: new Rng(3));
        Assert.Equal(tanh.Parameters().Select(p => p.Name), leaky.Parameters().Select(p => p.Name));
        foreach (var (a, b) in tanh.Parameters().Zip(leaky.Parameters())) Assert.Equal(a.Value.Data, b.Value.Data);
        var rng = new Rng(4);
        int D = bidirectional ? 2 : 1;
        var x = new Tensor(GradCheck.RandomArray(rng, T * batch * I), T, batch, I);
        var h0 = new Tensor(GradCheck.RandomArray(rng, layers * D * batch * H), layers * D, batch, H);
        var r = new Tensor(GradCheck.RandomArray(rng, T * batch * D * H), T, batch, D * H);
        var rh = new Tensor(GradCheck.RandomArray(rng, layers * D * batch * H), layers * D, batch, H);
        int[]? lengths = withLengths ? Enumerable.Range(0, batch).Select(b => T - b % 4).ToArray() : null;

        float[][] Run(RecurrentLayer layer)
        {
            layer.ZeroGrad();
            var o = layer.Forward(x, h0, lengths: lengths);
            float[][] forward = [o.Output.Data.ToArray(), o.HN.Data.ToArray()];
            var g = layer.Backward(r, rh);
            return [.. forward, g.DInput.Data.ToArray(), g.DH0.Data.ToArray(), .. layer.Parameters().Select(p => p.Grad.Data.ToArray())];
        }
        Assert.Equal(Run(tanh), Run(leaky));
    }

    [Fact]
    public void MatchesThePyTorchReference()
    {
        var file = SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "fixtures", "leaky", "leaky_reference.safetensors"));
        var cases = file.Metadata["cases"].Split(',');
        Assert.Equal(["l1_uni_learned", "l2_bi_learned", "l1_bi_fixed"], cases);
        foreach (string name in cases)
        {
            string c = name + ".";
            int layers = int.Parse(file.Metadata[c + "num_layers"]);
            bool bidirectional = file.Metadata[c + "bidirectional"] == "true";
            string leakText = file.Metadata[c + "leak"];
            var leak = leakText == "learned" ? Leak.Learn() : Leak.Fixed(float.Parse(leakText, System.Globalization.CultureInfo.InvariantCulture));
            var input = file.Float(c + "input");
            int T = input.Shape[0], B = input.Shape[1], I = input.Shape[2], H = file.Shape(c + "weight_hh_l0")[1], D = bidirectional ? 2 : 1;
            var layer = new RecurrentLayer(CellKind.Leaky, I, H, layers, bidirectional, leak: leak);
            foreach (var p in layer.Parameters()) file.CopyTo(c + p.Name, p.Value);
            Assert.Equal(file.Names.Count(n => n.StartsWith(c + "grad.") && !n.EndsWith(".input") && !n.EndsWith(".h0")), layer.Parameters().Count());

            layer.ZeroGrad();
            var o = layer.Forward(input, file.Float(c + "h0", [layers * D, B, H]), lengths: file.Indices(c + "lengths"));
            AssertClose(c + "output", file.Float(c + "expected.output", [T, B, D * H]).Data, o.Output.Data);
            AssertClose(c + "h_n", file.Float(c + "expected.h_n").Data, o.HN.Data);
            var r = file.Float(c + "R");
            var rh = file.Float(c + "Rh");
            double loss = GradCheck.Dot(o.Output.Data, r.Data) + GradCheck.Dot(o.HN.Data, rh.Data);
            AssertClose(c + "loss", file.Float(c + "expected.loss").Data, [(float)loss]);
            var g = layer.Backward(r, rh);
            AssertClose(c + "grad.input", file.Float(c + "grad.input").Data, g.DInput.Data);
            AssertClose(c + "grad.h0", file.Float(c + "grad.h0").Data, g.DH0.Data);
            foreach (var p in layer.Parameters()) AssertClose(c + "grad." + p.Name, file.Float(c + "grad." + p.Name, p.Shape).Data, p.Grad.Data);
        }
    }

    [Fact]
    public void NamesInitializationAndDescription()
    {
        var learned = new RecurrentLayer(CellKind.Leaky, 3, 4, numLayers: 2, bidirectional: true, rng: new Rng(1), leak: Leak.Learn(0.2f));
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "leak_l0",
                      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "leak_l0_reverse",
                      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "leak_l1",
                      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse", "leak_l1_reverse"],
            learned.Parameters().Select(p => p.Name));
        // The leak starts at logit(α0) in every unit; the weights are drawn as the tanh RNN's (the leak draws nothing).
        foreach (var p in learned.Parameters().Where(p => p.Name.StartsWith("leak_")))
            Assert.All(p.Value.Data, u => Assert.Equal(0.2f, 1f / (1f + MathF.Exp(-u)), 1e-6f));
        var tanh = new RecurrentLayer(CellKind.RnnTanh, 3, 4, numLayers: 2, bidirectional: true, rng: new Rng(1));
        Assert.Equal(tanh.Parameters().Select(p => p.Value.Data), learned.Parameters().Where(p => !p.Name.StartsWith("leak_")).Select(p => p.Value.Data));
        Assert.Equal("LeakyRNN(3, 4, num_layers=2, bidirectional=True, leak=learned:0.2)", learned.ToString());
        Assert.Equal("LeakyRNN(3, 4, leak=0.5)", new RecurrentLayer(CellKind.Leaky, 3, 4).ToString());
        Assert.Equal(Leak.Default, new RecurrentLayer(CellKind.Leaky, 3, 4).Leak);
        Assert.Equal(4, new RecurrentLayer(CellKind.Leaky, 3, 4).Parameters().Count());
    }

    [Fact]
    public void LeakOptionsParseAndBadOnesAreRejected()
    {
        Assert.Equal(Leak.Fixed(0.25f), Leak.Parse("0.25"));
        Assert.Equal(Leak.Fixed(1f), Leak.Parse("1"));
        Assert.Equal(Leak.Learn(0.5f), Leak.Parse("learned"));
        Assert.Equal(Leak.Learn(0.1f), Leak.Parse("learned:0.1"));
        Assert.Equal("learned:0.1", Leak.Learn(0.1f).ToString());
        Assert.Equal(Leak.Learn(0.1f), Leak.Parse(Leak.Learn(0.1f).ToString()));
        foreach (string bad in new[] { "0", "-0.5", "1.5", "learned:1", "learned:0", "fast", "learned:x", "NaN" })
            Assert.Contains(bad, Assert.Throws<ArgumentException>(() => Leak.Parse(bad)).Message);
        var e = Assert.Throws<ArgumentException>(() => new RecurrentLayer(CellKind.Lstm, 3, 4, leak: Leak.Fixed(0.5f)));
        Assert.Contains("leak", e.Message);
        Assert.Throws<ArgumentException>(() => new RecurrentLayer(CellKind.Leaky, 3, 4, leak: Leak.Fixed(0f)));
        Assert.Throws<ArgumentException>(() => RecurrentCell.Create(CellKind.Gru, 3, 4, leak: Leak.Learn()));
    }

    internal static void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:G8}, got {actual[i]:G8}");
    }
}

/// <summary>
/// The leaky cell's loops cut by rows (batches of 16 and 24), by units (8) and unpacked (4) give the same bits at 1, 2
/// and 3 threads, a learned α's gradient (summed per block of rows) included. Sets Gemm.Threads, so it runs alone.
/// </summary>
[Collection("Gemm.Threads")]
public class LeakyRnnThreadsTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(8)]
    [InlineData(4)]
    public void ThreadCountChangesNoBit(int batch)
    {
        float[][] one = Run(batch, threads: 1);
        Assert.Equal(one, Run(batch, threads: 2));
        Assert.Equal(one, Run(batch, threads: 3));
    }

    private static float[][] Run(int batch, int threads)
    {
        const int I = 7, H = 136, T = 5;
        using var threadsScope = new GemmThreadsScope(threads);
        var rng = new Rng(11);
        var layer = new RecurrentLayer(CellKind.Leaky, I, H, numLayers: 2, bidirectional: true, rng: rng, leak: Leak.Learn(0.3f));
        foreach (var p in layer.Parameters().Where(p => p.Name.StartsWith("leak_")))
            GradCheck.RandomArray(rng, H, 2f).CopyTo(p.Value.Data, 0);
        var input = new Tensor(T, batch, I);
        for (int i = 0; i < input.Length; i++) input.Data[i] = rng.Uniform(-1f, 1f);
        int[] lengths = Enumerable.Range(0, batch).Select(b => T - b % 3).ToArray();
        var output = layer.Forward(input, lengths: lengths);
        var dOutput = new Tensor(output.Output.Shape);
        for (int i = 0; i < dOutput.Length; i++) dOutput.Data[i] = rng.Uniform(-1f, 1f);
        float[][] forward = [output.Output.Data.ToArray(), output.HN.Data.ToArray()];
        var grads = layer.Backward(dOutput);
        return [.. forward, grads.DInput.Data.ToArray(), grads.DH0.Data.ToArray(),
            .. layer.Parameters().Select(p => p.Grad.Data.ToArray())];
    }
}
