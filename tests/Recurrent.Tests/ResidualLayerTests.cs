using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Residual (skip) connections in RecurrentLayer and RecurrentStack: h^k = RNN_k(dropout(h^{k−1})) + h^{k−1} for k ≥ 1.
/// Finite-difference checks of Backward on tiny sizes (3 layers so a skip feeds a skip; both directions, lengths,
/// batch-first), and the forward's meaning: the sum, what is added when dropout sits between layers, zero past lengths.
/// </summary>
public class ResidualLayerTests
{
    public static TheoryData<CellKind, bool, bool, bool> LayerCases() => new()
    {
        { CellKind.Lstm, false, false, false },
        { CellKind.Lstm, true, true, false },
        { CellKind.Lstm, true, false, true },
        { CellKind.Gru, false, true, true },
        { CellKind.RnnTanh, true, true, false },
    };

    [Theory, MemberData(nameof(LayerCases))]
    public void LayerBackwardMatchesFiniteDifferences(CellKind cell, bool bidirectional, bool withLengths, bool batchFirst)
    {
        const int I = 3, H = 4, T = 4, B = 3;
        var rng = new Rng(23);
        var layer = new RecurrentLayer(cell, I, H, 3, bidirectional, batchFirst: batchFirst, rng: rng, residual: true);
        var problem = new RecurrentLayerGradientTests.Problem(layer, rng, T, B, withLengths ? [4, 1, 2] : null);

        problem.Backward();
        GradCheck.Check("input", problem.Input.Data, problem.Grads.DInput.Data, problem.Loss);
        GradCheck.Check("h0", problem.H0.Data, problem.Grads.DH0.Data, problem.Loss);
        if (cell == CellKind.Lstm) GradCheck.Check("c0", problem.C0!.Data, problem.Grads.DC0!.Data, problem.Loss);
        foreach (var p in layer.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), problem.Loss);
    }

    [Fact]
    public void LayerBackwardWithoutAnOutputGradient()
    {
        // Only h_n is used: the skips carry no output gradient, and the input gradient is the cells' alone.
        const int T = 3, B = 2;
        var rng = new Rng(8);
        var layer = new RecurrentLayer(CellKind.Gru, 4, 2, 3, bidirectional: true, rng: rng, residual: true);
        var problem = new RecurrentLayerGradientTests.Problem(layer, rng, T, B, [3, 2]);
        double Loss() => GradCheck.Dot(layer.Forward(problem.Input, problem.H0, lengths: problem.Lengths).HN.Data, problem.Rh.Data);
        layer.ZeroGrad();
        Loss();
        var grads = layer.Backward(null, problem.Rh);
        GradCheck.Check("input", problem.Input.Data, grads.DInput.Data, Loss);
        foreach (var p in layer.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), Loss);
    }

    [Fact]
    public void EachLayerAboveTheFirstAddsTheOneBelow()
    {
        // Three single layers with the same weights, chained by hand, give the residual stack's output.
        const int I = 3, H = 4, T = 5, B = 2;
        var layer = new RecurrentLayer(CellKind.Lstm, I, H, 3, rng: new Rng(4), residual: true);
        var single = Enumerable.Range(0, 3).Select(k => new RecurrentLayer(CellKind.Lstm, k == 0 ? I : H, H)).ToArray();
        var weights = layer.Parameters().ToArray();
        for (int k = 0; k < 3; k++)
            foreach (var (p, q) in single[k].Parameters().Zip(weights.Skip(4 * k).Take(4)))
                q.Value.Span.CopyTo(p.Value.Span);
        var x = Random(new Rng(5), T, B, I);

        var h0 = single[0].Forward(x).Output.Clone();
        var h1 = Sum(single[1].Forward(h0).Output, h0);
        var h2 = Sum(single[2].Forward(h1).Output, h1);
        var output = layer.Forward(x).Output;
        for (int i = 0; i < h2.Length; i++) Assert.Equal(h2.Data[i], output.Data[i], 5);
        Assert.NotEqual(h2.Data, single[2].Forward(h1).Output.Data); // the skip changes the output
    }

    [Fact]
    public void WithDropoutTheSkipAddsTheLayerBelowBeforeDropout()
    {
        // Same seed: the same weights and the same masks. The residual output minus the plain one is h^0 itself —
        // not dropout(h^0), which would be zero or doubled where masked.
        const int I = 3, H = 4, T = 5, B = 2;
        var x = Random(new Rng(6), T, B, I);
        var residual = new RecurrentLayer(CellKind.Gru, I, H, 2, dropout: 0.5f, rng: new Rng(9), residual: true);
        var plain = new RecurrentLayer(CellKind.Gru, I, H, 2, dropout: 0.5f, rng: new Rng(9));
        var first = new RecurrentLayer(CellKind.Gru, I, H, 1, rng: new Rng(9));
        var h0 = first.Forward(x).Output;
        var a = residual.Forward(x).Output.Clone();
        var b = plain.Forward(x).Output;
        for (int i = 0; i < a.Length; i++) Assert.Equal(h0.Data[i], a.Data[i] - b.Data[i], 5);

        var stackResidual = new RecurrentStack(CellKind.Gru, I, H, 2, false, 0.5f, "gru.", new Rng(9), residual: true);
        var stackPlain = new RecurrentStack(CellKind.Gru, I, H, 2, false, 0.5f, "gru.", new Rng(9));
        var c = stackResidual.Forward(x, null).Clone();
        var d = stackPlain.Forward(x, null);
        for (int i = 0; i < c.Length; i++) Assert.Equal(h0.Data[i], c.Data[i] - d.Data[i], 5);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void OutputIsZeroPastEachSequencesLength(bool bidirectional, bool batchFirst)
    {
        const int I = 3, H = 4, T = 5, B = 3;
        int[] lengths = [5, 2, 1];
        var rng = new Rng(12);
        var layer = new RecurrentLayer(CellKind.Lstm, I, H, 3, bidirectional, batchFirst: batchFirst, rng: rng, residual: true);
        var x = batchFirst ? Random(rng, B, T, I) : Random(rng, T, B, I);
        var output = layer.Forward(x, lengths: lengths).Output;
        // The stack is time-major: it reads x as [T, B, I] when the layer reads it batch-first (other numbers, same zeros).
        var stack = new RecurrentStack(CellKind.Lstm, I, H, 3, bidirectional, 0f, "lstm.", new Rng(1), residual: true);
        var stackOutput = stack.Forward(batchFirst ? new Tensor(x.Data, T, B, I) : x, lengths);
        int width = layer.NumDirections * H;
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                for (int j = 0; j < width; j++)
                {
                    int i = (batchFirst ? b * T + t : t * B + b) * width + j;
                    if (t >= lengths[b]) Assert.Equal(0f, output.Data[i]);
                    else Assert.NotEqual(0f, output.Data[i]);
                    if (t >= lengths[b]) Assert.Equal(0f, stackOutput.Data[(t * B + b) * width + j]);
                }
    }

    [Fact]
    public void NamesStayPyTorchs_AndToStringSaysResidual()
    {
        var plain = new RecurrentLayer(CellKind.Lstm, 7, 11, 3, bidirectional: true);
        var residual = new RecurrentLayer(CellKind.Lstm, 7, 11, 3, bidirectional: true, residual: true);
        Assert.Equal(plain.Parameters().Select(p => p.Name), residual.Parameters().Select(p => p.Name));
        Assert.Equal("LSTM(7, 11, num_layers=3, bidirectional=True)", plain.ToString());
        Assert.Equal("ResidualLSTM(7, 11, num_layers=3, bidirectional=True)", residual.ToString());
        Assert.True(residual.Residual);
        var stack = new RecurrentStack(CellKind.Gru, 3, 4, 3, true, 0f, "gru.", new Rng(1), residual: true);
        Assert.Equal(new RecurrentStack(CellKind.Gru, 3, 4, 3, true, 0f, "gru.", new Rng(1)).Parameters().Select(p => p.Name),
            stack.Parameters().Select(p => p.Name));
        Assert.Contains("gru.weight_ih_l2_reverse", stack.Parameters().Select(p => p.Name));
    }

    public static TheoryData<CellKind, bool, bool> StackCases() => new()
    {
        { CellKind.Lstm, false, false },
        { CellKind.Lstm, true, true },
        { CellKind.Gru, true, false },
        { CellKind.RnnRelu, false, true },
    };

    [Theory, MemberData(nameof(StackCases))]
    public void StackBackwardMatchesFiniteDifferences(CellKind cell, bool bidirectional, bool withLengths)
    {
        const int I = 3, H = 3, T = 4, B = 3;
        var rng = new Rng(32); // a seed with no ReLU pre-activation within eps of its kink
        var stack = new RecurrentStack(cell, I, H, 3, bidirectional, 0f, "rnn.", rng, residual: true);
        int D = bidirectional ? 2 : 1;
        var x = Random(rng, T, B, I);
        var r = Random(rng, T, B, D * H);
        var rTop = Random(rng, D, B, H);
        int[]? lengths = withLengths ? [4, 1, 3] : null;
        double Loss()
        {
            double loss = GradCheck.Dot(stack.Forward(x, lengths).Data, r.Data);
            return loss + GradCheck.Dot(stack.TopFinalHidden.Data, rTop.Data);
        }
        stack.ZeroGrad();
        Loss();
        var dx = stack.Backward(r, rTop);
        GradCheck.Check("x", x.Data, dx.Data, Loss);
        foreach (var p in stack.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), Loss);
    }

    private static Tensor Sum(Tensor a, Tensor b)
    {
        var s = new Tensor(a.Shape);
        Kernels.Add(a.Span, b.Span, s.Span);
        return s;
    }

    private static Tensor Random(Rng rng, params int[] shape)
    {
        var t = new Tensor(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = rng.Uniform(-1f, 1f);
        return t;
    }
}
