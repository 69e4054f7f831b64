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
        for (int j = from; j < to; j += V.Count)
        {
            int n = Math.Min(V.Count, to - j);
            V i = VectorMath.Sigmoid(Lanes.Load<V>(gates[j..], n));
            V f = VectorMath.Sigmoid(Lanes.Load<V>(gates[(hidden + j)..], n));
            V g = VectorMath.Tanh(Lanes.Load<V>(gates[(2 * hidden + j)..], n));
            V o = VectorMath.Sigmoid(Lanes.Load<V>(gates[(3 * hidden + j)..], n));
            V ct = f * Lanes.Load<V>(cPrev[j..], n) + i * g;
            Lanes.Store(i, gates[j..], n);
            Lanes.Store(f, gates[(hidden + j)..], n);
            Lanes.Store(g, gates[(2 * hidden + j)..], n);
            Lanes.Store(o, gates[(3 * hidden + j)..], n);
            Lanes.Store(ct, c[j..], n);
            V ht = o * VectorMath.Tanh(ct);
            Lanes.Store(ht, h[j..], n);
            Lanes.Store(ht, output[j..], n);
        }
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
        V one = V.One;
        for (int j = from; j < to; j += V.Count)
        {
            int n = Math.Min(V.Count, to - j);
            V i = Lanes.Load<V>(gates[j..], n);
            V f = Lanes.Load<V>(gates[(hidden + j)..], n);
            V g = Lanes.Load<V>(gates[(2 * hidden + j)..], n);
            V o = Lanes.Load<V>(gates[(3 * hidden + j)..], n);
            V tc = VectorMath.Tanh(Lanes.Load<V>(c[j..], n));
            V dhv = Lanes.Load<V>(dh[j..], n);
            V dct = Lanes.Load<V>(dc[j..], n) + dhv * o * (one - tc * tc);
            Lanes.Store(dct * g * i * (one - i), gates[j..], n);
            Lanes.Store(dct * Lanes.Load<V>(cPrev[j..], n) * f * (one - f), gates[(hidden + j)..], n);
            Lanes.Store(dct * i * (one - g * g), gates[(2 * hidden + j)..], n);
            Lanes.Store(dhv * tc * o * (one - o), gates[(3 * hidden + j)..], n);
            Lanes.Store(dct * f, dc[j..], n);
        }
    }
}
