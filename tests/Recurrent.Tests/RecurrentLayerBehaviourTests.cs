using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>Edge cases a user relies on: padding, chunking, layouts, lengths of one, dropout only in training, bad shapes.</summary>
public class RecurrentLayerBehaviourTests
{
    private static Tensor Random(Rng rng, params int[] shape)
    {
        var t = new Tensor(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = rng.Uniform(-1f, 1f);
        return t;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance = 1e-6f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.RnnTanh)]
    public void PaddedSequenceEqualsTheSameSequenceAlone(CellKind cell)
    {
        // Batch of two, the second of length 2 padded with garbage to T = 5; it must equal a batch of one of length 2.
        const int I = 3, H = 5, T = 5;
        var rng = new Rng(5);
        var layer = new RecurrentLayer(cell, I, H, numLayers: 2, bidirectional: true, batchFirst: true, rng: rng);
        var padded = Random(rng, 2, T, I);
        var alone = new Tensor(1, 2, I);
        padded.Data.AsSpan(T * I, 2 * I).CopyTo(alone.Data);

        var batch = layer.Forward(padded, lengths: [5, 2]);
        var outputPadded = batch.Output.Clone();
        var hPadded = batch.HN.Clone();
        var single = layer.Forward(alone);

        int width = 2 * H;
        AssertClose(single.Output.Span, outputPadded.Data.AsSpan(T * width, 2 * width));
        Assert.All(outputPadded.Data.AsSpan(T * width + 2 * width, 3 * width).ToArray(), v => Assert.Equal(0f, v));
        for (int s = 0; s < 4; s++)
            AssertClose(single.HN.Span.Slice(s * H, H), hPadded.Data.AsSpan((s * 2 + 1) * H, H));
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.RnnRelu)]
    public void StateCarriedAcrossChunksEqualsOneLongSequence(CellKind cell)
    {
        const int I = 2, H = 6, B = 3;
        var rng = new Rng(9);
        var layer = new RecurrentLayer(cell, I, H, numLayers: 2, rng: rng);
        var whole = Random(rng, 6, B, I);
        var full = layer.Forward(whole);
        var fullOutput = full.Output.Clone();
        var fullH = full.HN.Clone();

        var first = new Tensor(3, B, I);
        var second = new Tensor(3, B, I);
        whole.Data.AsSpan(0, 3 * B * I).CopyTo(first.Data);
        whole.Data.AsSpan(3 * B * I).CopyTo(second.Data);
        var a = layer.Forward(first);
        var firstOutput = a.Output.Clone();
        var b = layer.Forward(second, a.HN.Clone(), a.CN?.Clone());

        AssertClose(fullOutput.Data.AsSpan(0, 3 * B * H), firstOutput.Data);
        AssertClose(fullOutput.Data.AsSpan(3 * B * H), b.Output.Span);
        AssertClose(fullH.Data, b.HN.Span);
    }

    [Fact]
    public void BatchFirstEqualsTimeMajor()
    {
        const int I = 3, H = 4, T = 3, B = 2;
        var timeMajor = new RecurrentLayer(CellKind.Gru, I, H, 2, true, rng: new Rng(1));
        var batchFirst = new RecurrentLayer(CellKind.Gru, I, H, 2, true, batchFirst: true, rng: new Rng(1));
        var x = Random(new Rng(2), T, B, I);
        var xb = new Tensor(B, T, I);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                for (int i = 0; i < I; i++) xb[b, t, i] = x[t, b, i];
        var o1 = timeMajor.Forward(x);
        var o2 = batchFirst.Forward(xb);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                for (int j = 0; j < 2 * H; j++) Assert.Equal(o1.Output[t, b, j], o2.Output[b, t, j]);
        AssertClose(o1.HN.Data, o2.HN.Data, 0f);

        // Backward: the same gradients, the batch-first ones read and written in that layout.
        var dy = Random(new Rng(3), T, B, 2 * H);
        var dyb = new Tensor(B, T, 2 * H);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                for (int j = 0; j < 2 * H; j++) dyb[b, t, j] = dy[t, b, j];
        var g1 = timeMajor.Backward(dy);
        var g2 = batchFirst.Backward(dyb);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                for (int i = 0; i < I; i++) Assert.Equal(g1.DInput[t, b, i], g2.DInput[b, t, i]);
        foreach (var (p1, p2) in timeMajor.Parameters().Zip(batchFirst.Parameters()))
            AssertClose(p1.Grad.Data, p2.Grad.Data, 0f);
    }

    [Fact]
    public void LengthOneAndAllFullLengthsWork()
    {
        var layer = new RecurrentLayer(CellKind.Lstm, 2, 3, bidirectional: true, rng: new Rng(4));
        var x = Random(new Rng(5), 1, 2, 2);
        var o = layer.Forward(x, lengths: [1, 1]);
        // With T = 1 both directions see the same single input from the zero state: h_n equals the output halves.
        AssertClose(o.Output.Data.AsSpan(0, 3), o.HN.Data.AsSpan(0, 3));
        AssertClose(o.Output.Data.AsSpan(3, 3), o.HN.Data.AsSpan(6, 3));
        var g = layer.Backward(o.Output.Clone());
        Assert.Equal(new[] { 1, 2, 2 }, g.DInput.Shape);
    }

    [Fact]
    public void DropoutActsOnlyWhileTrainingAndOnlyBetweenLayers()
    {
        var x = Random(new Rng(6), 4, 2, 3);
        var plain = new RecurrentLayer(CellKind.Lstm, 3, 8, 2, rng: new Rng(7));
        var dropped = new RecurrentLayer(CellKind.Lstm, 3, 8, 2, dropout: 0.5f, rng: new Rng(7));
        var expected = plain.Forward(x).Output.Clone();
        dropped.Training = false;
        AssertClose(expected.Data, dropped.Forward(x).Output.Data, 0f);
        dropped.Training = true;
        var trained = dropped.Forward(x).Output;
        Assert.Contains(Enumerable.Range(0, expected.Length), i => Math.Abs(expected.Data[i] - trained.Data[i]) > 1e-4);
        // One layer has no "between": dropout changes nothing.
        var single = new RecurrentLayer(CellKind.Gru, 3, 8, 1, dropout: 0.5f, rng: new Rng(8));
        var singleOut = single.Forward(x).Output.Clone();
        single.Training = false;
        AssertClose(singleOut.Data, single.Forward(x).Output.Data, 0f);
    }

    [Fact]
    public void ParametersUsePyTorchNamesShapesAndOrder()
    {
        var layer = new RecurrentLayer(CellKind.Lstm, 7, 11, 2, true);
        var names = layer.Parameters().Select(p => $"{p.Name}{Tensor.Describe(p.Shape)}").ToArray();
        Assert.Equal(new[]
        {
            "weight_ih_l0[44, 7]", "weight_hh_l0[44, 11]", "bias_ih_l0[44]", "bias_hh_l0[44]",
            "weight_ih_l0_reverse[44, 7]", "weight_hh_l0_reverse[44, 11]", "bias_ih_l0_reverse[44]", "bias_hh_l0_reverse[44]",
            "weight_ih_l1[44, 22]", "weight_hh_l1[44, 11]", "bias_ih_l1[44]", "bias_hh_l1[44]",
            "weight_ih_l1_reverse[44, 22]", "weight_hh_l1_reverse[44, 11]", "bias_ih_l1_reverse[44]", "bias_hh_l1_reverse[44]",
        }, names);
        float bound = 1f / MathF.Sqrt(11);
        Assert.All(layer.Parameters().SelectMany(p => p.Value.Data), v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void BadShapesNameTheLayerAndBothShapes()
    {
        var layer = new RecurrentLayer(CellKind.Lstm, 7, 11, 2);
        var e = Assert.Throws<ShapeException>(() => layer.Forward(new Tensor(5, 3, 6)));
        Assert.Contains("LSTM(7, 11, num_layers=2)", e.Message);
        Assert.Contains("[5, 3, 6]", e.Message);
        var h = Assert.Throws<ShapeException>(() => layer.Forward(new Tensor(5, 3, 7), new Tensor(1, 3, 11)));
        Assert.Contains("[2, 3, 11]", h.Message);
        Assert.Contains("[1, 3, 11]", h.Message);
        Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor(5, 3, 7), lengths: [5, 0, 2]));
        var gru = new RecurrentLayer(CellKind.Gru, 2, 2);
        Assert.Throws<ArgumentException>(() => gru.Forward(new Tensor(1, 1, 2), c0: new Tensor(1, 1, 2)));
        Assert.Throws<ArgumentException>(() => new RecurrentLayer(CellKind.Lstm, 0, 4));
        Assert.Throws<ArgumentException>(() => new RecurrentLayer(CellKind.Lstm, 3, 4, dropout: 1f));
    }
}
