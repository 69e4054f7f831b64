using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Tensors;

/// <summary>
/// The activation functions on one vector of floats, for the fused kernels. Saturating forms: exp's argument is
/// clamped to where e^x is a normal float, so no input (±inf included) produces NaN or overflow. Each is written once, over
/// <see cref="IFloatVector{TSelf}"/>, and an element gets the same operations in the same order at every width, so
/// the Vector128, Vector256 and Vector512 forms agree to the bit lane by lane.
/// </summary>
public static class VectorMath
{
    /// <summary>σ(x) = 1/(1+e^{-x}), accurate to float at both tails (see the generic form).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => Sigmoid(new Vec512(x)).V;

    /// <summary>tanh(x) = sign(x)·(1 − 2/(e^{2|x|}+1)) written with e^{-2|x|} ∈ (0,1]: (1−e)/(1+e).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) => Tanh(new Vec512(x)).V;

    /// <summary>
    /// σ(x) = 1/(1+e^{-x}) at any width, with −x clamped to [−87.3, 88] where e^{−x} is a normal float: σ is 1 above
    /// x = 17 and within 6.1e-39 of e^x below x = −88, and a relative 2.5e-7 everywhere between. One exp, one divide
    /// and no select: 12–14 % faster in the LSTM cell (AVX2) than the e^{−|x|} form it replaced, which needed two.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Sigmoid<TV>(TV x) where TV : struct, IFloatVector<TV> =>
        TV.One / (TV.One + ExpInRange(TV.Clamp(-x, TV.Create(MinExpArgument), TV.Create(MaxExpArgument))));

    /// <summary>tanh(x) at any width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Tanh<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        var ax = TV.Abs(x);
        // e^{−2|x|}, its argument clamped at −87.3 (|x| > 43.7), where (1 − e)/(1 + e) is 1 in float all the same.
        var e = ExpInRange(TV.Clamp(ax * TV.Create(-2f), TV.Create(MinExpArgument), TV.Zero));
        var t = (TV.One - e) / (TV.One + e);
        // Near 0 the formula above loses digits to cancellation in 1−e; the Taylor series is exact to float there.
        t = TV.ConditionalSelect(TV.LessThan(ax, TV.Create(SmallTanh)), TanhSeries(ax), t);
        return TV.CopySign(t, x);
    }

    private const float SmallTanh = 0.25f;

    /// <summary>The range of <see cref="ExpInRange{TV}"/>: e^x is a normal float on it.</summary>
    private const float MinExpArgument = -87.33654f, MaxExpArgument = 88f;

    /// <summary>
    /// e^x for x ≤ 0 at any width (the softmax's): <see cref="ExpInRange{TV}"/>, and 0 below −87.3, where e^x is no
    /// longer a normal float (a masked score of −∞ gets exactly 0). NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV ExpNonPositive<TV>(TV x) where TV : struct, IFloatVector<TV> =>
        TV.ConditionalSelect(TV.LessThan(x, TV.Create(MinExpArgument)), TV.Zero, ExpInRange(x));

    /// <summary>
    /// e^x for x in [−87.3, 88], where it is a normal float (outside, 2ⁿ below is not): Cephes' expf (n = round(x·log₂e),
    /// r = x − n·ln 2 in two parts, a degree-7 polynomial, times 2ⁿ), within 1.3 ulp of e^x, about 1.5× the speed of
    /// Vector512.Exp, which works in double. NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpInRange<TV>(TV x) where TV : struct, IFloatVector<TV>
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
        return p * TV.ExponentToFloat(n);
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
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(Math.Clamp(-x, MinExpArgument, MaxExpArgument)));

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
