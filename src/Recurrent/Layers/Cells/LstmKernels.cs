using System.Runtime.CompilerServices;
using Recurrent.Tensors;

namespace Recurrent.Layers.Cells;

/// <summary>
/// The fused pointwise part of one LSTM step for one batch row (gate order i, f, g, o as PyTorch):
///   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o), c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)
/// where a = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh has already been summed into the gate row by the GEMMs.
/// Each call covers hidden units [from, to) of the row (every gate's block): one thread's share of a step.
/// </summary>
internal static class LstmKernels
{
    /// <param name="gates">[4H]: pre-activations in, activations (i, f, g, o) out — kept for backward.</param>
    /// <param name="cPrev">[H] c_{t−1}.</param> <param name="c">[H] c_t out.</param> <param name="h">[H] h_t out.</param>
    /// <param name="output">[H] h_t out again: the layer's output row.</param>
    /// <param name="hidden">H: the width of one gate block.</param>
    /// <param name="from">the first hidden unit of this call's share.</param>
    /// <param name="to">one past its last.</param>
    public static void Forward(Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h, Span<float> output,
        int hidden, int from, int to)
    {
        if (Simd.Is512) Forward<Vec512>(gates, cPrev, c, h, output, hidden, from, to);
        else if (Simd.Is256) Forward<Vec256>(gates, cPrev, c, h, output, hidden, from, to);
        else Forward<Vec128>(gates, cPrev, c, h, output, hidden, from, to);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Forward<V>(Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h, Span<float> output,
        int hidden, int from, int to)
        where V : struct, IFloatVector<V>
    {
        Lanes.CheckRange(from, to);
        ref float a = ref Lanes.Row(gates, 3 * hidden + to);
        ref float cp = ref Lanes.Row(cPrev, to), cr = ref Lanes.Row(c, to), hr = ref Lanes.Row(h, to);
        ref float or = ref Lanes.Row(output, to);
        int j = from;
        for (; j + V.Count <= to; j += V.Count) ForwardUnits<V>(ref a, ref cp, ref cr, ref hr, ref or, hidden, j, V.Count);
        if (j < to) ForwardTail<V>(ref a, ref cp, ref cr, ref hr, ref or, hidden, j, to - j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void ForwardTail<V>(ref float gates, ref float cPrev, ref float c, ref float h, ref float output,
        int hidden, int j, int n)
        where V : struct, IFloatVector<V> => ForwardUnits<V>(ref gates, ref cPrev, ref c, ref h, ref output, hidden, j, n);

    /// <summary>Units [j, j + n) of <see cref="Forward"/>, n ≤ V.Count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardUnits<V>(ref float gates, ref float cPrev, ref float c, ref float h, ref float output,
        int hidden, int j, int n)
        where V : struct, IFloatVector<V>
    {
        V i = VectorMath.Sigmoid(Lanes.Load<V>(ref gates, j, n));
        V f = VectorMath.Sigmoid(Lanes.Load<V>(ref gates, hidden + j, n));
        V g = VectorMath.Tanh(Lanes.Load<V>(ref gates, 2 * hidden + j, n));
        V o = VectorMath.Sigmoid(Lanes.Load<V>(ref gates, 3 * hidden + j, n));
        V ct = f * Lanes.Load<V>(ref cPrev, j, n) + i * g;
        Lanes.Store(i, ref gates, j, n);
        Lanes.Store(f, ref gates, hidden + j, n);
        Lanes.Store(g, ref gates, 2 * hidden + j, n);
        Lanes.Store(o, ref gates, 3 * hidden + j, n);
        Lanes.Store(ct, ref c, j, n);
        V ht = o * VectorMath.Tanh(ct);
        Lanes.Store(ht, ref h, j, n);
        Lanes.Store(ht, ref output, j, n);
    }

    /// <summary>
    /// Backward through one step: with dc̃ = dc + dh ⊙ o ⊙ (1 − tanh²c_t),
    /// da_i = dc̃ g i(1−i), da_f = dc̃ c_{t−1} f(1−f), da_g = dc̃ i (1−g²), da_o = dh tanh(c_t) o(1−o), dc_{t−1} = dc̃ f.
    /// </summary>
    /// <param name="gates">[4H]: activations in, gate pre-activation gradients da out (in place).</param>
    /// <param name="dc">[H]: dc_t in, dc_{t−1} out (in place).</param>
    /// <param name="cPrev">[H] c_{t−1}.</param>
    /// <param name="c">[H] c_t.</param>
    /// <param name="dh">[H] dL/dh_t in full.</param>
    /// <param name="hidden">H: the width of one gate block.</param>
    /// <param name="from">the first hidden unit of this call's share.</param>
    /// <param name="to">one past its last.</param>
    public static void Backward(Span<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c,
        ReadOnlySpan<float> dh, Span<float> dc, int hidden, int from, int to)
    {
        if (Simd.Is512) Backward<Vec512>(gates, cPrev, c, dh, dc, hidden, from, to);
        else if (Simd.Is256) Backward<Vec256>(gates, cPrev, c, dh, dc, hidden, from, to);
        else Backward<Vec128>(gates, cPrev, c, dh, dc, hidden, from, to);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Backward<V>(Span<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c,
        ReadOnlySpan<float> dh, Span<float> dc, int hidden, int from, int to)
        where V : struct, IFloatVector<V>
    {
        Lanes.CheckRange(from, to);
        ref float a = ref Lanes.Row(gates, 3 * hidden + to);
        ref float cp = ref Lanes.Row(cPrev, to), cr = ref Lanes.Row(c, to), dhr = ref Lanes.Row(dh, to);
        ref float dcr = ref Lanes.Row(dc, to);
        int j = from;
        for (; j + V.Count <= to; j += V.Count) BackwardUnits<V>(ref a, ref cp, ref cr, ref dhr, ref dcr, hidden, j, V.Count);
        if (j < to) BackwardTail<V>(ref a, ref cp, ref cr, ref dhr, ref dcr, hidden, j, to - j);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BackwardTail<V>(ref float gates, ref float cPrev, ref float c, ref float dh, ref float dc,
        int hidden, int j, int n)
        where V : struct, IFloatVector<V> => BackwardUnits<V>(ref gates, ref cPrev, ref c, ref dh, ref dc, hidden, j, n);

    /// <summary>Units [j, j + n) of <see cref="Backward"/>, n ≤ V.Count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BackwardUnits<V>(ref float gates, ref float cPrev, ref float c, ref float dh, ref float dc,
        int hidden, int j, int n)
        where V : struct, IFloatVector<V>
    {
        V one = V.One;
        V i = Lanes.Load<V>(ref gates, j, n);
        V f = Lanes.Load<V>(ref gates, hidden + j, n);
        V g = Lanes.Load<V>(ref gates, 2 * hidden + j, n);
        V o = Lanes.Load<V>(ref gates, 3 * hidden + j, n);
        V tc = VectorMath.Tanh(Lanes.Load<V>(ref c, j, n));
        V dhv = Lanes.Load<V>(ref dh, j, n);
        V dct = Lanes.Load<V>(ref dc, j, n) + dhv * o * (one - tc * tc);
        Lanes.Store(dct * g * i * (one - i), ref gates, j, n);
        Lanes.Store(dct * Lanes.Load<V>(ref cPrev, j, n) * f * (one - f), ref gates, hidden + j, n);
        Lanes.Store(dct * i * (one - g * g), ref gates, 2 * hidden + j, n);
        Lanes.Store(dhv * tc * o * (one - o), ref gates, 3 * hidden + j, n);
        Lanes.Store(dct * f, ref dc, j, n);
    }
}
