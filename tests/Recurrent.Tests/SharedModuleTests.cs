using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// A module called twice before a Backward keeps only the last call's state. A Forward whose output is dropped (a
/// validation pass in training mode, a loss for logging) is legitimate and must leave the next Backward right; a
/// module shared by two models whose losses both go backward must not give the first a silently wrong gradient.
/// </summary>
public class SharedModuleTests
{
    private static Tensor Random(Rng rng, params int[] shape)
    {
        var t = new Tensor(shape);
        GradCheck.RandomArray(rng, t.Length).CopyTo(t.Data, 0);
        return t;
    }

    private static float[][] Gradients(IModule module) => module.Parameters().Select(p => p.Grad.Data.ToArray()).ToArray();

    [Fact]
    public void AnEmbeddingSharedByTwoModelsRefusesTheSecondBackward()
    {
        // The case: two heads over one embedding, same shapes, both trained in one step.
        var rng = new Rng(1);
        var embedding = new Embedding(65, 8, rng);
        var (headA, headB) = (new Linear(8, 3, rng: rng), new Linear(8, 3, rng: rng));
        var yA = headA.Forward(embedding.Forward([1, 2, 3], 3));
        var yB = headB.Forward(embedding.Forward([4, 5, 6], 3));
        var dy = Random(rng, 3, 3);
        embedding.Backward(headA.Backward(dy));
        var e = Assert.Throws<InvalidOperationException>(() => embedding.Backward(headB.Backward(dy)));
        Assert.Equal("Embedding(65, 8): Forward was called 2 times before the last Backward; its saved input was the last call's, " +
                     "so Backward for an earlier call would be wrong — use one module per call or call Backward in between", e.Message);
        Assert.NotNull(yA);
        Assert.NotNull(yB);
    }

    [Fact]
    public void ADroppedForwardBeforeTheTrainedOneLeavesLinearAndEmbeddingGradientsAlone()
    {
        var (plain, extra) = (new Linear(4, 3, rng: new Rng(2)), new Linear(4, 3, rng: new Rng(2)));
        var rng = new Rng(3);
        var (dropped, trained, dy) = (Random(rng, 5, 4), Random(rng, 2, 4), Random(rng, 2, 3));
        plain.Forward(trained);
        var dxPlain = plain.Backward(dy).Clone();
        extra.Forward(dropped); // a validation pass in training mode: no Backward
        extra.Forward(trained);
        Assert.Equal(dxPlain.Data, extra.Backward(dy).Data);
        Assert.Equal(Gradients(plain), Gradients(extra));

        var (embeddingPlain, embeddingExtra) = (new Embedding(6, 3, new Rng(4)), new Embedding(6, 3, new Rng(4)));
        var dE = Random(rng, 2, 3);
        embeddingPlain.Forward([1, 5], 2);
        embeddingPlain.Backward(dE);
        embeddingExtra.Forward([0, 2], 2);
        embeddingExtra.Forward([1, 5], 2);
        embeddingExtra.Backward(dE);
        Assert.Equal(Gradients(embeddingPlain), Gradients(embeddingExtra));
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.RnnRelu)]
    public void ADroppedForwardBeforeTheTrainedOneLeavesARecurrentLayersGradientsAlone(CellKind cell)
    {
        var plain = new RecurrentLayer(cell, 3, 4, numLayers: 2, rng: new Rng(5));
        var extra = new RecurrentLayer(cell, 3, 4, numLayers: 2, rng: new Rng(5));
        var rng = new Rng(6);
        var (dropped, trained, dy) = (Random(rng, 7, 3, 3), Random(rng, 5, 2, 3), Random(rng, 5, 2, 4));
        plain.Forward(trained);
        var dxPlain = plain.Backward(dy).DInput.Clone();
        extra.Forward(dropped);
        extra.Forward(trained);
        Assert.Equal(dxPlain.Data, extra.Backward(dy).DInput.Span.ToArray());
        Assert.Equal(Gradients(plain), Gradients(extra));
    }

    [Fact]
    public void DropoutsBackwardUsesTheLastForwardsMask()
    {
        var dropout = new Dropout(0.5f, new Rng(7));
        var rng = new Rng(8);
        var (x, dy) = (Random(rng, 4, 8), Random(rng, 4, 8));
        dropout.Forward(x);
        var y = dropout.Forward(x).Clone(); // another mask
        var dx = dropout.Backward(dy).Data;
        for (int i = 0; i < x.Length; i++) Assert.Equal(y.Data[i] == 0 ? 0f : 2f * dy.Data[i], dx[i]);
        Assert.Throws<InvalidOperationException>(() => dropout.Backward(dy));
    }

    [Fact]
    public void ACellSharedByTwoLoopsRefusesTheSecondBackwardPass()
    {
        var rng = new Rng(9);
        var cell = new LstmCell(3, 4, rng);
        var x = GradCheck.RandomArray(rng, 2 * 3);
        var dh = GradCheck.RandomArray(rng, 2 * 4);
        foreach (int loop in new[] { 0, 1 }) // two decoders' sequences of 2 steps, one cell
        {
            cell.Begin(2, 2);
            cell.Step(0, x);
            cell.Step(1, x);
        }
        cell.BackwardStep(1, dh);
        cell.BackwardStep(0, dh);
        cell.EndBackward();
        var e = Assert.Throws<InvalidOperationException>(() => cell.BackwardStep(1, dh));
        Assert.Equal("LSTMCell(3, 4).BackwardStep: Begin was called 2 times before the last backward pass; its saved sequence was " +
                     "the last one's, so a backward pass for an earlier one would be wrong — use one cell per sequence or run the " +
                     "backward pass in between", e.Message);
    }

    [Fact]
    public void ACellRefusesASecondBackwardPassOfOneSequence()
    {
        var rng = new Rng(10);
        var cell = new GruCell(3, 4, rng);
        var x = GradCheck.RandomArray(rng, 2 * 3);
        var dh = GradCheck.RandomArray(rng, 2 * 4);
        cell.Begin(2, 2);
        cell.Step(0, x);
        cell.Step(1, x);
        cell.BackwardStep(1, dh);
        cell.BackwardStep(0, dh);
        Assert.Equal("GRUCell(3, 4).BackwardStep: the backward pass is past step 0 already",
            Assert.Throws<InvalidOperationException>(() => cell.BackwardStep(1, dh)).Message);
        cell.EndBackward();
        Assert.Equal("GRUCell(3, 4).BackwardStep: the backward pass is past step 0 already",
            Assert.Throws<InvalidOperationException>(() => cell.BackwardStep(1, dh)).Message);
    }

    [Fact]
    public void ADroppedSequenceBeforeTheTrainedOneLeavesACellsGradientsAlone()
    {
        var (plain, extra) = (new RnnCell(3, 4, new Rng(11)), new RnnCell(3, 4, new Rng(11)));
        var rng = new Rng(12);
        var (x, other, dh) = (GradCheck.RandomArray(rng, 2 * 3), GradCheck.RandomArray(rng, 5 * 3), GradCheck.RandomArray(rng, 2 * 4));
        extra.Begin(1, 5); // sampled, never trained
        extra.Step(0, other);
        foreach (var cell in new[] { plain, extra })
        {
            cell.Begin(2, 2);
            cell.Step(0, x);
            cell.Step(1, x);
            cell.BackwardStep(1, dh);
            cell.BackwardStep(0, dh);
            cell.EndBackward();
        }
        Assert.Equal(Gradients(plain), Gradients(extra));
    }

    [Fact]
    public void AnAttentionSharedByTwoDecodersRefusesTheSecondBackwardPass()
    {
        var rng = new Rng(13);
        var attention = Attention.Create(AttentionKind.LuongGeneral, 3, 4, 0, rng);
        var keys = GradCheck.RandomArray(rng, 2 * 3 * 4);
        var (query, context, dQuery) = (GradCheck.RandomArray(rng, 2 * 3), new float[2 * 4], new float[2 * 3]);
        foreach (int decoder in new[] { 0, 1 })
        {
            attention.SetKeys(keys, 2, 3, [3, 2], 1);
            attention.Step(0, query, context);
        }
        attention.BackwardStep(0, context, dQuery);
        attention.EndBackward();
        var e = Assert.Throws<InvalidOperationException>(() => attention.BackwardStep(0, context, dQuery));
        Assert.StartsWith("Attention(luong-general).BackwardStep: SetKeys was called 2 times before the last backward pass", e.Message);
    }
}
