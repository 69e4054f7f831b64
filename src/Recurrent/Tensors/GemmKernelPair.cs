using System.Runtime.CompilerServices;

namespace Recurrent.Tensors;

/// <summary>
/// The microkernel for a short row panel (the last panel of a block whose rows are not a multiple of MR): two adjacent
/// column panels at once, C[r, 0..2·NR) from b (the first panel) and bNext (the second). A tile of r rows has only 2r
/// accumulator chains, too few to keep both FMA units busy (they need about eight: four cycles of latency each); two
/// panels double them. The AVX2 kernel's 32-row step product ends in a 2-row panel and ran 4.5 % faster on one thread
/// with this; each thread's 16 rows at AVX-512 end in a 4-row one. Every C element is still the one FMA chain over p
/// that the full-panel kernels compute, so the result is the same bit for bit. Written once for both widths.
/// </summary>
internal static unsafe class GemmKernelPair
{
    /// <summary>The most rows a panel may have to take this kernel: 2r chains of 2 vectors are ≤ 8 below it.</summary>
    public static int MaxRows(bool wide) => wide ? 4 : 2;

    /// <summary>
    /// C[r, 0..2·NR) = (C +) Σ_p a[p·mr + r]·[b; bNext][p·NR + 0..NR) for r &lt; rows, or without add and with a bias
    /// (2·NR floats); a: packed [kc, mr], b and bNext: packed [kc, NR] each.
    /// </summary>
    public static void Run(bool wide, int rows, float* a, int mr, float* b, float* bNext, int kc, float* c, int ldc, bool add, float* bias)
    {
        if (wide) Run<Vec512>(rows, a, mr, b, bNext, kc, c, ldc, add, bias);
        else Run<Vec256>(rows, a, mr, b, bNext, kc, c, ldc, add, bias);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Run<TV>(int rows, float* a, int mr, float* b, float* bNext, int kc, float* c, int ldc, bool add, float* bias)
        where TV : struct, IFloatVector<TV>
    {
        switch (rows)
        {
            case 4: Tile<TV, GemmRows4>(a, mr, b, bNext, kc, c, ldc, add, bias); break;
            case 3: Tile<TV, GemmRows3>(a, mr, b, bNext, kc, c, ldc, add, bias); break;
            case 2: Tile<TV, GemmRows2>(a, mr, b, bNext, kc, c, ldc, add, bias); break;
            case 1: Tile<TV, GemmRows1>(a, mr, b, bNext, kc, c, ldc, add, bias); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TV, R>(float* a, int mr, float* b, float* bNext, int kc, float* c, int ldc, bool add, float* bias)
        where TV : struct, IFloatVector<TV> where R : struct, IGemmRows
    {
        int w = TV.Count, nr = 2 * w;
        TV c0_0 = TV.Zero, c0_1 = TV.Zero, c0_2 = TV.Zero, c0_3 = TV.Zero, c1_0 = TV.Zero, c1_1 = TV.Zero, c1_2 = TV.Zero, c1_3 = TV.Zero;
        TV c2_0 = TV.Zero, c2_1 = TV.Zero, c2_2 = TV.Zero, c2_3 = TV.Zero, c3_0 = TV.Zero, c3_1 = TV.Zero, c3_2 = TV.Zero, c3_3 = TV.Zero;
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TV.Load(ref *b, 0), b1 = TV.Load(ref *b, (nuint)w), b2 = TV.Load(ref *bNext, 0), b3 = TV.Load(ref *bNext, (nuint)w);
            TV x;
            if (R.Value > 0) { x = TV.Create(a[0]); c0_0 = TV.FusedMultiplyAdd(x, b0, c0_0); c0_1 = TV.FusedMultiplyAdd(x, b1, c0_1); c0_2 = TV.FusedMultiplyAdd(x, b2, c0_2); c0_3 = TV.FusedMultiplyAdd(x, b3, c0_3); }
            if (R.Value > 1) { x = TV.Create(a[1]); c1_0 = TV.FusedMultiplyAdd(x, b0, c1_0); c1_1 = TV.FusedMultiplyAdd(x, b1, c1_1); c1_2 = TV.FusedMultiplyAdd(x, b2, c1_2); c1_3 = TV.FusedMultiplyAdd(x, b3, c1_3); }
            if (R.Value > 2) { x = TV.Create(a[2]); c2_0 = TV.FusedMultiplyAdd(x, b0, c2_0); c2_1 = TV.FusedMultiplyAdd(x, b1, c2_1); c2_2 = TV.FusedMultiplyAdd(x, b2, c2_2); c2_3 = TV.FusedMultiplyAdd(x, b3, c2_3); }
            if (R.Value > 3) { x = TV.Create(a[3]); c3_0 = TV.FusedMultiplyAdd(x, b0, c3_0); c3_1 = TV.FusedMultiplyAdd(x, b1, c3_1); c3_2 = TV.FusedMultiplyAdd(x, b2, c3_2); c3_3 = TV.FusedMultiplyAdd(x, b3, c3_3); }
            a += mr;
            b += nr;
            bNext += nr;
        }
        if (R.Value > 0) StoreRow(c + 0 * ldc, w, c0_0, c0_1, c0_2, c0_3, add, bias);
        if (R.Value > 1) StoreRow(c + 1 * ldc, w, c1_0, c1_1, c1_2, c1_3, add, bias);
        if (R.Value > 2) StoreRow(c + 2 * ldc, w, c2_0, c2_1, c2_2, c2_3, add, bias);
        if (R.Value > 3) StoreRow(c + 3 * ldc, w, c3_0, c3_1, c3_2, c3_3, add, bias);
    }

    /// <summary>A row of the tile, 4 vectors: added to C, or with the bias added, or as it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TV>(float* c, int w, TV v0, TV v1, TV v2, TV v3, bool add, float* bias) where TV : struct, IFloatVector<TV>
    {
        float* extra = add ? c : bias;
        if (extra != null)
        {
            v0 += TV.Load(ref *extra, 0);
            v1 += TV.Load(ref *extra, (nuint)w);
            v2 += TV.Load(ref *extra, (nuint)(2 * w));
            v3 += TV.Load(ref *extra, (nuint)(3 * w));
        }
        TV.Store(v0, ref *c, 0);
        TV.Store(v1, ref *c, (nuint)w);
        TV.Store(v2, ref *c, (nuint)(2 * w));
        TV.Store(v3, ref *c, (nuint)(3 * w));
    }
}
