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
}
