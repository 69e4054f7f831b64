using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class EmbeddingTests
{
    [Fact]
    public void ForwardLooksUpRowsInTheGivenShape()
    {
        var emb = new Embedding(10, 4, new Rng(1));
        int[] tokens = [3, 0, 9, 3, 7, 1];
        var y = emb.Forward(tokens, 2, 3);
        Assert.Equal([2, 3, 4], y.Shape);
        for (int i = 0; i < tokens.Length; i++)
            Assert.Equal(emb.Weight.Value.Data.AsSpan(tokens[i] * 4, 4).ToArray(), y.Data.AsSpan(i * 4, 4).ToArray());
        Assert.Same(y, emb.Forward([1, 2, 3, 4, 5, 6], 2, 3));
        Assert.Equal([6, 4], emb.Forward(tokens, 6).Shape);
    }

    [Fact]
    public void BackwardScatterAddsRowsIncludingRepeatedTokens()
    {
        var rng = new Rng(2);
        var emb = new Embedding(6, 3, rng);
        int[] tokens = [4, 1, 4, 4, 0, 1, 5, 2]; // 4 three times, 1 twice, 3 never
        var w = GradCheck.RandomArray(rng, tokens.Length * 3);
        double Loss() => GradCheck.Dot(emb.Forward(tokens, 4, 2).Span, w);
        emb.Forward(tokens, 4, 2);
        emb.Backward(new Tensor(w, 4, 2, 3));
        GradCheck.Check("dW", emb.Weight.Value.Data, emb.Weight.Grad.Span, Loss);
        Assert.All(emb.Weight.Grad.Data.AsSpan(9, 3).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BadTokensAndShapesAreNamed()
    {
        var emb = new Embedding(5, 2, new Rng(3));
        var e = Assert.Throws<ArgumentException>(() => emb.Forward([1, 2, 5, 0], 4));
        Assert.Contains("token 5 at position 2", e.Message);
        Assert.Contains("token -1 at position 0", Assert.Throws<ArgumentException>(() => emb.Forward([-1], 1)).Message);
        Assert.Contains("do not fill shape [2, 3]", Assert.Throws<ShapeException>(() => emb.Forward([1, 2, 3], 2, 3)).Message);
        Assert.Throws<InvalidOperationException>(() => new Embedding(5, 2).Backward(new Tensor(1, 2)));
        emb.Forward([1, 2], 2);
        Assert.Throws<ShapeException>(() => emb.Backward(new Tensor(3, 2)));
    }

    [Fact]
    public void InitializationIsStandardNormal()
    {
        var w = new Embedding(200, 50, new Rng(4)).Weight;
        Assert.Equal("weight", w.Name);
        double mean = w.Value.Data.Average(v => (double)v);
        double std = Math.Sqrt(w.Value.Data.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.04, 0.04); // 10 000 draws: the standard error is 0.01
        Assert.InRange(std, 0.97, 1.03);
    }
}
