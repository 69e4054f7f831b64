using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Tensors;

/// <summary>
/// Span kernels: activations and their derivatives, row-wise (log-)softmax, and the BLAS-1 operations.
/// One vectorized driver per arity runs an operator 16 floats at a time; the tail (length mod 16) goes through the
/// same operator as one zero-padded vector (Tail), so an element gets the same arithmetic wherever it sits in a span.
/// Outputs may alias inputs exactly (in place); lengths must match. Nothing allocates.
/// </summary>
public static partial class Kernels
{
    private const int W = 16; // floats per Vector512

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
    public static void Scale(Span<float> x, float s) => Map(x, x, new ScaleOp(Vector512.Create(s)), "Scale");

    /// <summary>dst ← dst + s·x, one rounding per element (fused multiply-add, as PyTorch's add_(x, alpha=s)).</summary>
    public static void AddScaled(Span<float> dst, ReadOnlySpan<float> x, float s) =>
        Map(x, dst, dst, new AddScaledOp(Vector512.Create(s)), "AddScaled");

    /// <summary>x ← min(max(x, low), high) (NaN stays NaN, as torch.clamp_).</summary>
    public static void Clamp(Span<float> x, float low, float high)
    {
        if (!(low <= high)) throw new ArgumentException($"Kernels.Clamp: low {low} is above high {high}");
        Map(x, x, new ClampOp(Vector512.Create(low), Vector512.Create(high)), "Clamp");
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
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        int n = a.Length, i = 0;
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero; // two chains hide the FMA latency
        for (; i <= n - 2 * W; i += 2 * W)
        {
            acc0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)(i + W)), Vector512.LoadUnsafe(ref rb, (nuint)(i + W)), acc1);
        }
        for (; i <= n - W; i += W)
            acc0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), acc0);
        float sum = Vector512.Sum(acc0 + acc1);
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    /// <summary>Σ xᵢ², accumulated in double (the gradient norm must not lose small parameters to large ones).</summary>
    public static double SumOfSquares(ReadOnlySpan<float> x)
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        var acc0 = Vector512<double>.Zero;
        var acc1 = Vector512<double>.Zero;
        for (; i <= n - W; i += W)
        {
            var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref rx, (nuint)i));
            acc0 = Vector512.FusedMultiplyAdd(lo, lo, acc0);
            acc1 = Vector512.FusedMultiplyAdd(hi, hi, acc1);
        }
        double sum = Vector512.Sum(acc0 + acc1);
        for (; i < n; i++) sum += (double)x[i] * x[i];
        return sum;
    }

    /// <summary>Σ xᵢ in float lanes.</summary>
    public static float Sum(ReadOnlySpan<float> x)
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        var acc = Vector512<float>.Zero;
        for (; i <= n - W; i += W) acc += Vector512.LoadUnsafe(ref rx, (nuint)i);
        float sum = Vector512.Sum(acc);
        for (; i < n; i++) sum += x[i];
        return sum;
    }

    // ---- drivers ----

    private interface IUnaryOp
    {
        Vector512<float> Invoke(Vector512<float> x);
    }

    private interface IBinaryOp
    {
        Vector512<float> Invoke(Vector512<float> a, Vector512<float> b);
    }

    /// <summary>y = op(x) over whole vectors, then the tail as one zero-padded vector.</summary>
    private static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y, TOp op, string name) where TOp : struct, IUnaryOp
    {
        SameLength(name, x.Length, y.Length);
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        int n = x.Length, i = 0;
        for (; i <= n - W; i += W)
            op.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        if (i < n)
            Tail.Store(ref Unsafe.Add(ref ry, i), n - i, op.Invoke(Tail.Load(ref Unsafe.Add(ref rx, i), n - i)));
    }

    /// <summary>dst = op(a, b) over whole vectors, then the tail as zero-padded vectors.</summary>
    private static void Map<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst, TOp op, string name)
        where TOp : struct, IBinaryOp
    {
        SameLength(name, a.Length, b.Length);
        SameLength(name, a.Length, dst.Length);
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rd = ref MemoryMarshal.GetReference(dst);
        int n = a.Length, i = 0;
        for (; i <= n - W; i += W)
            op.Invoke(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        if (i < n)
            Tail.Store(ref Unsafe.Add(ref rd, i), n - i,
                op.Invoke(Tail.Load(ref Unsafe.Add(ref ra, i), n - i), Tail.Load(ref Unsafe.Add(ref rb, i), n - i)));
    }

    private static void SameLength(string name, int a, int b)
    {
        if (a != b) throw new ArgumentException($"Kernels.{name}: spans of different lengths ({a} and {b})");
    }

    // ---- operators ----

    private readonly struct SigmoidOp : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => VectorMath.Sigmoid(x);
    }

    private readonly struct TanhOp : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => VectorMath.Tanh(x);
    }

    private readonly struct ReluOp : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);
    }

    private readonly struct ScaleOp(Vector512<float> s) : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => x * s;
    }

    private readonly struct ClampOp(Vector512<float> low, Vector512<float> high) : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => Vector512.Min(Vector512.Max(x, low), high);
    }

    private readonly struct SigmoidBackwardOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy) => dy * (Vector512<float>.One - y) * y;
    }

    private readonly struct TanhBackwardOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy) => dy * Vector512.FusedMultiplyAdd(-y, y, Vector512<float>.One);
    }

    private readonly struct ReluBackwardOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), dy, Vector512<float>.Zero);
    }

    private readonly struct AddOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => a + b;
    }

    private readonly struct MultiplyOp : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => a * b;
    }

    private readonly struct AddScaledOp(Vector512<float> s) : IBinaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dst) => Vector512.FusedMultiplyAdd(x, s, dst);
    }
}
