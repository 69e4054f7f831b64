using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Tensors;

/// <summary>
/// Span kernels: activations and their derivatives, row-wise (log-)softmax, and the BLAS-1 operations.
/// One vectorized driver per arity runs an operator one vector at a time, at the width picked at startup (see
/// <see cref="Simd"/>: 16, 8 or 4 floats); the tail (length mod the width) goes through the same operator as one
/// zero-padded vector (LoadPartial), so an element gets the same arithmetic wherever it sits in a span, and at any
/// width. Outputs may alias inputs exactly (in place); lengths must match. Nothing allocates.
/// </summary>
public static partial class Kernels
{
    // ---- activations: y = f(x) ----

    /// <summary>y = σ(x) = 1/(1+e^{−x}).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => Map(x, y, new SigmoidOp(), "Sigmoid");

    /// <summary>y = tanh(x).</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) => Map(x, y, new TanhOp(), "Tanh");

    /// <summary>y = max(x, 0) (NaN stays NaN, as in PyTorch).</summary>
    public static void Relu(ReadOnlySpan<float> x, Span<float> y) => Map(x, y, new ReluOp(), "Relu");

    // ---- derivatives, written in terms of the forward output y ----

    /// <summary>dx = dy·(1−y)·y, where y = σ(x) (PyTorch's sigmoid_backward order).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) =>
        Map(y, dy, dx, new SigmoidBackwardOp(), "SigmoidBackward");

    /// <summary>dx = dy·(1−y²), where y = tanh(x); 1 − y² in one rounding (as PyTorch's compiled tanh_backward), which
    /// keeps its digits when y is near ±1.</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) =>
        Map(y, dy, dx, new TanhBackwardOp(), "TanhBackward");

    /// <summary>dx = dy where y &gt; 0, else 0 (the subgradient 0 at x = 0, as PyTorch's threshold_backward).</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) =>
        Map(y, dy, dx, new ReluBackwardOp(), "ReluBackward");

    // ---- BLAS-1 ----

    /// <summary>dst = a + b.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst) => Map(a, b, dst, new AddOp(), "Add");

    /// <summary>dst = a ⊙ b (elementwise product).</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst) =>
        Map(a, b, dst, new MultiplyOp(), "Multiply");

    /// <summary>x ← s·x.</summary>
    public static void Scale(Span<float> x, float s) => Map(x, x, new ScaleOp(s), "Scale");

    /// <summary>dst ← dst + s·x, one rounding per element (fused multiply-add, as PyTorch's add_(x, alpha=s)).</summary>
    public static void AddScaled(Span<float> dst, ReadOnlySpan<float> x, float s) =>
        Map(x, dst, dst, new AddScaledOp(s), "AddScaled");

    /// <summary>x ← min(max(x, low), high) (NaN stays NaN, as torch.clamp_).</summary>
    public static void Clamp(Span<float> x, float low, float high)
    {
        if (!(low <= high)) throw new ArgumentException($"Kernels.Clamp: low {low} is above high {high}");
        Map(x, x, new ClampOp(low, high), "Clamp");
    }

    /// <summary>[P, Q, R] → [Q, P, R]: batch-first ↔ time-major (not in place).</summary>
    public static void SwapFirstTwoAxes(ReadOnlySpan<float> source, Span<float> destination, int p, int q, int r)
    {
        for (int i = 0; i < p; i++)
            for (int j = 0; j < q; j++)
                source.Slice((i * q + j) * r, r).CopyTo(destination.Slice((j * p + i) * r, r));
    }

    /// <summary>Σ aᵢ·bᵢ, accumulated in float lanes with fused multiply-adds.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        SameLength("Dot", a.Length, b.Length);
        return Simd.Is512 ? Dot<Vec512>(a, b) : Simd.Is256 ? Dot<Vec256>(a, b) : Dot<Vec128>(a, b);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Dot<TV>(ReadOnlySpan<float> a, ReadOnlySpan<float> b) where TV : struct, IFloatVector<TV>
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        int n = a.Length, i = 0, w = TV.Count;
        var acc0 = TV.Zero;
        var acc1 = TV.Zero; // two chains hide the FMA latency
        for (; i <= n - 2 * w; i += 2 * w)
        {
            acc0 = TV.FusedMultiplyAdd(TV.Load(ref ra, (nuint)i), TV.Load(ref rb, (nuint)i), acc0);
            acc1 = TV.FusedMultiplyAdd(TV.Load(ref ra, (nuint)(i + w)), TV.Load(ref rb, (nuint)(i + w)), acc1);
        }
        for (; i <= n - w; i += w)
            acc0 = TV.FusedMultiplyAdd(TV.Load(ref ra, (nuint)i), TV.Load(ref rb, (nuint)i), acc0);
        float sum = TV.Sum(acc0 + acc1);
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    /// <summary>Σ xᵢ², accumulated in double (the gradient norm must not lose small parameters to large ones).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a few calls a step: tiering would leave it in slow code for many steps
    public static double SumOfSquares(ReadOnlySpan<float> x)
    {
        // A reduction that widens to double, which IFloatVector does not model: one copy per width, the same loop.
        ref float rx = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        double sum;
        if (Simd.Is512)
        {
            var acc0 = Vector512<double>.Zero;
            var acc1 = Vector512<double>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref rx, (nuint)i));
                acc0 = Vector512.FusedMultiplyAdd(lo, lo, acc0);
                acc1 = Vector512.FusedMultiplyAdd(hi, hi, acc1);
            }
            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (Simd.Is256)
        {
            var acc0 = Vector256<double>.Zero;
            var acc1 = Vector256<double>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref rx, (nuint)i));
                acc0 = Vector256.FusedMultiplyAdd(lo, lo, acc0);
                acc1 = Vector256.FusedMultiplyAdd(hi, hi, acc1);
            }
            sum = Vector256.Sum(acc0 + acc1);
        }
        else
        {
            var acc0 = Vector128<double>.Zero;
            var acc1 = Vector128<double>.Zero;
            for (; i <= n - 4; i += 4)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref rx, (nuint)i));
                acc0 = Vector128.FusedMultiplyAdd(lo, lo, acc0);
                acc1 = Vector128.FusedMultiplyAdd(hi, hi, acc1);
            }
            sum = Vector128.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum += (double)x[i] * x[i];
        return sum;
    }

    /// <summary>Σ xᵢ in float lanes.</summary>
    public static float Sum(ReadOnlySpan<float> x) => Simd.Is512 ? Sum<Vec512>(x) : Simd.Is256 ? Sum<Vec256>(x) : Sum<Vec128>(x);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Sum<TV>(ReadOnlySpan<float> x) where TV : struct, IFloatVector<TV>
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        var acc = TV.Zero;
        for (; i <= n - TV.Count; i += TV.Count) acc += TV.Load(ref rx, (nuint)i);
        float sum = TV.Sum(acc);
        for (; i < n; i++) sum += x[i];
        return sum;
    }

    // ---- drivers ----

    private interface IUnaryOp
    {
        TV Invoke<TV>(TV x) where TV : struct, IFloatVector<TV>;
    }

    private interface IBinaryOp
    {
        TV Invoke<TV>(TV a, TV b) where TV : struct, IFloatVector<TV>;
    }

    /// <summary>y = op(x) at the startup width.</summary>
    private static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y, TOp op, string name) where TOp : struct, IUnaryOp
    {
        SameLength(name, x.Length, y.Length);
        if (Simd.Is512) MapAt<Vec512, TOp>(x, y, op);
        else if (Simd.Is256) MapAt<Vec256, TOp>(x, y, op);
        else MapAt<Vec128, TOp>(x, y, op);
    }

    /// <summary>y = op(x) over whole vectors, then the tail as one zero-padded vector.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void MapAt<TV, TOp>(ReadOnlySpan<float> x, Span<float> y, TOp op)
        where TV : struct, IFloatVector<TV> where TOp : struct, IUnaryOp
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        int n = x.Length, i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
            TV.Store(op.Invoke(TV.Load(ref rx, (nuint)i)), ref ry, (nuint)i);
        if (i < n)
            TV.StorePartial(op.Invoke(TV.LoadPartial(ref Unsafe.Add(ref rx, i), n - i, TV.Zero)), ref Unsafe.Add(ref ry, i), n - i);
    }

    /// <summary>dst = op(a, b) at the startup width.</summary>
    private static void Map<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst, TOp op, string name)
        where TOp : struct, IBinaryOp
    {
        SameLength(name, a.Length, b.Length);
        SameLength(name, a.Length, dst.Length);
        if (Simd.Is512) MapAt<Vec512, TOp>(a, b, dst, op);
        else if (Simd.Is256) MapAt<Vec256, TOp>(a, b, dst, op);
        else MapAt<Vec128, TOp>(a, b, dst, op);
    }

    /// <summary>dst = op(a, b) over whole vectors, then the tail as zero-padded vectors.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void MapAt<TV, TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst, TOp op)
        where TV : struct, IFloatVector<TV> where TOp : struct, IBinaryOp
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rd = ref MemoryMarshal.GetReference(dst);
        int n = a.Length, i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
            TV.Store(op.Invoke(TV.Load(ref ra, (nuint)i), TV.Load(ref rb, (nuint)i)), ref rd, (nuint)i);
        if (i < n)
            TV.StorePartial(op.Invoke(TV.LoadPartial(ref Unsafe.Add(ref ra, i), n - i, TV.Zero),
                TV.LoadPartial(ref Unsafe.Add(ref rb, i), n - i, TV.Zero)), ref Unsafe.Add(ref rd, i), n - i);
    }

    private static void SameLength(string name, int a, int b)
    {
        if (a != b) throw new ArgumentException($"Kernels.{name}: spans of different lengths ({a} and {b})");
    }

    // ---- operators ----

    private readonly struct SigmoidOp : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IFloatVector<TV> => VectorMath.Sigmoid(x);
    }

    private readonly struct TanhOp : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IFloatVector<TV> => VectorMath.Tanh(x);
    }

    private readonly struct ReluOp : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IFloatVector<TV> => TV.Max(x, TV.Zero);
    }

    private readonly struct ScaleOp(float s) : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IFloatVector<TV> => x * TV.Create(s);
    }

    private readonly struct ClampOp(float low, float high) : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IFloatVector<TV> => TV.Min(TV.Max(x, TV.Create(low)), TV.Create(high));
    }

    private readonly struct SigmoidBackwardOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV y, TV dy) where TV : struct, IFloatVector<TV> => dy * (TV.One - y) * y;
    }

    private readonly struct TanhBackwardOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV y, TV dy) where TV : struct, IFloatVector<TV> => dy * TV.FusedMultiplyAdd(-y, y, TV.One);
    }

    private readonly struct ReluBackwardOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV y, TV dy) where TV : struct, IFloatVector<TV> =>
            TV.ConditionalSelect(TV.GreaterThan(y, TV.Zero), dy, TV.Zero);
    }

    private readonly struct AddOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV a, TV b) where TV : struct, IFloatVector<TV> => a + b;
    }

    private readonly struct MultiplyOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV a, TV b) where TV : struct, IFloatVector<TV> => a * b;
    }

    private readonly struct AddScaledOp(float s) : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x, TV dst) where TV : struct, IFloatVector<TV> => TV.FusedMultiplyAdd(x, TV.Create(s), dst);
    }
}
