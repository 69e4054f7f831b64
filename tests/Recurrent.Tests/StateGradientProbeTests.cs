using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The per-step probe of RecurrentLayer (ProbeStateGradients, StateGradients): ∂L/∂h_t for every step. Checked exactly
/// against the layer itself cut at t (a prefix run over steps 0…t gives h_t and c_t; the same layer run over steps
/// t+1…T−1 from them gives DH0, the gradient coming back from the future, and the output's own gradient R_t adds to it)
/// and by finite differences of that cut loss with respect to h_t. Tiny sizes: I, H, T, B = 3, 4, 5, 2.
/// Loss: Σ output⊙R + Σ h_n⊙Rh (+ Σ c_n⊙Rc), as the gradient tests.
/// </summary>
public class StateGradientProbeTests
{
    private const int I = 3, H = 4, T = 5, B = 2;

    public static TheoryData<CellKind> Cells() => new(Enum.GetValues<CellKind>());

    [Theory, MemberData(nameof(Cells))]
    public void ProbeEqualsTheGradientOfTheRestOfTheSequence(CellKind cell)
    {
        var rng = new Rng(23);
        var layer = new RecurrentLayer(cell, I, H, rng: new Rng(5));
        var x = Random(rng, T, B, I);
        var r = Random(rng, T, B, H);
        var rh = Random(rng, 1, B, H);
        var rc = cell == CellKind.Lstm ? Random(rng, 1, B, H) : null;
        layer.Forward(x);
        layer.ProbeStateGradients = true;
        layer.Backward(r, rh, rc);
        var probe = layer.StateGradients;
        Assert.Equal([1, T, B, H], probe.Shape);

        // Another layer with the same parameters cuts the sequence at t.
        var cut = new RecurrentLayer(cell, I, H, rng: new Rng(5));
        for (int t = 0; t < T; t++)
        {
            var (ht, ct) = StateAfter(cut, x, t);
            var expected = r.Span.Slice(t * B * H, B * H).ToArray();
            if (t == T - 1) Kernels.Add(expected, rh.Span, expected);
            else
            {
                cut.Forward(Steps(x, t + 1, T), ht, ct);
                var dh0 = cut.Backward(Steps(r, t + 1, T), rh, rc).DH0;
                Kernels.Add(expected, dh0.Span, expected);
            }
            var recorded = probe.Span.Slice(t * B * H, B * H);
            for (int i = 0; i < B * H; i++)
                Assert.True(Math.Abs(expected[i] - recorded[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]),
                    $"{cell} step {t} [{i}]: probe {recorded[i]}, cut layer {expected[i]}");

            // Finite differences: the loss as a function of h_t (all that depends on it: h_t's own output term and
            // the rest of the sequence), the state carried in c_t held fixed.
            if (t != 1) continue;
            var at = StateAfter(cut, x, t);
            var h = at.H.Data;
            double CutLoss()
            {
                double loss = GradCheck.Dot(h, r.Span.Slice(t * B * H, B * H));
                var o = cut.Forward(Steps(x, t + 1, T), at.H, at.C);
                loss += GradCheck.Dot(o.Output.Span, Steps(r, t + 1, T).Data) + GradCheck.Dot(o.HN.Span, rh.Data);
                if (o.CN != null) loss += GradCheck.Dot(o.CN.Span, rc!.Data);
                return loss;
            }
            GradCheck.Check($"{cell} dL/dh_{t}", h, probe.Span.Slice(t * B * H, B * H).ToArray(), CutLoss);
        }
    }

    [Fact]
    public void TheProbeChangesNoGradientAndCanBeTurnedOff()
    {
        var rng = new Rng(4);
        var x = Random(rng, T, B, I);
        var r = Random(rng, T, B, H);
        var layer = new RecurrentLayer(CellKind.Gru, I, H, rng: new Rng(9));
        layer.Forward(x);
        var plain = layer.Backward(r).DInput.Data.ToArray();
        var plainGrads = layer.Parameters().Select(p => p.Grad.Data.ToArray()).ToList();
        Assert.Equal(0, layer.StateGradients.Length);

        layer.ZeroGrad();
        layer.ProbeStateGradients = true;
        layer.Forward(x);
        Assert.Equal(plain, layer.Backward(r).DInput.Data);
        Assert.Equal(plainGrads, layer.Parameters().Select(p => p.Grad.Data.ToArray()).ToList());
        var first = layer.StateGradients.Span.ToArray();
        Assert.Contains(first, v => v != 0);

        // Off again: the next Backward leaves the recorded gradients alone.
        layer.ProbeStateGradients = false;
        layer.Forward(x);
        layer.Backward(Random(rng, T, B, H));
        Assert.Equal(first, layer.StateGradients.Span.ToArray());
    }

    [Fact]
    public void ReverseDirectionIsTheForwardProbeOfTheReversedSequence()
    {
        // A bidirectional layer's reverse direction is a forward layer with its weights reading the sequence backwards.
        var rng = new Rng(8);
        var bi = new RecurrentLayer(CellKind.Lstm, I, H, bidirectional: true, rng: new Rng(2));
        var forward = new RecurrentLayer(CellKind.Lstm, I, H, rng: new Rng(2));
        var backward = new RecurrentLayer(CellKind.Lstm, I, H);
        var biParameters = bi.Parameters().ToArray();
        foreach (var (p, i) in backward.Parameters().Select((p, i) => (p, i))) p.Value.CopyFrom(biParameters[4 + i].Value);
        var x = Random(rng, T, B, I);
        var r = Random(rng, T, B, 2 * H);
        var rh = Random(rng, 2, B, H);

        bi.Forward(x);
        bi.ProbeStateGradients = true;
        bi.Backward(r, rh);
        var (rForward, rBackward) = (new Tensor(T, B, H), new Tensor(T, B, H));
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
            {
                r.Span.Slice((t * B + b) * 2 * H, H).CopyTo(rForward.Span.Slice((t * B + b) * H, H));
                r.Span.Slice((t * B + b) * 2 * H + H, H).CopyTo(rBackward.Span.Slice((T - 1 - t) * B * H + b * H, H));
            }
        var xReversed = new Tensor(T, B, I);
        for (int t = 0; t < T; t++) x.Span.Slice(t * B * I, B * I).CopyTo(xReversed.Span.Slice((T - 1 - t) * B * I, B * I));

        forward.ProbeStateGradients = backward.ProbeStateGradients = true;
        forward.Forward(x);
        forward.Backward(rForward, new Tensor(rh.Span[..(B * H)].ToArray(), 1, B, H));
        backward.Forward(xReversed);
        backward.Backward(rBackward, new Tensor(rh.Span[(B * H)..].ToArray(), 1, B, H));
        for (int t = 0; t < T; t++)
        {
            AssertClose(forward.StateGradients.Span.Slice(t * B * H, B * H), bi.StateGradients.Span.Slice(t * B * H, B * H));
            AssertClose(backward.StateGradients.Span.Slice((T - 1 - t) * B * H, B * H),
                bi.StateGradients.Span.Slice((T + t) * B * H, B * H));
        }
    }

    [Fact]
    public void TopLayerOfAStackAndFrozenRows()
    {
        // Two layers, the second sequence 2 steps long: the top layer's probe is its cut layer's as for one layer;
        // past a sequence's length the state is frozen, so its gradient is the final state's at every later step.
        var rng = new Rng(12);
        var layer = new RecurrentLayer(CellKind.RnnTanh, I, H, numLayers: 2, rng: new Rng(6));
        var x = Random(rng, T, B, I);
        var r = Random(rng, T, B, H);
        var rh = Random(rng, 2, B, H);
        int[] lengths = [T, 2];
        layer.Forward(x, lengths: lengths);
        layer.ProbeStateGradients = true;
        layer.Backward(r, rh);
        var probe = layer.StateGradients;
        Assert.Equal([2, T, B, H], probe.Shape);
        for (int k = 0; k < 2; k++)
            for (int t = lengths[1]; t < T; t++)
                AssertClose(rh.Span.Slice((k * B + 1) * H, H), probe.Span.Slice(((k * T + t) * B + 1) * H, H));

        var cut = new RecurrentLayer(CellKind.RnnTanh, I, H, numLayers: 2, rng: new Rng(6));
        const int at = 2;
        var (ht, _) = StateAfter(cut, x, at);
        cut.Forward(Steps(x, at + 1, T), ht);
        var dh0 = cut.Backward(Steps(r, at + 1, T), rh).DH0;
        // Row 0 only (full length); the top layer is row 1 of DH0 and block 1 of the probe.
        var expected = new float[H];
        Kernels.Add(dh0.Span.Slice((1 * B + 0) * H, H), r.Span.Slice((at * B + 0) * H, H), expected);
        AssertClose(expected, probe.Span.Slice(((1 * T + at) * B + 0) * H, H));
    }

    /// <summary>h_t and c_t (null unless LSTM) of every layer after steps 0…t, as [L, B, H] copies.</summary>
    private static (Tensor H, Tensor? C) StateAfter(RecurrentLayer layer, Tensor x, int t)
    {
        var o = layer.Forward(Steps(x, 0, t + 1));
        return (o.HN.Clone(), o.CN?.Clone());
    }

    /// <summary>Steps [from, to) of a [T, B, ...] tensor, as a new tensor.</summary>
    private static Tensor Steps(Tensor x, int from, int to)
    {
        int row = x.Length / x.Dim(0);
        return new Tensor(x.Span.Slice(from * row, (to - from) * row).ToArray(), to - from, x.Dim(1), x.Dim(2));
    }

    internal static Tensor Random(Rng rng, params int[] shape)
    {
        var t = new Tensor(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = rng.Uniform(-1f, 1f);
        return t;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]), $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}

/// <summary>The probe cut by rows or by units over two threads records the same bits as on one.</summary>
[Collection("Gemm.Threads")]
public class StateGradientProbeThreadsTests
{
    [Fact]
    public void ProbeIsTheSameWithTwoThreads()
    {
        foreach (var cell in new[] { CellKind.Lstm, CellKind.Gru })
        {
            var rng = new Rng(30);
            var x = StateGradientProbeTests.Random(rng, 6, 16, 5);
            var r = StateGradientProbeTests.Random(rng, 6, 16, 64);
            float[] Probe(int threads)
            {
                using var scope = new GemmThreadsScope(threads);
                var layer = new RecurrentLayer(cell, 5, 64, rng: new Rng(1)) { ProbeStateGradients = true };
                layer.Forward(x);
                layer.Backward(r);
                return layer.StateGradients.Span.ToArray();
            }
            Assert.Equal(Probe(1), Probe(2));
        }
    }
}
