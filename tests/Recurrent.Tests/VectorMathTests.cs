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

    /// <summary>
    /// The kernels run at the width the CPU accelerates (16, 8 or 4 floats), so the activations must not depend on it:
    /// the Vector128, Vector256 and Vector512 forms give the same bits in every lane, from −90 to 90 in steps of
    /// 1/1024 and at the extremes. (A width the CPU does not accelerate is emulated by the runtime with the same
    /// per-lane arithmetic, so this holds on any machine.)
    /// </summary>
    [Fact]
    public void EveryWidthGivesTheSameBits()
    {
        float[] special = [0f, -0f, 1e-8f, -1e-8f, 0.25f, -0.25f, 87.3f, -87.3f, 87.4f, -87.4f, 1e30f, -1e30f,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.Epsilon];
        var xs = new List<float>(special);
        for (int i = -90 * 1024; i <= 90 * 1024; i += 7) xs.Add(i / 1024f);
        while (xs.Count % 16 != 0) xs.Add(0.5f);
        float[] all = [.. xs];
        var s512 = Activations<Vec512>(all);
        var s256 = Activations<Vec256>(all);
        var s128 = Activations<Vec128>(all);
        string[] names = ["sigmoid", "tanh", "exp"];
        for (int f = 0; f < 3; f++)
            for (int i = 0; i < all.Length; i++)
            {
                Same(s512[f][i], s256[f][i], names[f] + " 256", all[i]);
                Same(s512[f][i], s128[f][i], names[f] + " 128", all[i]);
            }
    }

    /// <summary>σ(x), tanh(x) and e^{−|x|} of every element, computed TV.Count lanes at a time (xs.Length a multiple of 16).</summary>
    private static float[][] Activations<TV>(float[] xs) where TV : struct, IFloatVector<TV>
    {
        float[][] result = [new float[xs.Length], new float[xs.Length], new float[xs.Length]];
        for (int i = 0; i < xs.Length; i += TV.Count)
        {
            var x = TV.Load(ref xs[0], (nuint)i);
            TV.Store(VectorMath.Sigmoid(x), ref result[0][0], (nuint)i);
            TV.Store(VectorMath.Tanh(x), ref result[1][0], (nuint)i);
            TV.Store(VectorMath.ExpNonPositive(-TV.Abs(x)), ref result[2][0], (nuint)i);
        }
        return result;
    }

    private static void Same(float want, float got, string what, float x)
    {
        if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(got) && !(float.IsNaN(want) && float.IsNaN(got)))
            Assert.Fail($"{what}({x:R}) = {got:R}, Vector512 gives {want:R}");
    }
}
