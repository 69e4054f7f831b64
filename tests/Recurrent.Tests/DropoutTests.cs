using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class DropoutTests
{
    [Fact]
    public void BackwardUsesTheForwardMask()
    {
        var rng = new Rng(1);
        var drop = new Dropout(0.3f, new Rng(2));
        var x = new Tensor(GradCheck.RandomArray(rng, 6 * 7), 6, 7);
        var dy = new Tensor(GradCheck.RandomArray(rng, 6 * 7), 6, 7);
        for (int i = 0; i < x.Length; i++) if (x.Data[i] == 0) x.Data[i] = 0.5f;
        var y = drop.Forward(x);
        var dx = drop.Backward(dy);
        float scale = 1f / 0.7f;
        int dropped = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (y.Data[i] == 0)
            {
                Assert.Equal(0f, dx.Data[i]);
                dropped++;
            }
            else
            {
                Assert.Equal(x.Data[i] * scale, y.Data[i]);
                Assert.Equal(dy.Data[i] * scale, dx.Data[i]);
            }
        }
        Assert.InRange(dropped, 1, x.Length - 1);
    }

    [Fact]
    public void KeepsOneMinusPAndPreservesTheMean()
    {
        const int n = 100_000;
        var drop = new Dropout(0.25f, new Rng(3));
        var x = new Tensor(n);
        x.Span.Fill(2f);
        var y = drop.Forward(x);
        int kept = y.Data.Count(v => v != 0);
        double sigma = Math.Sqrt(n * 0.25 * 0.75);
        Assert.InRange(kept, 0.75 * n - 5 * sigma, 0.75 * n + 5 * sigma);
        Assert.InRange(y.Data.Average(v => (double)v), 2 - 5 * 2 * sigma / n / 0.75, 2 + 5 * 2 * sigma / n / 0.75);
        // A second call draws a new mask.
        var first = y.Clone();
        Assert.NotEqual(first.Data, drop.Forward(x).Data);
    }

    [Fact]
    public void EvaluationAndZeroPAreTheIdentity()
    {
        var x = new Tensor(GradCheck.RandomArray(new Rng(4), 10), 10);
        var dy = new Tensor(10);
        var drop = new Dropout(0.5f, new Rng(5)) { Training = false };
        Assert.Same(x, drop.Forward(x));
        Assert.Same(dy, drop.Backward(dy));
        var none = new Dropout(0f, new Rng(5));
        Assert.Same(x, none.Forward(x));
        Assert.Same(dy, none.Backward(dy));
        drop.Training = true;
        Assert.NotSame(x, drop.Forward(x));
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(0.1f)]
    [InlineData(0.999f)]
    public void KeepsExactlyTheElementsWhoseDrawIsAtLeastP(float p)
    {
        // The documented rule a resumed run relies on: element i is kept iff the i-th Rng.NextFloat() ≥ p.
        var x = new Tensor(1003); // past the last whole vector too
        x.Span.Fill(1f);
        var y = new Dropout(p, new Rng(6)).Forward(x);
        var draws = new Rng(6);
        for (int i = 0; i < x.Length; i++) Assert.Equal(draws.NextFloat() >= p ? 1f / (1f - p) : 0f, y.Data[i]);
    }

    [Fact]
    public void ValidatesPAndOrder()
    {
        foreach (float p in new[] { -0.1f, 1f, 1.5f, float.NaN })
            Assert.Contains("p must be in [0, 1)", Assert.Throws<ArgumentException>(() => new Dropout(p, new Rng(1))).Message);
        Assert.Throws<InvalidOperationException>(() => new Dropout(0.5f, new Rng(1)).Backward(new Tensor(3)));
        var drop = new Dropout(0.5f, new Rng(1));
        drop.Forward(new Tensor(3));
        Assert.Contains("Dropout(p=0.5).Backward", Assert.Throws<ShapeException>(() => drop.Backward(new Tensor(4))).Message);
    }
}
