using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>
/// The AVX2 fallback microkernel (also the path where Vector512 is not accelerated): a 6×16 tile of C in 12 ymm
/// accumulators, one broadcast of A and two loads of B per k step, inside the 16 registers.
/// Same arithmetic per element as <see cref="GemmKernel512"/>, so both give bit-identical results.
/// </summary>
internal static unsafe class GemmKernel256
{
    public const int MR = 6, NR = 16;

    /// <summary>
    /// C[r, 0..NR) = (C +) Σ_p a[p·MR + r]·b[p·NR + 0..NR) for r &lt; rows, or without add and with a bias,
    /// Σ_p … + bias[0..NR); a: packed [kc, MR], b: packed [kc, NR]. Each k step also prefetches b's row + ahead
    /// floats into L2 (ahead = NR·kc: the next panel, line by line; 0 costs one load slot and fetches nothing new).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int rows, float* a, float* b, int kc, float* c, int ldc, bool add, float* bias, nint ahead = 0)
    {
        switch (rows)
        {
            case 6: Tile<GemmRows6>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 5: Tile<GemmRows5>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 4: Tile<GemmRows4>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 3: Tile<GemmRows3>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 2: Tile<GemmRows2>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 1: Tile<GemmRows1>(a, b, kc, c, ldc, add, bias, ahead); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows));
        }
    }

    // Every C element is one FMA chain over p in order, whatever the tile shape: results do not depend on blocking.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<R>(float* a, float* b, int kc, float* c, int ldc, bool add, float* bias, nint ahead) where R : struct, IGemmRows
    {
        Vector256<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        // The C tile is read or written only after the k loop: fetch its lines now so the loop hides the latency
        // (x86 only; Sse.IsSupported is a JIT-time constant).
        if (Sse.IsSupported && R.Value > 0) { Sse.Prefetch0(c + 0 * ldc); Sse.Prefetch0(c + 0 * ldc + 15); }
        if (Sse.IsSupported && R.Value > 1) { Sse.Prefetch0(c + 1 * ldc); Sse.Prefetch0(c + 1 * ldc + 15); }
        if (Sse.IsSupported && R.Value > 2) { Sse.Prefetch0(c + 2 * ldc); Sse.Prefetch0(c + 2 * ldc + 15); }
        if (Sse.IsSupported && R.Value > 3) { Sse.Prefetch0(c + 3 * ldc); Sse.Prefetch0(c + 3 * ldc + 15); }
        if (Sse.IsSupported && R.Value > 4) { Sse.Prefetch0(c + 4 * ldc); Sse.Prefetch0(c + 4 * ldc + 15); }
        if (Sse.IsSupported && R.Value > 5) { Sse.Prefetch0(c + 5 * ldc); Sse.Prefetch0(c + 5 * ldc + 15); }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b + 0);
            var b1 = Vector256.Load(b + 8);
            if (Sse.IsSupported) Sse.Prefetch1(b + ahead);
            Vector256<float> x;
            if (R.Value > 0) { x = Vector256.Create(a[0]); c0_0 = Vector256.FusedMultiplyAdd(x, b0, c0_0); c0_1 = Vector256.FusedMultiplyAdd(x, b1, c0_1); }
            if (R.Value > 1) { x = Vector256.Create(a[1]); c1_0 = Vector256.FusedMultiplyAdd(x, b0, c1_0); c1_1 = Vector256.FusedMultiplyAdd(x, b1, c1_1); }
            if (R.Value > 2) { x = Vector256.Create(a[2]); c2_0 = Vector256.FusedMultiplyAdd(x, b0, c2_0); c2_1 = Vector256.FusedMultiplyAdd(x, b1, c2_1); }
            if (R.Value > 3) { x = Vector256.Create(a[3]); c3_0 = Vector256.FusedMultiplyAdd(x, b0, c3_0); c3_1 = Vector256.FusedMultiplyAdd(x, b1, c3_1); }
            if (R.Value > 4) { x = Vector256.Create(a[4]); c4_0 = Vector256.FusedMultiplyAdd(x, b0, c4_0); c4_1 = Vector256.FusedMultiplyAdd(x, b1, c4_1); }
            if (R.Value > 5) { x = Vector256.Create(a[5]); c5_0 = Vector256.FusedMultiplyAdd(x, b0, c5_0); c5_1 = Vector256.FusedMultiplyAdd(x, b1, c5_1); }
            a += MR;
            b += NR;
        }
        if (R.Value > 0) Store(c + 0 * ldc, c0_0, c0_1, add, bias);
        if (R.Value > 1) Store(c + 1 * ldc, c1_0, c1_1, add, bias);
        if (R.Value > 2) Store(c + 2 * ldc, c2_0, c2_1, add, bias);
        if (R.Value > 3) Store(c + 3 * ldc, c3_0, c3_1, add, bias);
        if (R.Value > 4) Store(c + 4 * ldc, c4_0, c4_1, add, bias);
        if (R.Value > 5) Store(c + 5 * ldc, c5_0, c5_1, add, bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> v0, Vector256<float> v1, bool add, float* bias)
    {
        if (add)
        {
            v0 += Vector256.Load(c + 0);
            v1 += Vector256.Load(c + 8);
        }
        else if (bias != null)
        {
            v0 += Vector256.Load(bias + 0);
            v1 += Vector256.Load(bias + 8);
        }
        v0.Store(c + 0);
        v1.Store(c + 8);
    }
}
