using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Tensors;

/// <summary>
/// The activation functions on one Vector512 of floats, for the fused kernels. Saturating forms: exp never sees a
/// positive argument, so no input (±inf included) produces NaN or overflow.
/// </summary>
public static class VectorMath
{
    /// <summary>σ(x) = 1/(1+e^{-x}), computed as e^{-|x|} based so it is exact-ish at both tails.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x)
    {
        var e = ExpNonPositive(-Vector512.Abs(x));          // in [0, 1]
        var r = Vector512<float>.One / (Vector512<float>.One + e); // σ(|x|)
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), r, e * r);
    }

    /// <summary>tanh(x) = sign(x)·(1 − 2/(e^{2|x|}+1)) written with e^{-2|x|} ∈ (0,1]: (1−e)/(1+e).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        var ax = Vector512.Abs(x);
        var e = ExpNonPositive(ax * Vector512.Create(-2f));
        var t = (Vector512<float>.One - e) / (Vector512<float>.One + e);
        // Near 0 the formula above loses digits to cancellation in 1−e; the Taylor series is exact to float there.
        t = Vector512.ConditionalSelect(Vector512.LessThan(ax, Vector512.Create(SmallTanh)), TanhSeries(ax), t);
        return Vector512.CopySign(t, x);
    }

    private const float SmallTanh = 0.25f;

    /// <summary>
    /// e^x for x ≤ 0, all the saturating forms above need: Cephes' expf (n = round(x·log₂e), r = x − n·ln 2 in two
    /// parts, a degree-7 polynomial, times 2ⁿ), within 1.3 ulp of e^x on [−87.3, 0], about 1.5× the speed of
    /// Vector512.Exp, which works in double. Below −87.3 (where e^x is no longer a normal float) it returns 0;
    /// NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpNonPositive(Vector512<float> x)
    {
        var n = Vector512.Round(x * Vector512.Create(1.44269504f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p * r, r, r + Vector512<float>.One);
        var twoToN = ((Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23).AsSingle();
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(-87.33654f)), Vector512<float>.Zero, p * twoToN);
    }

    /// <summary>tanh x = x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835 for |x| &lt; 1/4 (next term below 1e-8·x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TanhSeries(Vector512<float> x)
    {
        var x2 = x * x;
        var p = Vector512.FusedMultiplyAdd(x2, Vector512.Create(62f / 2835f), Vector512.Create(-17f / 315f));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(2f / 15f));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(-1f / 3f));
        return Vector512.FusedMultiplyAdd(x * x2, p, x);
    }

    /// <summary>Scalar twins of the vector functions, for tails shorter than one vector; same formulas (exp may differ in the last bit).</summary>
    public static float Sigmoid(float x)
    {
        float e = MathF.Exp(-MathF.Abs(x));
        float r = 1f / (1f + e);
        return x >= 0 ? r : e * r;
    }

    /// <summary>Scalar twin of the vector tanh: the series below |x| = 1/4, (1 − e)/(1 + e) with e = e^{−2|x|} above.</summary>
    public static float Tanh(float x)
    {
        float ax = MathF.Abs(x);
        float e = MathF.Exp(-2f * ax);
        float x2 = ax * ax;
        float t = ax < SmallTanh
            ? MathF.FusedMultiplyAdd(ax * x2, MathF.FusedMultiplyAdd(x2, MathF.FusedMultiplyAdd(x2,
                MathF.FusedMultiplyAdd(x2, 62f / 2835f, -17f / 315f), 2f / 15f), -1f / 3f), ax)
            : (1f - e) / (1f + e);
        return MathF.CopySign(t, x);
    }
}
