using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        SameLength("SoftmaxRow", x.Length, y.Length);
        if (x.Length == 0) return double.NegativeInfinity;
        float max = Max(x);
        float sum = ExpShifted(x, max, y, store: true);
        Map(y, y, new DivideOp(Vector512.Create(sum)), "SoftmaxRow");
        return max + Math.Log(sum);
    }

    /// <summary>One row: y = (x − max) − log Σ e^{x−max} (y may be x). Returns log Σ e^{x} in double.</summary>
    public static double LogSoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        SameLength("LogSoftmaxRow", x.Length, y.Length);
        if (x.Length == 0) return double.NegativeInfinity;
        float max = Max(x);
        float logSum = MathF.Log(ExpShifted(x, max, default, store: false));
        Map(x, y, new ShiftTwiceOp(Vector512.Create(max), Vector512.Create(logSum)), "LogSoftmaxRow");
        return max + (double)logSum;
    }

    /// <summary>The largest element (NaN if any is NaN); −∞ for an empty span.</summary>
    public static float Max(ReadOnlySpan<float> x)
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        var m = Vector512.Create(float.NegativeInfinity);
        for (; i <= n - W; i += W) m = Vector512.Max(m, Vector512.LoadUnsafe(ref rx, (nuint)i));
        float max = float.NegativeInfinity;
        for (int lane = 0; lane < W; lane++) max = MathF.Max(max, m.GetElement(lane));
        for (; i < n; i++) max = MathF.Max(max, x[i]);
        return max;
    }

    /// <summary>Σ e^{x−max}, also storing each e^{x−max} into y when store is set (y may be x).</summary>
    [SkipLocalsInit]
    private static float ExpShifted(ReadOnlySpan<float> x, float max, Span<float> y, bool store)
    {
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        var vmax = Vector512.Create(max);
        var acc = Vector512<float>.Zero;
        int n = x.Length, i = 0;
        for (; i <= n - W; i += W)
        {
            var e = Vector512.Exp(Vector512.LoadUnsafe(ref rx, (nuint)i) - vmax);
            if (store) e.StoreUnsafe(ref ry, (nuint)i);
            acc += e;
        }
        float sum = Vector512.Sum(acc);
        if (i < n)
        {
            // The tail through the same vector exp, summing only the real lanes.
            Span<float> t = stackalloc float[W];
            t.Clear();
            x[i..].CopyTo(t);
            Vector512.Exp(Vector512.Create<float>(t) - vmax).CopyTo(t);
            for (int j = 0; j < n - i; j++) sum += t[j];
            if (store) t[..(n - i)].CopyTo(y[i..]);
        }
        return sum;
    }

    private static int RowCount(string name, int xLength, int yLength, int cols)
    {
        if (cols <= 0) throw new ArgumentException($"Kernels.{name}: cols must be positive, got {cols}");
        SameLength(name, xLength, yLength);
        if (xLength % cols != 0) throw new ArgumentException($"Kernels.{name}: length {xLength} is not a multiple of cols {cols}");
        return xLength / cols;
    }

    private readonly struct DivideOp(Vector512<float> d) : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => x / d;
    }

    private readonly struct ShiftTwiceOp(Vector512<float> max, Vector512<float> logSum) : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => x - max - logSum;
    }
}
