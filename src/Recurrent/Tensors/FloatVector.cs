using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>
/// A vector of floats of some hardware width, so that a kernel is written once, as a generic method over TV, and
/// runs on Vector512, Vector256 or Vector128 (<see cref="Vec512"/>, <see cref="Vec256"/>, <see cref="Vec128"/>).
/// .NET 10 keeps its own ISimdVector interface internal, hence this one. Every member is a thin inlined wrapper
/// of the VectorNNN operation of the same name, so an element gets the same arithmetic (the same roundings, in the
/// same order) at every width; only reductions across lanes (<see cref="Sum"/>, <see cref="MaxAcross"/>) add in a
/// width-dependent order. The JIT specializes each generic kernel per struct, so nothing is boxed or dispatched.
/// </summary>
internal interface IFloatVector<TSelf> where TSelf : struct, IFloatVector<TSelf>
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }
    static abstract TSelf Zero { get; }
    static abstract TSelf One { get; }
    static abstract TSelf Create(float value);
    /// <summary>Elements [at, at + Count) from src.</summary>
    static abstract TSelf Load(ref float src, nuint at);
    /// <summary>Lanes [0, count) from src (count ≤ Count), the other lanes = fill; nothing past them is read.</summary>
    static abstract TSelf LoadPartial(ref float src, int count, TSelf fill);
    /// <summary>Writes the vector to dst[at, at + Count).</summary>
    static abstract void Store(TSelf v, ref float dst, nuint at);
    /// <summary>Writes lanes [0, count) of v to dst; nothing past them.</summary>
    static abstract void StorePartial(TSelf v, ref float dst, int count);

    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a);

    /// <summary>a·b + c with one rounding.</summary>
    static abstract TSelf FusedMultiplyAdd(TSelf a, TSelf b, TSelf c);
    static abstract TSelf Abs(TSelf x);
    /// <summary>Lane-wise minimum; NaN in either gives NaN (as Math.Min).</summary>
    static abstract TSelf Min(TSelf a, TSelf b);
    /// <summary>Lane-wise maximum; NaN in either gives NaN (as Math.Max).</summary>
    static abstract TSelf Max(TSelf a, TSelf b);
    /// <summary>
    /// x clamped to [lo, hi] (lo ≤ hi, neither NaN); a NaN x stays NaN. On x86 one vmaxps and one vminps with x as
    /// the second operand (which they return when an operand is NaN), without the fix-ups of Max and Min.
    /// </summary>
    static abstract TSelf Clamp(TSelf x, TSelf lo, TSelf hi);
    static abstract TSelf Sqrt(TSelf x);
    /// <summary>Round to nearest, ties to even.</summary>
    static abstract TSelf Round(TSelf x);
    /// <summary>The magnitude of x with the sign of sign.</summary>
    static abstract TSelf CopySign(TSelf x, TSelf sign);
    /// <summary>Lanes of a where mask is all ones, of b where it is zero; every lane of mask must be one or the other (a comparison's result).</summary>
    static abstract TSelf ConditionalSelect(TSelf mask, TSelf a, TSelf b);
    static abstract TSelf LessThan(TSelf a, TSelf b);
    static abstract TSelf GreaterThan(TSelf a, TSelf b);
    static abstract TSelf GreaterThanOrEqual(TSelf a, TSelf b);
    /// <summary>
    /// 2ⁿ for integral n in [−126, 127]: (n + 127) shifted into the exponent field. n being integral, x86's plain
    /// truncating conversion (one vcvttps2dq) is exact, without the fix-up instructions of .NET's saturating one.
    /// </summary>
    static abstract TSelf ExponentToFloat(TSelf n);
    /// <summary>The sum of the lanes (in a width-dependent order).</summary>
    static abstract float Sum(TSelf v);
    /// <summary>The largest lane (NaN if any is NaN).</summary>
    static abstract float MaxAcross(TSelf v);
}

/// <summary>
/// The vector width the kernels run at, picked once when the process starts: Vector512 where AVX-512 is accelerated,
/// Vector256 on AVX2, Vector128 (SSE, NEON) otherwise. The IsHardwareAccelerated properties are constants to the JIT,
/// so the tests <c>if (Simd.Is512) …Kernel&lt;Vec512&gt;() else if (Simd.Is256) …</c> at an entry point compile to a
/// single call. DOTNET_EnableAVX512=0 (and DOTNET_EnableAVX2=0) select the narrower widths on any x64 machine.
/// The generic kernel bodies are NoInlining | AggressiveOptimization: inlined whole into such an entry point (at tier
/// 1, or into a large caller) a body ran out of the JIT's inline budget, and the wrappers below stayed calls.
/// </summary>
internal static class Simd
{
    public static bool Is512 => Vector512.IsHardwareAccelerated;
    public static bool Is256 => Vector256.IsHardwareAccelerated;

    /// <summary>Floats per vector at the chosen width (16, 8 or 4).</summary>
    public static int Width => Is512 ? 16 : Is256 ? 8 : 4;
}

/// <summary>Vector512&lt;float&gt; as an <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct Vec512(Vector512<float> v) : IFloatVector<Vec512>
{
    public readonly Vector512<float> V = v;

    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector512<float>.Count; }
    public static Vec512 Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector512<float>.Zero); }
    public static Vec512 One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector512<float>.One); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Load(ref float src, nuint at) => new(Vector512.LoadUnsafe(ref src, at));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vec512 v, ref float dst, nuint at) => v.V.StoreUnsafe(ref dst, at);

    /// <summary>With AVX-512 a masked load (faults suppressed past the end); otherwise element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vec512 LoadPartial(ref float src, int count, Vec512 fill)
    {
        if (Avx512F.IsSupported)
            fixed (float* p = &src) return new(Avx512F.MaskLoad(p, Mask(count), fill.V));
        return Partial.Load(ref src, count, fill);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StorePartial(Vec512 v, ref float dst, int count)
    {
        if (Avx512F.IsSupported)
        {
            fixed (float* p = &dst) Avx512F.MaskStore(p, Mask(count), v.V);
            return;
        }
        Partial.Store(v, ref dst, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Mask(int count) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator +(Vec512 a, Vec512 b) => new(a.V + b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator -(Vec512 a, Vec512 b) => new(a.V - b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator *(Vec512 a, Vec512 b) => new(a.V * b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator /(Vec512 a, Vec512 b) => new(a.V / b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 operator -(Vec512 a) => new(-a.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 FusedMultiplyAdd(Vec512 a, Vec512 b, Vec512 c) => new(Vector512.FusedMultiplyAdd(a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Abs(Vec512 x) => new(Vector512.Abs(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Min(Vec512 a, Vec512 b) => new(Vector512.Min(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Max(Vec512 a, Vec512 b) => new(Vector512.Max(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Clamp(Vec512 x, Vec512 lo, Vec512 hi) =>
        Avx512F.IsSupported ? new(Avx512F.Min(hi.V, Avx512F.Max(lo.V, x.V))) : Max(lo, Min(hi, x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Sqrt(Vec512 x) => new(Vector512.Sqrt(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Round(Vec512 x) => new(Vector512.Round(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 CopySign(Vec512 x, Vec512 sign) => new(Vector512.CopySign(x.V, sign.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 ConditionalSelect(Vec512 mask, Vec512 a, Vec512 b) => new(Vector512.ConditionalSelect(mask.V, a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 LessThan(Vec512 a, Vec512 b) => new(Vector512.LessThan(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 GreaterThan(Vec512 a, Vec512 b) => new(Vector512.GreaterThan(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 GreaterThanOrEqual(Vec512 a, Vec512 b) => new(Vector512.GreaterThanOrEqual(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 ExponentToFloat(Vec512 n) => new((((Avx512F.IsSupported ? Avx512F.ConvertToVector512Int32WithTruncation(n.V) : Vector512.ConvertToInt32(n.V))
        + Vector512.Create(127)) << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vec512 v) => Vector512.Sum(v.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vec512 v) => Vec256.MaxAcross(new(Vector256.Max(v.V.GetLower(), v.V.GetUpper())));
}

/// <summary>Vector256&lt;float&gt; as an <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct Vec256(Vector256<float> v) : IFloatVector<Vec256>
{
    public readonly Vector256<float> V = v;

    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector256<float>.Count; }
    public static Vec256 Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector256<float>.Zero); }
    public static Vec256 One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector256<float>.One); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Load(ref float src, nuint at) => new(Vector256.LoadUnsafe(ref src, at));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vec256 v, ref float dst, nuint at) => v.V.StoreUnsafe(ref dst, at);

    /// <summary>With AVX a masked load (vmaskmovps: faults suppressed past the end, masked lanes zero); otherwise element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vec256 LoadPartial(ref float src, int count, Vec256 fill)
    {
        if (Avx.IsSupported)
        {
            var mask = Mask(count);
            fixed (float* p = &src) return new(Vector256.ConditionalSelect(mask, Avx.MaskLoad(p, mask), fill.V));
        }
        return Partial.Load(ref src, count, fill);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StorePartial(Vec256 v, ref float dst, int count)
    {
        if (Avx.IsSupported)
        {
            fixed (float* p = &dst) Avx.MaskStore(p, Mask(count), v.V);
            return;
        }
        Partial.Store(v, ref dst, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Mask(int count) => Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator +(Vec256 a, Vec256 b) => new(a.V + b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator -(Vec256 a, Vec256 b) => new(a.V - b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator *(Vec256 a, Vec256 b) => new(a.V * b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator /(Vec256 a, Vec256 b) => new(a.V / b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 operator -(Vec256 a) => new(-a.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 FusedMultiplyAdd(Vec256 a, Vec256 b, Vec256 c) => new(Vector256.FusedMultiplyAdd(a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Abs(Vec256 x) => new(Vector256.Abs(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Min(Vec256 a, Vec256 b) => new(Vector256.Min(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Max(Vec256 a, Vec256 b) => new(Vector256.Max(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Clamp(Vec256 x, Vec256 lo, Vec256 hi) =>
        Avx.IsSupported ? new(Avx.Min(hi.V, Avx.Max(lo.V, x.V))) : Max(lo, Min(hi, x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Sqrt(Vec256 x) => new(Vector256.Sqrt(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Round(Vec256 x) => new(Vector256.Round(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 CopySign(Vec256 x, Vec256 sign) => new(Vector256.CopySign(x.V, sign.V));
    /// <summary>With AVX one vblendvps, which reads each lane's sign bit: the same as the bitwise select for a comparison's mask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 ConditionalSelect(Vec256 mask, Vec256 a, Vec256 b) =>
        new(Avx.IsSupported ? Avx.BlendVariable(b.V, a.V, mask.V) : Vector256.ConditionalSelect(mask.V, a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 LessThan(Vec256 a, Vec256 b) => new(Vector256.LessThan(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 GreaterThan(Vec256 a, Vec256 b) => new(Vector256.GreaterThan(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 GreaterThanOrEqual(Vec256 a, Vec256 b) => new(Vector256.GreaterThanOrEqual(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 ExponentToFloat(Vec256 n) => new((((Avx.IsSupported ? Avx.ConvertToVector256Int32WithTruncation(n.V) : Vector256.ConvertToInt32(n.V))
        + Vector256.Create(127)) << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vec256 v) => Vector256.Sum(v.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vec256 v) => Vec128.MaxAcross(new(Vector128.Max(v.V.GetLower(), v.V.GetUpper())));
}

/// <summary>Vector128&lt;float&gt; as an <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct Vec128(Vector128<float> v) : IFloatVector<Vec128>
{
    public readonly Vector128<float> V = v;

    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector128<float>.Count; }
    public static Vec128 Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector128<float>.Zero); }
    public static Vec128 One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector128<float>.One); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Create(float value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Load(ref float src, nuint at) => new(Vector128.LoadUnsafe(ref src, at));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vec128 v, ref float dst, nuint at) => v.V.StoreUnsafe(ref dst, at);

    /// <summary>With AVX a masked load (vmaskmovps); otherwise (SSE, NEON) element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vec128 LoadPartial(ref float src, int count, Vec128 fill)
    {
        if (Avx.IsSupported)
        {
            var mask = Mask(count);
            fixed (float* p = &src) return new(Vector128.ConditionalSelect(mask, Avx.MaskLoad(p, mask), fill.V));
        }
        return Partial.Load(ref src, count, fill);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StorePartial(Vec128 v, ref float dst, int count)
    {
        if (Avx.IsSupported)
        {
            fixed (float* p = &dst) Avx.MaskStore(p, Mask(count), v.V);
            return;
        }
        Partial.Store(v, ref dst, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Mask(int count) => Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(count)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator +(Vec128 a, Vec128 b) => new(a.V + b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator -(Vec128 a, Vec128 b) => new(a.V - b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator *(Vec128 a, Vec128 b) => new(a.V * b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator /(Vec128 a, Vec128 b) => new(a.V / b.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 operator -(Vec128 a) => new(-a.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 FusedMultiplyAdd(Vec128 a, Vec128 b, Vec128 c) => new(Vector128.FusedMultiplyAdd(a.V, b.V, c.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Abs(Vec128 x) => new(Vector128.Abs(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Min(Vec128 a, Vec128 b) => new(Vector128.Min(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Max(Vec128 a, Vec128 b) => new(Vector128.Max(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Clamp(Vec128 x, Vec128 lo, Vec128 hi) =>
        Sse.IsSupported ? new(Sse.Min(hi.V, Sse.Max(lo.V, x.V))) : Max(lo, Min(hi, x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Sqrt(Vec128 x) => new(Vector128.Sqrt(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Round(Vec128 x) => new(Vector128.Round(x.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 CopySign(Vec128 x, Vec128 sign) => new(Vector128.CopySign(x.V, sign.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 ConditionalSelect(Vec128 mask, Vec128 a, Vec128 b) => new(Vector128.ConditionalSelect(mask.V, a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 LessThan(Vec128 a, Vec128 b) => new(Vector128.LessThan(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 GreaterThan(Vec128 a, Vec128 b) => new(Vector128.GreaterThan(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 GreaterThanOrEqual(Vec128 a, Vec128 b) => new(Vector128.GreaterThanOrEqual(a.V, b.V));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 ExponentToFloat(Vec128 n) => new(((Vector128.ConvertToInt32(n.V) + Vector128.Create(127)) << 23).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vec128 v) => Vector128.Sum(v.V);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vec128 v) => MathF.Max(MathF.Max(v.V[0], v.V[1]), MathF.Max(v.V[2], v.V[3]));
}

/// <summary>Element-by-element partial loads and stores, for CPUs without masked moves.</summary>
internal static class Partial
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(ref float src, int count, TV fill) where TV : struct, IFloatVector<TV>
    {
        var v = fill;
        MemoryMarshal.CreateReadOnlySpan(ref src, count).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.As<TV, float>(ref v), TV.Count));
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(TV v, ref float dst, int count) where TV : struct, IFloatVector<TV> =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TV, float>(ref v), count).CopyTo(MemoryMarshal.CreateSpan(ref dst, count));
}
