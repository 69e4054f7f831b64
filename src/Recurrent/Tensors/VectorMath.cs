using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Tensors;

/// <summary>
/// The activation functions on one vector of floats, for the fused kernels. Saturating forms: exp never sees a
/// positive argument, so no input (±inf included) produces NaN or overflow. Each is written once, over
/// <see cref="IFloatVector{TSelf}"/>, and an element gets the same operations in the same order at every width, so
/// the Vector128, Vector256 and Vector512 forms agree to the bit lane by lane.
/// </summary>
public static class VectorMath
{
    /// <summary>σ(x) = 1/(1+e^{-x}), computed as e^{-|x|} based so it is exact-ish at both tails.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => Sigmoid(new Vec512(x)).V;

    /// <summary>tanh(x) = sign(x)·(1 − 2/(e^{2|x|}+1)) written with e^{-2|x|} ∈ (0,1]: (1−e)/(1+e).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) => Tanh(new Vec512(x)).V;

    /// <summary>σ(x) = 1/(1+e^{-x}) at any width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Sigmoid<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        var e = ExpNonPositive(-TV.Abs(x));       // in [0, 1]
        var r = TV.One / (TV.One + e);            // σ(|x|)
        return TV.ConditionalSelect(TV.GreaterThanOrEqual(x, TV.Zero), r, e * r);
    }

    /// <summary>tanh(x) at any width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Tanh<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        var ax = TV.Abs(x);
        var e = ExpNonPositive(ax * TV.Create(-2f));
        var t = (TV.One - e) / (TV.One + e);
        // Near 0 the formula above loses digits to cancellation in 1−e; the Taylor series is exact to float there.
        t = TV.ConditionalSelect(TV.LessThan(ax, TV.Create(SmallTanh)), TanhSeries(ax), t);
        return TV.CopySign(t, x);
    }

    private const float SmallTanh = 0.25f;

    /// <summary>
    /// e^x for x ≤ 0 at any width, all the saturating forms above need: Cephes' expf (n = round(x·log₂e), r = x − n·ln 2
    /// in two parts, a degree-7 polynomial, times 2ⁿ), within 1.3 ulp of e^x on [−87.3, 0], about 1.5× the speed of
    /// Vector512.Exp, which works in double. Below −87.3 (where e^x is no longer a normal float) it returns 0;
    /// NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV ExpNonPositive<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        var n = TV.Round(x * TV.Create(1.44269504f));
        var r = TV.FusedMultiplyAdd(n, TV.Create(-0.693359375f), x);
        r = TV.FusedMultiplyAdd(n, TV.Create(2.12194440e-4f), r);
        var p = TV.FusedMultiplyAdd(TV.Create(1.9875691500e-4f), r, TV.Create(1.3981999507e-3f));
        p = TV.FusedMultiplyAdd(p, r, TV.Create(8.3334519073e-3f));
        p = TV.FusedMultiplyAdd(p, r, TV.Create(4.1665795894e-2f));
        p = TV.FusedMultiplyAdd(p, r, TV.Create(1.6666665459e-1f));
        p = TV.FusedMultiplyAdd(p, r, TV.Create(5.0000001201e-1f));
        p = TV.FusedMultiplyAdd(p * r, r, r + TV.One);
        return TV.ConditionalSelect(TV.LessThan(x, TV.Create(-87.33654f)), TV.Zero, p * TV.ExponentToFloat(n));
    }

    /// <summary>tanh x = x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835 for |x| &lt; 1/4 (next term below 1e-8·x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV TanhSeries<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        var x2 = x * x;
        var p = TV.FusedMultiplyAdd(x2, TV.Create(62f / 2835f), TV.Create(-17f / 315f));
        p = TV.FusedMultiplyAdd(x2, p, TV.Create(2f / 15f));
        p = TV.FusedMultiplyAdd(x2, p, TV.Create(-1f / 3f));
        return TV.FusedMultiplyAdd(x * x2, p, x);
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
