using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The single-step <see cref="LeakyCell"/> with a learned α (the fixed α runs through every test that covers all cell
/// kinds): finite differences through a feedback loop (dL/d leak included), a sequence without feedback against
/// RecurrentLayer, Advance against Step, α = 1 against RnnCell to the bit, names and description.
/// </summary>
public class LeakyCellTests
{
    private static LeakyCell LearnedCell(int inputSize, int hiddenSize, Rng rng)
    {
        var cell = new LeakyCell(inputSize, hiddenSize, rng, Leak.Learn(0.3f));
        GradCheck.RandomArray(rng, hiddenSize, 2f).CopyTo(cell.LeakParameter!.Value.Data, 0);
        return cell;
    }

    [Fact]
    public void BackwardThroughAFeedbackLoopMatchesFiniteDifferences()
    {
        var rng = new Rng(21);
        var cell = LearnedCell(4, 3, rng);
        foreach (var p in cell.Parameters().Take(4)) GradCheck.RandomArray(rng, p.Value.Length, 0.8f).CopyTo(p.Value.Data, 0);
        var loop = FeedbackLoop.Random(cell, rng, steps: 4, batch: 2, feedback: 2);

        cell.ZeroGrad();
        loop.Loss();
        loop.Backward();
        GradCheck.Check("u", loop.U, loop.DU, loop.Loss);
        GradCheck.Check("h0", loop.H0, loop.DH0, loop.Loss);
        foreach (var p in cell.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), loop.Loss);
        Assert.Contains(cell.LeakParameter!.Grad.Data, g => Math.Abs(g) > 1e-3f);
    }

    [Theory]
    [InlineData(5, 3, 7, 19)]
    [InlineData(3, 64, 40, 48)]
    public void ASequenceWithoutFeedbackEqualsRecurrentLayer(int T, int B, int I, int H)
    {
        var rng = new Rng(31);
        var layer = new RecurrentLayer(CellKind.Leaky, I, H, rng: rng, leak: Leak.Learn(0.3f));
        var cell = new LeakyCell(I, H, new Rng(99), Leak.Learn(0.3f));
        GradCheck.RandomArray(rng, H, 2f).CopyTo(layer.Parameters().Last().Value.Data, 0);
        Assert.Equal(layer.Parameters().Select(p => p.Name.Replace("_l0", "")), cell.Parameters().Select(p => p.Name));
        foreach (var (from, to) in layer.Parameters().Zip(cell.Parameters())) from.Value.Data.CopyTo(to.Value.Data, 0);
        var x = new Tensor(GradCheck.RandomArray(rng, T * B * I), T, B, I);
        var h0 = new Tensor(GradCheck.RandomArray(rng, B * H), 1, B, H);
        var r = new Tensor(GradCheck.RandomArray(rng, T * B * H), T, B, H);

        var output = layer.Forward(x, h0);
        var grads = layer.Backward(r);
        cell.Begin(T, B, h0.Data);
        for (int t = 0; t < T; t++)
            LeakyRnnTests.AssertClose($"h[{t}]", output.Output.Data.AsSpan(t * B * H, B * H), cell.Step(t, x.Data.AsSpan(t * B * I, B * I)));
        for (int t = T - 1; t >= 0; t--)
            LeakyRnnTests.AssertClose($"dx[{t}]", grads.DInput.Data.AsSpan(t * B * I, B * I), cell.BackwardStep(t, r.Data.AsSpan(t * B * H, B * H)));
        cell.EndBackward();
        LeakyRnnTests.AssertClose("dh0", grads.DH0.Data, cell.DH0);
        foreach (var (expected, actual) in layer.Parameters().Zip(cell.Parameters()))
            LeakyRnnTests.AssertClose("grad." + actual.Name, expected.Grad.Data, actual.Grad.Data);
    }

    [Fact]
    public void AdvanceEqualsStepInPlaceToo()
    {
        const int I = 6, H = 21, T = 4, B = 9;
        var rng = new Rng(41);
        var cell = LearnedCell(I, H, rng);
        var x = GradCheck.RandomArray(rng, T * B * I);
        var h0 = GradCheck.RandomArray(rng, B * H);
        float[] hPrev = (float[])h0.Clone(), h = new float[B * H], hInPlace = (float[])h0.Clone();
        cell.Begin(T, B, h0);
        for (int t = 0; t < T; t++)
        {
            var xt = x.AsSpan(t * B * I, B * I);
            var stepped = cell.Step(t, xt).ToArray();
            cell.Advance(B, xt, hPrev, default, h, default);
            cell.Advance(B, xt, hInPlace, default, hInPlace, default);
            Assert.Equal(stepped, h);
            Assert.Equal(stepped, hInPlace);
            (hPrev, h) = (h, hPrev);
        }
    }

    [Fact]
    public void AlphaOneIsRnnCellToTheBit()
    {
        const int I = 5, H = 7, T = 4, B = 3;
        var leaky = RecurrentCell.Create(CellKind.Leaky, I, H, new Rng(8), Leak.Fixed(1f));
        var tanh = RecurrentCell.Create(CellKind.RnnTanh, I, H, new Rng(8));
        var rng = new Rng(9);
        var u = GradCheck.RandomArray(rng, T * B * (I - 2));
        var m = GradCheck.RandomArray(rng, H * 2);
        var h0 = GradCheck.RandomArray(rng, B * H);
        var r = GradCheck.RandomArray(rng, T * B * H);
        var a = new FeedbackLoop(leaky, u, m, h0, r, [], [], T, B, 2);
        var b = new FeedbackLoop(tanh, u, m, h0, r, [], [], T, B, 2);
        Assert.Equal(b.Loss(), a.Loss());
        a.Backward();
        b.Backward();
        Assert.Equal(b.DU, a.DU);
        Assert.Equal(b.DH0, a.DH0);
        foreach (var (p, q) in tanh.Parameters().Zip(leaky.Parameters(), (p, q) => (p, q))) Assert.Equal(p.Grad.Data, q.Grad.Data);
    }

    [Fact]
    public void NamesAndDescription()
    {
        Assert.IsType<LeakyCell>(RecurrentCell.Create(CellKind.Leaky, 3, 4));
        Assert.Equal("LeakyRNNCell(3, 4, leak=0.5)", RecurrentCell.Create(CellKind.Leaky, 3, 4).ToString());
        var learned = new LeakyCell(3, 4, leak: Leak.Learn(0.25f));
        Assert.Equal("LeakyRNNCell(3, 4, leak=learned:0.25)", learned.ToString());
        Assert.Equal(["weight_ih", "weight_hh", "bias_ih", "bias_hh", "leak"], learned.Parameters().Select(p => p.Name));
        Assert.Equal(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], new LeakyCell(3, 4).Parameters().Select(p => p.Name));
        Assert.All(learned.LeakParameter!.Value.Data, v => Assert.Equal(Leak.Logit(0.25f), v));
        Assert.Throws<ArgumentException>(() => new LeakyCell(3, 4, leak: Leak.Learn(1f)));
    }
}
