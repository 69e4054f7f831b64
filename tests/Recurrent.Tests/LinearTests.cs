using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class LinearTests
{
    [Fact]
    public void ForwardIsXTimesWTransposePlusBiasOverLeadingDimensions()
    {
        var rng = new Rng(1);
        var layer = new Linear(4, 5, rng: rng);
        var x = new Tensor(GradCheck.RandomArray(rng, 2 * 3 * 4), 2, 3, 4);
        var y = layer.Forward(x).Clone(); // a copy: the layer's buffer takes the next call's shape
        Assert.Equal([2, 3, 5], y.Shape);
        for (int r = 0; r < 6; r++)
            for (int o = 0; o < 5; o++)
            {
                double want = layer.Bias!.Value[o];
                for (int i = 0; i < 4; i++) want += (double)x.Data[r * 4 + i] * layer.Weight.Value[o, i];
                Assert.Equal(want, y.Data[r * 5 + o], 1e-6);
            }
        var v = layer.Forward(new Tensor(x.Data[..4], 4)); // rank 1
        Assert.Equal([5], v.Shape);
        Assert.Equal(y.Data[..5], v.Span.ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BackwardMatchesFiniteDifferences(bool bias)
    {
        var rng = new Rng(2);
        var layer = new Linear(3, 4, bias, rng);
        var x = new Tensor(GradCheck.RandomArray(rng, 2 * 5 * 3), 2, 5, 3);
        var w = GradCheck.RandomArray(rng, 2 * 5 * 4); // loss = Σ y·w, so dy = w
        double Loss() => GradCheck.Dot(layer.Forward(x).Span, w);

        layer.Forward(x);
        layer.ZeroGrad();
        var dx = layer.Backward(new Tensor(w, 2, 5, 4));
        Assert.Equal(x.Shape, dx.Shape);
        GradCheck.Check("dx", x.Data, dx.Span, Loss);
        GradCheck.Check("dW", layer.Weight.Value.Data, layer.Weight.Grad.Span, Loss);
        if (bias) GradCheck.Check("db", layer.Bias!.Value.Data, layer.Bias.Grad.Span, Loss);
        else Assert.Null(layer.Bias);
    }

    [Fact]
    public void BackwardAccumulatesParameterGradients()
    {
        var rng = new Rng(3);
        var layer = new Linear(3, 2, rng: rng);
        var x = new Tensor(GradCheck.RandomArray(rng, 12), 4, 3);
        var dy = new Tensor(GradCheck.RandomArray(rng, 8), 4, 2);
        layer.Forward(x);
        layer.Backward(dy);
        var once = layer.Weight.Grad.Clone();
        var bOnce = layer.Bias!.Grad.Clone();
        layer.Forward(x); // one Backward per Forward
        layer.Backward(dy);
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once.Data[i], layer.Weight.Grad.Data[i], 1e-6f);
        for (int i = 0; i < bOnce.Length; i++) Assert.Equal(2 * bOnce.Data[i], layer.Bias.Grad.Data[i], 1e-6f);
    }

    [Fact]
    public void BuffersAreReusedWhileTheShapeRepeats()
    {
        var layer = new Linear(3, 2, rng: new Rng(4));
        var a = layer.Forward(new Tensor(4, 3));
        Assert.Same(a, layer.Forward(new Tensor(4, 3)));
        var b = layer.Forward(new Tensor(2, 2, 3)); // another shape: the same buffer, resized in place
        Assert.Same(a, b);
        Assert.Equal([2, 2, 2], b.Shape);
        var dx = layer.Backward(new Tensor(2, 2, 2));
        layer.Forward(new Tensor(2, 2, 3));
        Assert.Same(dx, layer.Backward(new Tensor(2, 2, 2)));
    }

    [Fact]
    public void InitializationIsPyTorchsUniformAndSeeded()
    {
        var layer = new Linear(16, 300, rng: new Rng(5));
        float bound = 1f / 4f;
        Assert.All(layer.Weight.Value.Data, v => Assert.InRange(v, -bound, bound));
        Assert.All(layer.Bias!.Value.Data, v => Assert.InRange(v, -bound, bound));
        Assert.True(layer.Weight.Value.Data.Max() > 0.9f * bound && layer.Weight.Value.Data.Min() < -0.9f * bound);
        Assert.Equal(layer.Weight.Value.Data, new Linear(16, 300, rng: new Rng(5)).Weight.Value.Data);
        Assert.Equal(["weight", "bias"], layer.Parameters().Select(p => p.Name));
        Assert.Equal([300, 16], layer.Weight.Shape);
    }

    [Fact]
    public void ShapeErrorsNameTheLayer()
    {
        var layer = new Linear(32, 65, rng: new Rng(6));
        var e = Assert.Throws<ShapeException>(() => layer.Forward(new Tensor(4, 31)));
        Assert.Equal("Linear(32->65).Forward: expected last dimension 32, got [4, 31]", e.Message);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(4, 65)));
        layer.Forward(new Tensor(4, 32));
        Assert.Contains("Linear(32->65).Backward", Assert.Throws<ShapeException>(() => layer.Backward(new Tensor(3, 65))).Message);
        Assert.Throws<ArgumentException>(() => new Linear(0, 3));
    }
}
