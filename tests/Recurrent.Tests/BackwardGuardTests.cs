using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// One Backward per Forward, for every layer that keeps one call's state: a Backward with no Forward before it, or a
/// second one after a single Forward, throws naming the layer instead of running its kernels over used state.
/// </summary>
public class BackwardGuardTests
{
    /// <summary>A layer, its name in messages, and one call of its Forward and of its Backward on fixed shapes.</summary>
    public sealed record Case(string Layer, Action Forward, Action Backward)
    {
        public override string ToString() => Layer;
    }

    public static Case Make(string which)
    {
        var rng = new Rng(3);
        Tensor Random(params int[] shape)
        {
            var t = new Tensor(shape);
            GradCheck.RandomArray(rng, t.Length).CopyTo(t.Data, 0);
            return t;
        }
        switch (which)
        {
            case "linear":
            {
                var layer = new Linear(3, 4, rng: rng);
                var (x, dy) = (Random(2, 3), Random(2, 4));
                return new("Linear(3->4)", () => layer.Forward(x), () => layer.Backward(dy));
            }
            case "embedding":
            {
                var layer = new Embedding(5, 3, rng);
                var dy = Random(2, 2, 3);
                return new("Embedding(5, 3)", () => layer.Forward([1, 4, 0, 4], 2, 2), () => layer.Backward(dy));
            }
            case "dropout":
            {
                var layer = new Dropout(0.5f, rng);
                var (x, dy) = (Random(2, 3), Random(2, 3));
                return new("Dropout(p=0.5)", () => layer.Forward(x), () => layer.Backward(dy));
            }
            case "lstm":
            {
                var layer = new RecurrentLayer(CellKind.Lstm, 3, 4, numLayers: 2, dropout: 0.25f, rng: rng);
                var (x, dy) = (Random(5, 2, 3), Random(5, 2, 4));
                return new("LSTM(3, 4, num_layers=2, dropout=0.25)", () => layer.Forward(x), () => layer.Backward(dy));
            }
            case "gru-from-tokens":
            {
                // The first layer reads the embedding through the vocabulary: the embedding itself runs no Forward.
                var embedding = new Embedding(3, 2, rng);
                var layer = new RecurrentLayer(CellKind.Gru, 2, 4, bidirectional: true, rng: rng);
                int[] tokens = [0, 1, 2, 1, 0, 2, 2, 1, 0, 1, 1, 1, 0, 0, 2, 2];
                var dy = Random(8, 2, 8);
                return new("GRU(2, 4, bidirectional=True)", () => layer.Forward(embedding, tokens, [8, 2]), () => layer.Backward(dy));
            }
            case "pooling":
            {
                var layer = new SequencePooling(PoolingKind.Attention, 4, 1, rng);
                var (x, dy) = (Random(3, 2, 4), Random(2, 4));
                return new(layer.ToString(), () => layer.Forward(x, [3, 2]), () => layer.Backward(dy));
            }
            case "char-encoder":
            {
                var layer = new CharWordEncoder(6, 3, 2, rng);
                var dy = Random(2, 4);
                return new("CharWordEncoder(6, 3, 2)", () => layer.Forward([[1, 2, 3], [5]]), () => layer.Backward(dy));
            }
            case "crf":
            {
                var layer = new LinearChainCrf(3, rng);
                var emissions = Random(4, 2, 3);
                return new("LinearChainCrf(3)", () => layer.Forward(emissions, [0, 1, 2, 2, 1, 0, 0, 0], [4, 3]), () => layer.Backward(1f));
            }
            case "cross-entropy":
            {
                var loss = new SoftmaxCrossEntropy();
                var logits = Random(3, 4);
                return new("SoftmaxCrossEntropy", () => loss.Forward(logits, [0, 3, 1]), () => loss.Backward());
            }
            case "mse":
            {
                var loss = new MeanSquaredError();
                var (p, t) = (Random(2, 3), Random(2, 3));
                return new("MeanSquaredError", () => loss.Forward(p, t), () => loss.Backward());
            }
            default: throw new ArgumentException(which);
        }
    }

    public static TheoryData<string> Layers() =>
        new("linear", "embedding", "dropout", "lstm", "gru-from-tokens", "pooling", "char-encoder", "crf", "cross-entropy", "mse");

    [Theory, MemberData(nameof(Layers))]
    public void BackwardBeforeAnyForwardThrowsNamingTheLayer(string which)
    {
        var c = Make(which);
        var e = Assert.Throws<InvalidOperationException>(c.Backward);
        Assert.Equal($"{c.Layer}: Backward without a matching Forward (call Forward, then Backward once)", e.Message);
    }

    [Theory, MemberData(nameof(Layers))]
    public void ASecondBackwardAfterOneForwardThrows_AndTheNextForwardRearmsIt(string which)
    {
        var c = Make(which);
        c.Forward();
        c.Backward();
        var e = Assert.Throws<InvalidOperationException>(c.Backward);
        Assert.Equal($"{c.Layer}: Backward without a matching Forward (call Forward, then Backward once)", e.Message);
        c.Forward();
        c.Backward();
    }

    [Theory, MemberData(nameof(Layers))]
    public void TwoForwardsThenTwoBackwardsThrowAtTheSecond_SayingTheModuleWasCalledTwice(string which)
    {
        var c = Make(which);
        c.Forward();
        c.Forward();
        c.Backward(); // the last call's: right, and what a dropped Forward (a validation pass) followed by a trained one needs
        var e = Assert.Throws<InvalidOperationException>(c.Backward);
        Assert.Equal($"{c.Layer}: Forward was called 2 times before the last Backward; its saved input was the last call's, " +
                     "so Backward for an earlier call would be wrong — use one module per call or call Backward in between", e.Message);
        c.Forward();
        c.Backward();
    }

    [Fact]
    public void AFailedBackwardShapeCheckStillReportsAMissingForwardFirst()
    {
        var layer = new Linear(3, 4);
        var e = Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(7, 1)));
        Assert.StartsWith("Linear(3->4): Backward without a matching Forward", e.Message);
    }

    [Fact]
    public void AForwardRejectedForItsInputDoesNotCountAsAForward()
    {
        var layer = new Embedding(5, 3);
        Assert.Throws<ArgumentException>(() => layer.Forward([9], 1));
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 3)));
    }

    [Fact]
    public void AfterAForwardInEvalModeBackwardIsTheGradientOfWhatThatForwardComputed()
    {
        // Eval mode keeps what Backward needs too, so Backward is allowed there, as in PyTorch: the gradient of the
        // function without dropout (what finite-difference checks of a model in eval mode compare against).
        var dropped = new RecurrentLayer(CellKind.Gru, 3, 4, numLayers: 2, dropout: 0.5f, rng: new Rng(5)) { Training = false };
        var plain = new RecurrentLayer(CellKind.Gru, 3, 4, numLayers: 2, rng: new Rng(5));
        var rng = new Rng(6);
        var (x, dy) = (new Tensor(GradCheck.RandomArray(rng, 5 * 2 * 3), 5, 2, 3), new Tensor(GradCheck.RandomArray(rng, 5 * 2 * 4), 5, 2, 4));
        dropped.Forward(x);
        plain.Forward(x);
        Assert.Equal(plain.Backward(dy).DInput.Data, dropped.Backward(dy).DInput.Data);
        Assert.Equal(plain.Parameters().Select(p => p.Grad.Data), dropped.Parameters().Select(p => p.Grad.Data));
        Assert.Throws<InvalidOperationException>(() => dropped.Backward(dy));

        var dropout = new Dropout(0.5f, rng) { Training = false };
        dropout.Forward(x);
        Assert.Same(dy, dropout.Backward(dy));
        Assert.Throws<InvalidOperationException>(() => dropout.Backward(dy));
    }
}
