using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// RecurrentLayer with bias: false (PyTorch's bias=False): finite differences for every cell, one and two layers, both
/// directions; the same numbers to the bit as a layer with biases held at zero (at a size the threads cut too); the
/// parameter names and their initialization order; state dicts with and without biases. Against PyTorch: the
/// fixtures in reference/nobias (<see cref="VerifyTests"/>).
/// </summary>
public class RecurrentLayerBiasTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("recurrent-bias-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<CellKind, int, bool, bool> Cases()
    {
        var data = new TheoryData<CellKind, int, bool, bool>();
        foreach (var cell in Enum.GetValues<CellKind>())
            foreach (var (layers, bidirectional) in new[] { (1, false), (1, true), (2, true) })
                data.Add(cell, layers, bidirectional, layers == 2);
        return data;
    }

    internal static Leak? LeakOf(CellKind cell) => cell == CellKind.Leaky ? Leak.Learn(0.4f) : null;

    [Theory, MemberData(nameof(Cases))]
    public void BackwardMatchesFiniteDifferences(CellKind cell, int layers, bool bidirectional, bool withLengths)
    {
        const int I = 3, H = 4, T = 4, B = 3;
        var rng = new Rng(17);
        var layer = new RecurrentLayer(cell, I, H, layers, bidirectional, rng: rng, leak: LeakOf(cell), bias: false);
        var problem = new RecurrentLayerGradientTests.Problem(layer, rng, T, B, withLengths ? [4, 1, 2] : null);

        // Without biases a ReLU unit's pre-activation is a sum of a few small terms and often lies within the default
        // step (4e-3 moves it by ~2e-3) of the kink at 0, where the difference quotient straddles two slopes: a smaller
        // step keeps to one slope, at the price of more float32 rounding in the quotient, hence the wider atol.
        var (eps, atol) = cell == CellKind.RnnRelu ? (2e-4, 3e-3) : (4e-3, 1e-3);
        void Check(string what, float[] x, ReadOnlySpan<float> analytic) => GradCheck.Check(what, x, analytic, problem.Loss, eps, atol);

        problem.Backward();
        Check("input", problem.Input.Data, problem.Grads.DInput.Data);
        Check("h0", problem.H0.Data, problem.Grads.DH0.Data);
        if (cell == CellKind.Lstm) Check("c0", problem.C0!.Data, problem.Grads.DC0!.Data);
        foreach (var p in layer.Parameters()) Check(p.Name, p.Value.Data, p.Grad.Data.ToArray());
        Assert.DoesNotContain(layer.Parameters(), p => p.Name.StartsWith("bias_"));
    }

    /// <summary>
    /// bias: false computes what a layer with biases computes when they are zero: its outputs, states and gradients to
    /// the bit (the bias-free layer adds a zero vector where the other adds the zero biases). The sizes the threads cut
    /// are in <see cref="RecurrentLayerBiasThreadsTests"/>.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.RnnTanh)]
    [InlineData(CellKind.RnnRelu)]
    [InlineData(CellKind.Leaky)]
    public void WithoutBiasEqualsZeroBiasesToTheBit(CellKind cell) => AssertEqualsZeroBiases(cell, 3, 5, 2, 1);

    internal static void AssertEqualsZeroBiases(CellKind cell, int I, int H, int B, int layers)
    {
        const int T = 5;
        var free = new RecurrentLayer(cell, I, H, layers, bidirectional: true, rng: new Rng(4), leak: LeakOf(cell), bias: false);
        var zeroed = new RecurrentLayer(cell, I, H, layers, bidirectional: true, rng: new Rng(9), leak: LeakOf(cell));
        var weights = free.Parameters().ToDictionary(p => p.Name);
        foreach (var p in zeroed.Parameters())
        {
            if (p.Name.StartsWith("bias_")) p.Value.Zero();
            else weights[p.Name].Value.Span.CopyTo(p.Value.Span);
        }
        Assert.Equal(zeroed.Parameters().Count(), free.Parameters().Count() + 2 * layers * 2);

        int[] lengths = Enumerable.Range(0, B).Select(b => 1 + b % T).ToArray();
        var problems = new[] { free, zeroed }.Select(l => new RecurrentLayerGradientTests.Problem(l, new Rng(11), T, B, lengths)).ToArray();
        foreach (var problem in problems) problem.Backward();
        var (a, b) = (problems[0], problems[1]);
        var (outA, outB) = (free.Forward(a.Input, a.H0, a.C0, lengths), zeroed.Forward(b.Input, b.H0, b.C0, lengths));
        Assert.Equal(outB.Output.Span.ToArray(), outA.Output.Span.ToArray());
        Assert.Equal(outB.HN.Span.ToArray(), outA.HN.Span.ToArray());
        if (cell == CellKind.Lstm) Assert.Equal(outB.CN!.Span.ToArray(), outA.CN!.Span.ToArray());
        Assert.Equal(b.Grads.DInput.Span.ToArray(), a.Grads.DInput.Span.ToArray());
        Assert.Equal(b.Grads.DH0.Span.ToArray(), a.Grads.DH0.Span.ToArray());
        foreach (var p in free.Parameters())
            Assert.Equal(zeroed.Parameters().Single(q => q.Name == p.Name).Grad.Span.ToArray(), p.Grad.Span.ToArray());
        // The biases would have learned something: their gradients are not zero, so the comparison above is no accident.
        Assert.Contains(zeroed.Parameters().Where(p => p.Name.StartsWith("bias_")), p => p.Grad.Span.ToArray().Any(g => g != 0f));
    }

    [Fact]
    public void ParametersArePyTorchsWithoutTheBiasesAndDrawnInItsOrder()
    {
        var free = new RecurrentLayer(CellKind.Gru, 3, 4, numLayers: 2, bidirectional: true, rng: new Rng(5), bias: false);
        Assert.False(free.Bias);
        Assert.True(new RecurrentLayer(CellKind.Gru, 3, 4, rng: new Rng(5)).Bias);
        Assert.Equal(
        [
            "weight_ih_l0[12, 3]", "weight_hh_l0[12, 4]", "weight_ih_l0_reverse[12, 3]", "weight_hh_l0_reverse[12, 4]",
            "weight_ih_l1[12, 8]", "weight_hh_l1[12, 4]", "weight_ih_l1_reverse[12, 8]", "weight_hh_l1_reverse[12, 4]",
        ], free.Parameters().Select(p => $"{p.Name}{Tensor.Describe(p.Shape)}"));

        // PyTorch's reset_parameters draws U(±1/√H) for each parameter in order: without biases the weights follow
        // each other. The first direction's two weights come first either way.
        var biased = new RecurrentLayer(CellKind.Gru, 3, 4, numLayers: 2, bidirectional: true, rng: new Rng(5));
        var drawn = new Rng(5);
        foreach (var p in free.Parameters())
        {
            var expected = new Tensor(p.Shape);
            Init.Uniform(expected, 0.5f, drawn);
            Assert.Equal(expected.Data, p.Value.Data);
        }
        Assert.Equal(biased.Parameters().First().Value.Data, free.Parameters().First().Value.Data);
    }

    [Fact]
    public void AStateDictWithoutBiasesLoads_AndBiasesIntoABiasFreeLayerFailNamingTheTensor()
    {
        var source = new RecurrentLayer(CellKind.Lstm, 3, 4, bidirectional: true, rng: new Rng(1), bias: false);
        string freePath = Path.Combine(_dir, "free.safetensors");
        StateDict.Save(freePath, source);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse"], SafeTensorsFile.Read(freePath).Names);

        var target = new RecurrentLayer(CellKind.Lstm, 3, 4, bidirectional: true, rng: new Rng(2), bias: false);
        StateDict.Load(SafeTensorsFile.Read(freePath), target);
        foreach (var (s, t) in source.Parameters().Zip(target.Parameters())) Assert.Equal(s.Value.Data, t.Value.Data);

        string biasedPath = Path.Combine(_dir, "biased.safetensors");
        StateDict.Save(biasedPath, new RecurrentLayer(CellKind.Lstm, 3, 4, bidirectional: true, rng: new Rng(3)));
        var before = target.Parameters().Select(p => p.Value.Data.ToArray()).ToArray();
        string message = Assert.Throws<InvalidDataException>(() => StateDict.Load(SafeTensorsFile.Read(biasedPath), target)).Message;
        Assert.Contains("'bias_ih_l0'", message);
        Assert.DoesNotContain('\n', message);
        Assert.Equal(before, target.Parameters().Select(p => p.Value.Data.ToArray()).ToArray()); // nothing was copied

        // And the other way: a layer with biases needs them in the file.
        var biased = new RecurrentLayer(CellKind.Lstm, 3, 4, bidirectional: true, rng: new Rng(4));
        message = Assert.Throws<InvalidDataException>(() => StateDict.Load(SafeTensorsFile.Read(freePath), biased)).Message;
        Assert.Contains("no tensor 'bias_ih_l0'", message);
    }
}

/// <summary>
/// bias: false against zero biases (<see cref="RecurrentLayerBiasTests.AssertEqualsZeroBiases"/>) where the time loops
/// are cut over threads: B = 24 rows in three blocks, H = 128 (every cell's step is worth a second thread), at 1 and 2
/// threads. Sets Gemm.Threads, so it runs alone.
/// </summary>
[Collection("Gemm.Threads")]
public class RecurrentLayerBiasThreadsTests
{
    [Theory]
    [InlineData(CellKind.Lstm, 1)]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Gru, 1)]
    [InlineData(CellKind.Gru, 2)]
    [InlineData(CellKind.RnnTanh, 2)]
    [InlineData(CellKind.Leaky, 2)]
    public void WithoutBiasEqualsZeroBiasesToTheBit(CellKind cell, int threads)
    {
        using var threadsScope = new GemmThreadsScope(threads);
        RecurrentLayerBiasTests.AssertEqualsZeroBiases(cell, 16, 128, 24, 2);
    }
}
