using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Tensors;

/// <summary>
/// Row-wise softmax and log-softmax over x: [rows, cols] stored flat. The row maximum is subtracted before exp, so
/// e^{x−max} ∈ [0, 1] and no finite input (±1e30 included) overflows; as in PyTorch, a row containing +∞ or NaN gives NaN.
/// </summary>
public static partial class Kernels
{
    /// <summary>y = e^{x−max} / Σ e^{x−max} on each row of length cols; y may be x.</summary>
    public static void SoftmaxRows(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        int rows = RowCount("SoftmaxRows", x.Length, y.Length, cols);
        for (int r = 0; r < rows; r++) SoftmaxRow(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
    }

    /// <summary>y = (x − max) − log Σ e^{x−max} on each row of length cols (PyTorch's order of the two subtractions).</summary>
    public static void LogSoftmaxRows(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        int rows = RowCount("LogSoftmaxRows", x.Length, y.Length, cols);
        for (int r = 0; r < rows; r++) LogSoftmaxRow(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
    }

    /// <summary>
    /// One row: y = softmax(x) (y may be x). Returns log Σ e^{x} = max + log Σ e^{x−max} in double, the log-partition
    /// the cross-entropy needs (loss = logΣ − x[target]).
    /// </summary>
    public static double SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float sum = ExpMinusMax(x, y, out float max);
        if (x.Length > 0) Map(y, y, new DivideOp(sum), "SoftmaxRow");
        return max + Math.Log(sum);
    }

    /// <summary>One row: y = (x − max) − log Σ e^{x−max} (y may be x). Returns log Σ e^{x} in double.</summary>
    public static double LogSoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        SameLength("LogSoftmaxRow", x.Length, y.Length);
        if (x.Length == 0) return double.NegativeInfinity;
        float max = Max(x);
        float logSum = MathF.Log(SumExp(x, max, default, store: false));
        Map(x, y, new ShiftTwiceOp(max, logSum), "LogSoftmaxRow");
        return max + (double)logSum;
    }

    /// <summary>
    /// One row, unnormalized: y = e^{x−max} (y may be x); returns Σ y, and the max. softmax = y / Σ, log Σ e^x = max + log Σ.
    /// </summary>
    public static float ExpMinusMax(ReadOnlySpan<float> x, Span<float> y, out float max)
    {
        SameLength("ExpMinusMax", x.Length, y.Length);
        max = Max(x);
        return x.Length == 0 ? 0f : SumExp(x, max, y, store: true);
    }

    /// <summary>The index of the largest element, the lowest index on ties (greedy decoding's choice); 0 when empty.</summary>
    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>The largest element (NaN if any is NaN); −∞ for an empty span.</summary>
    public static float Max(ReadOnlySpan<float> x) => Simd.Is512 ? Max<Vec512>(x) : Simd.Is256 ? Max<Vec256>(x) : Max<Vec128>(x);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Max<TV>(ReadOnlySpan<float> x) where TV : struct, IFloatVector<TV>
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        var negInf = TV.Create(float.NegativeInfinity);
        var m = negInf;
        for (; i <= n - TV.Count; i += TV.Count) m = TV.Max(m, TV.Load(ref rx, (nuint)i));
        if (i < n) m = TV.Max(m, TV.LoadPartial(ref Unsafe.Add(ref rx, i), n - i, negInf));
        return TV.MaxAcross(m);
    }

    /// <summary>
    /// Σ e^{x−max}, also storing each e^{x−max} into y when store is set (y may be x). x − max ≤ 0: the domain of
    /// VectorMath's float32 exp, faster than Vector512.Exp (which works in double).
    /// </summary>
    private static float SumExp(ReadOnlySpan<float> x, float max, Span<float> y, bool store) =>
        Simd.Is512 ? SumExp<Vec512>(x, max, y, store) : Simd.Is256 ? SumExp<Vec256>(x, max, y, store) : SumExp<Vec128>(x, max, y, store);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float SumExp<TV>(ReadOnlySpan<float> x, float max, Span<float> y, bool store) where TV : struct, IFloatVector<TV>
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        var vmax = TV.Create(max);
        var acc = TV.Zero;
        int n = x.Length, i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
        {
            var e = VectorMath.ExpNonPositive(TV.Load(ref rx, (nuint)i) - vmax);
            if (store) TV.Store(e, ref ry, (nuint)i);
            acc += e;
        }
        if (i < n)
        {
            // Padding lanes hold −∞, whose e^{−∞−max} = 0 adds nothing (when max is ±∞ the row is NaN anyway).
            var e = VectorMath.ExpNonPositive(TV.LoadPartial(ref Unsafe.Add(ref rx, i), n - i, TV.Create(float.NegativeInfinity)) - vmax);
            if (store) TV.StorePartial(e, ref Unsafe.Add(ref ry, i), n - i);
            acc += e;
        }
        return TV.Sum(acc);
    }

    private static int RowCount(string name, int xLength, int yLength, int cols)
    {
        if (cols <= 0) throw new ArgumentException($"Kernels.{name}: cols must be positive, got {cols}");
        SameLength(name, xLength, yLength);
        if (xLength % cols != 0) throw new ArgumentException($"Kernels.{name}: length {xLength} is not a multiple of cols {cols}");
        return xLength / cols;
    }

    private readonly struct DivideOp(float d) : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IFloatVector<TV> => x / TV.Create(d);
    }

    private readonly struct ShiftTwiceOp(float max, float logSum) : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IFloatVector<TV> => x - TV.Create(max) - TV.Create(logSum);
    }
}
