using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>
/// The AVX-512 microkernel: a 12×32 tile of C held in 24 zmm accumulators (12 rows × 2 vectors), updated by one
/// broadcast of A and two loads of B per k step — 24 FMAs against 14 loads, inside the 32 registers.
/// Edge panels with fewer rows run a specialised copy (see <see cref="IGemmRows"/>); edge columns go through a tile buffer.
/// </summary>
internal static unsafe class GemmKernel512
{
    public const int MR = 12, NR = 32;

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
            case 12: Tile<GemmRows12>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 11: Tile<GemmRows11>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 10: Tile<GemmRows10>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 9: Tile<GemmRows9>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 8: Tile<GemmRows8>(a, b, kc, c, ldc, add, bias, ahead); break;
            case 7: Tile<GemmRows7>(a, b, kc, c, ldc, add, bias, ahead); break;
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
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default, c6_0 = default, c6_1 = default, c7_0 = default, c7_1 = default;
        Vector512<float> c8_0 = default, c8_1 = default, c9_0 = default, c9_1 = default, c10_0 = default, c10_1 = default, c11_0 = default, c11_1 = default;
        // The C tile is read or written only after the k loop: fetch its lines now so the loop hides the latency
        // (x86 only; Sse.IsSupported is a JIT-time constant).
        if (Sse.IsSupported && R.Value > 0) { Sse.Prefetch0(c + 0 * ldc); Sse.Prefetch0(c + 0 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 1) { Sse.Prefetch0(c + 1 * ldc); Sse.Prefetch0(c + 1 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 2) { Sse.Prefetch0(c + 2 * ldc); Sse.Prefetch0(c + 2 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 3) { Sse.Prefetch0(c + 3 * ldc); Sse.Prefetch0(c + 3 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 4) { Sse.Prefetch0(c + 4 * ldc); Sse.Prefetch0(c + 4 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 5) { Sse.Prefetch0(c + 5 * ldc); Sse.Prefetch0(c + 5 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 6) { Sse.Prefetch0(c + 6 * ldc); Sse.Prefetch0(c + 6 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 7) { Sse.Prefetch0(c + 7 * ldc); Sse.Prefetch0(c + 7 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 8) { Sse.Prefetch0(c + 8 * ldc); Sse.Prefetch0(c + 8 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 9) { Sse.Prefetch0(c + 9 * ldc); Sse.Prefetch0(c + 9 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 10) { Sse.Prefetch0(c + 10 * ldc); Sse.Prefetch0(c + 10 * ldc + 16); }
        if (Sse.IsSupported && R.Value > 11) { Sse.Prefetch0(c + 11 * ldc); Sse.Prefetch0(c + 11 * ldc + 16); }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            if (Sse.IsSupported) { Sse.Prefetch1(b + ahead); Sse.Prefetch1(b + ahead + 16); }
            Vector512<float> x;
            if (R.Value > 0) { x = Vector512.Create(a[0]); c0_0 = Vector512.FusedMultiplyAdd(x, b0, c0_0); c0_1 = Vector512.FusedMultiplyAdd(x, b1, c0_1); }
            if (R.Value > 1) { x = Vector512.Create(a[1]); c1_0 = Vector512.FusedMultiplyAdd(x, b0, c1_0); c1_1 = Vector512.FusedMultiplyAdd(x, b1, c1_1); }
            if (R.Value > 2) { x = Vector512.Create(a[2]); c2_0 = Vector512.FusedMultiplyAdd(x, b0, c2_0); c2_1 = Vector512.FusedMultiplyAdd(x, b1, c2_1); }
            if (R.Value > 3) { x = Vector512.Create(a[3]); c3_0 = Vector512.FusedMultiplyAdd(x, b0, c3_0); c3_1 = Vector512.FusedMultiplyAdd(x, b1, c3_1); }
            if (R.Value > 4) { x = Vector512.Create(a[4]); c4_0 = Vector512.FusedMultiplyAdd(x, b0, c4_0); c4_1 = Vector512.FusedMultiplyAdd(x, b1, c4_1); }
            if (R.Value > 5) { x = Vector512.Create(a[5]); c5_0 = Vector512.FusedMultiplyAdd(x, b0, c5_0); c5_1 = Vector512.FusedMultiplyAdd(x, b1, c5_1); }
            if (R.Value > 6) { x = Vector512.Create(a[6]); c6_0 = Vector512.FusedMultiplyAdd(x, b0, c6_0); c6_1 = Vector512.FusedMultiplyAdd(x, b1, c6_1); }
            if (R.Value > 7) { x = Vector512.Create(a[7]); c7_0 = Vector512.FusedMultiplyAdd(x, b0, c7_0); c7_1 = Vector512.FusedMultiplyAdd(x, b1, c7_1); }
            if (R.Value > 8) { x = Vector512.Create(a[8]); c8_0 = Vector512.FusedMultiplyAdd(x, b0, c8_0); c8_1 = Vector512.FusedMultiplyAdd(x, b1, c8_1); }
            if (R.Value > 9) { x = Vector512.Create(a[9]); c9_0 = Vector512.FusedMultiplyAdd(x, b0, c9_0); c9_1 = Vector512.FusedMultiplyAdd(x, b1, c9_1); }
            if (R.Value > 10) { x = Vector512.Create(a[10]); c10_0 = Vector512.FusedMultiplyAdd(x, b0, c10_0); c10_1 = Vector512.FusedMultiplyAdd(x, b1, c10_1); }
            if (R.Value > 11) { x = Vector512.Create(a[11]); c11_0 = Vector512.FusedMultiplyAdd(x, b0, c11_0); c11_1 = Vector512.FusedMultiplyAdd(x, b1, c11_1); }
            a += MR;
            b += NR;
        }
        if (R.Value > 0) Store(c + 0 * ldc, c0_0, c0_1, add, bias);
        if (R.Value > 1) Store(c + 1 * ldc, c1_0, c1_1, add, bias);
        if (R.Value > 2) Store(c + 2 * ldc, c2_0, c2_1, add, bias);
        if (R.Value > 3) Store(c + 3 * ldc, c3_0, c3_1, add, bias);
        if (R.Value > 4) Store(c + 4 * ldc, c4_0, c4_1, add, bias);
        if (R.Value > 5) Store(c + 5 * ldc, c5_0, c5_1, add, bias);
        if (R.Value > 6) Store(c + 6 * ldc, c6_0, c6_1, add, bias);
        if (R.Value > 7) Store(c + 7 * ldc, c7_0, c7_1, add, bias);
        if (R.Value > 8) Store(c + 8 * ldc, c8_0, c8_1, add, bias);
        if (R.Value > 9) Store(c + 9 * ldc, c9_0, c9_1, add, bias);
        if (R.Value > 10) Store(c + 10 * ldc, c10_0, c10_1, add, bias);
        if (R.Value > 11) Store(c + 11 * ldc, c11_0, c11_1, add, bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> v0, Vector512<float> v1, bool add, float* bias)
    {
        if (add)
        {
            v0 += Vector512.Load(c + 0);
            v1 += Vector512.Load(c + 16);
        }
        else if (bias != null)
        {
            v0 += Vector512.Load(bias + 0);
            v1 += Vector512.Load(bias + 16);
        }
        v0.Store(c + 0);
        v1.Store(c + 16);
    }
}
