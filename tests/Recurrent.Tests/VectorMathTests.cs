using System.Runtime.Intrinsics;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class VectorMathTests
{
    public static TheoryData<float> Points => new()
    {
        0f, 1e-8f, -1e-8f, 1e-4f, 0.0624f, 0.0626f, 0.249f, 0.251f, -0.3f, -0.5f, 1f, -3f, 8.9f, 20f, -20f, 100f, -100f, 1e30f, -1e30f,
        float.PositiveInfinity, float.NegativeInfinity,
    };

    [Theory, MemberData(nameof(Points))]
    public void SigmoidAndTanhMatchDoublePrecision(float x)
    {
        double sig = 1.0 / (1.0 + Math.Exp(-(double)x));
        double tanh = Math.Tanh(x);
        float vs = VectorMath.Sigmoid(Vector512.Create(x)).GetElement(3);
        float vt = VectorMath.Tanh(Vector512.Create(x)).GetElement(5);
        Assert.True(Math.Abs(vs - sig) <= 2e-7 * Math.Abs(sig) + 1e-30, $"sigmoid({x}) = {vs}, want {sig}");
        Assert.True(Math.Abs(vt - tanh) <= 4e-7 * Math.Abs(tanh) + 1e-30, $"tanh({x}) = {vt}, want {tanh}");
        float ss = VectorMath.Sigmoid(x), st = VectorMath.Tanh(x);
        Assert.True(Math.Abs(ss - sig) <= 2e-7 * Math.Abs(sig) + 1e-30, $"scalar sigmoid({x}) = {ss}, want {sig}");
        Assert.True(Math.Abs(st - tanh) <= 4e-7 * Math.Abs(tanh) + 1e-30, $"scalar tanh({x}) = {st}, want {tanh}");
    }

    /// <summary>
    /// Every 1/1024 from −90 to 90 (and NaN): the float32 exp inside stays within a few ulp of double precision,
    /// which is what PyTorch's own vectorised sigmoid and tanh promise.
    /// </summary>
    [Fact]
    public void SigmoidAndTanhAreAccurateEverywhere()
    {
        double worstSigmoid = 0, worstTanh = 0;
        for (int i = -90 * 1024; i <= 90 * 1024; i += 16)
        {
            var x = Vector512.Create(i / 1024f) + Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) / 1024f;
            var s = VectorMath.Sigmoid(x);
            var t = VectorMath.Tanh(x);
            for (int k = 0; k < 16; k++)
            {
                double xd = x.GetElement(k), sig = 1.0 / (1.0 + Math.Exp(-xd)), tanh = Math.Tanh(xd);
                if (sig >= 1e-37) worstSigmoid = Math.Max(worstSigmoid, Math.Abs(s.GetElement(k) - sig) / sig);
                if (sig < 1e-37) Assert.True(Math.Abs(s.GetElement(k) - sig) <= 1.2e-38, $"sigmoid({xd}) = {s.GetElement(k)}");
                worstTanh = Math.Max(worstTanh, Math.Abs(t.GetElement(k) - tanh) / Math.Max(Math.Abs(tanh), 1e-30));
            }
        }
        Assert.True(worstSigmoid < 2.5e-7, $"sigmoid relative error {worstSigmoid:E2}");
        Assert.True(worstTanh < 2e-7, $"tanh relative error {worstTanh:E2}");
        Assert.True(float.IsNaN(VectorMath.Sigmoid(Vector512.Create(float.NaN)).GetElement(0)));
        Assert.True(float.IsNaN(VectorMath.Tanh(Vector512.Create(float.NaN)).GetElement(0)));
    }
}
