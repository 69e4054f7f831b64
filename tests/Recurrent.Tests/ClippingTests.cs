using Recurrent.Layers;
using Recurrent.Optimizers;
using Xunit;

namespace Recurrent.Tests;

public class ClippingTests
{
    [Fact]
    public void ClipGlobalNormMatchesPyTorch()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "optim", "optim_reference.json");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        int cases = 0;
        foreach (var c in doc.RootElement.GetProperty("clip_grad_norm").EnumerateArray())
        {
            var grads = c.GetProperty("grads").EnumerateArray().Select(OptimizerTests.Floats).ToArray();
            var ps = grads.Select((g, i) => { var p = new Parameter($"p{i}", g.Length); g.CopyTo(p.Grad.Data, 0); return p; }).ToArray();
            float norm = GradientClipping.ClipGlobalNorm(ps, c.GetProperty("max_norm").GetSingle());
            // PyTorch sums squares in float, we in double: the norms agree to float rounding, the clipped values too.
            Assert.Equal(c.GetProperty("total_norm").GetDouble(), norm, 1e-6 * norm);
            var clipped = c.GetProperty("clipped").EnumerateArray().Select(OptimizerTests.Floats).ToArray();
            for (int i = 0; i < ps.Length; i++)
                for (int j = 0; j < clipped[i].Length; j++)
                    Assert.Equal(clipped[i][j], ps[i].Grad.Data[j], 1e-6f * MathF.Abs(clipped[i][j]) + 1e-12f);
            cases++;
        }
        Assert.Equal(2, cases);
    }

    [Fact]
    public void ClipGlobalNormScalesToMaxNormAndReturnsTheNormBefore()
    {
        var rng = new Tensors.Rng(5);
        Parameter[] ps = [new Parameter("a", 100), new Parameter("b", 3, 3)];
        foreach (var p in ps) GradCheck.RandomArray(rng, p.Grad.Length, 10f).CopyTo(p.Grad.Data, 0);
        double sum = ps.Sum(p => p.Grad.Data.Sum(v => (double)v * v));
        float norm = GradientClipping.ClipGlobalNorm(ps, 1f);
        Assert.Equal(Math.Sqrt(sum), norm, 1e-6 * norm);
        double after = Math.Sqrt(ps.Sum(p => p.Grad.Data.Sum(v => (double)v * v)));
        Assert.Equal(1.0, after, 1e-5);

        var unchanged = ps.Select(p => p.Grad.Clone()).ToArray();
        Assert.Equal((float)after, GradientClipping.ClipGlobalNorm(ps, 5f), 1e-5f);
        for (int i = 0; i < ps.Length; i++) Assert.Equal(unchanged[i].Data, ps[i].Grad.Data);
        Assert.Throws<ArgumentException>(() => GradientClipping.ClipGlobalNorm(ps, 0f));
    }

    [Fact]
    public void ClipValueClampsEachElement()
    {
        var p = new Parameter("a", 21);
        for (int i = 0; i < 21; i++) p.Grad.Data[i] = i - 10;
        GradientClipping.ClipValue([p], 2.5f);
        for (int i = 0; i < 21; i++) Assert.Equal(Math.Clamp(i - 10f, -2.5f, 2.5f), p.Grad.Data[i]);
        Assert.Throws<ArgumentException>(() => GradientClipping.ClipValue([p], -1f));
    }
}
