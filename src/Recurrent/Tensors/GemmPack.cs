using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>
/// Copies a block of op(A) or op(B) into the contiguous panel order the microkernel streams, from any transpose
/// layout, so no transpose is ever materialised.
/// A block rows [i0, i0+mc) × k range [p0, p0+kc) → panels of at most MR rows as <see cref="GemmRowPanels"/> cuts
/// them, each [kc, MR] (row r of panel at p·MR + r).
/// B block k range [p0, p0+kc) × cols [j0, j0+nc) → panels of NR columns, each [kc, NR].
/// Short last panels are padded with zeros so the kernel can always read whole vectors.
/// </summary>
internal static unsafe class GemmPack
{
    /// <summary>How many p of a transposed A are copied into every panel before moving on (see PackA).</summary>
    private const int TransposedARows = 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(in GemmProblem g, int i0, int mc, int p0, int kc, int mr, in GemmRowPanels panels, float* dst)
    {
        if (g.TransA)
        {
            // op(A)[i, p] = A[p, i]: the panel's rows are contiguous in memory for each p. A few rows of A at a time
            // across all panels, so A is read along its rows; a panel at a time walked down a 48-byte column strip, a
            // new page every p for the weight gradients' dGᵀ (8 KB rows), and packed at half the speed.
            for (int pc = 0; pc < kc; pc += TransposedARows)
            {
                int pn = Math.Min(TransposedARows, kc - pc);
                float* src = g.A + (long)(p0 + pc) * g.Lda + i0;
                for (int q = 0; q < panels.Count; q++)
                {
                    int r0 = panels.Start(q), rows = panels.Rows(q, mc);
                    float* panel = dst + q * mr * kc + pc * mr;
                    if (rows == mr) CopyPanelRows(src + r0, g.Lda, pn, mr, panel);
                    else CopyRows(src + r0, g.Lda, pn, rows, mr, panel);
                }
            }
            return;
        }
        for (int q = 0; q < panels.Count; q++)
            // op(A)[i, p] = A[i, p]: each panel row is a contiguous run over p, scattered with stride mr.
            Scatter(g.A + (long)(i0 + panels.Start(q)) * g.Lda + p0, g.Lda, panels.Rows(q, mc), kc, mr, dst + q * mr * kc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(in GemmProblem g, int p0, int kc, int j0, int nc, int nr, float* dst)
    {
        if (!g.TransB)
        {
            SplitRows(g.B + (long)p0 * g.Ldb + j0, g.Ldb, kc, nc, nr, dst);
            return;
        }
        for (int q0 = 0; q0 < nc; q0 += nr, dst += nr * kc)
            // op(B)[p, j] = B[j, p]: each panel column is a contiguous run over p.
            Scatter(g.B + (long)(j0 + q0) * g.Ldb + p0, g.Ldb, Math.Min(nr, nc - q0), kc, nr, dst);
    }

    /// <summary>
    /// op(B)[p, j] = B[p, j]: row p of the block, [0, nc), is cut into the panels, [kc, width] each, as
    /// dst[(q·kc + p)·width + 0..width) = src[p·ld + q·width + 0..width), zeros past nc. B is read along its rows;
    /// a panel at a time would walk down a 64-byte column strip, a new page every row for a wide B (the AVX2
    /// products shaped like the translator's dx = dy·W_out ran 6 % slower that way).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SplitRows(float* src, int ld, int kc, int nc, int width, float* dst)
    {
        int full = nc / width, rest = nc - full * width;
        long panel = (long)kc * width;
        for (int p = 0; p < kc; p++, src += ld)
        {
            float* d = dst + p * width;
            int q = 0;
            for (; q < full; q++, d += panel) CopyWhole(src + q * width, d, width);
            if (rest > 0) CopyPadded(src + q * width, d, rest, width);
        }
    }

    /// <summary>
    /// dst[p·width + 0..width) = src[p·ld + 0..width) for p &lt; rows: a whole panel's rows, inlined, in two vector
    /// copies at the kernels' widths (a CopyRows call per 4 × 12 floats made the weight-gradient products 2 % slower).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPanelRows(float* src, int ld, int rows, int width, float* dst)
    {
        for (int p = 0; p < rows; p++, src += ld, dst += width)
        {
            if (width == GemmKernel512.MR)
            {
                Vector256.Store(Vector256.Load(src), dst);
                Vector128.Store(Vector128.Load(src + 8), dst + 8);
            }
            else if (width == GemmKernel256.MR)
            {
                Vector128.Store(Vector128.Load(src), dst);
                *(ulong*)(dst + 4) = *(ulong*)(src + 4);
            }
            else CopyPadded(src, dst, width, width);
        }
    }

    /// <summary>
    /// dst[0..width) = src[0..width): one row of a whole B panel, in whole vectors when width is a kernel's NR (the
    /// general copy's loops and tests, 16 calls a row of B, made packing 7 % of an AVX2 weight-gradient product).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyWhole(float* src, float* dst, int width)
    {
        if (width == GemmKernel512.NR && Vector512.IsHardwareAccelerated)
        {
            Vector512.Store(Vector512.Load(src), dst);
            Vector512.Store(Vector512.Load(src + 16), dst + 16);
        }
        else if (width == GemmKernel256.NR)
        {
            Vector256.Store(Vector256.Load(src), dst);
            Vector256.Store(Vector256.Load(src + 8), dst + 8);
        }
        else CopyPadded(src, dst, width, width);
    }

    /// <summary>dst[p·width + 0..count) = src[p·ld + 0..count), zeros up to width, for p &lt; kc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyRows(float* src, int ld, int kc, int count, int width, float* dst)
    {
        for (int p = 0; p < kc; p++, src += ld, dst += width) CopyPadded(src, dst, count, width);
    }

    /// <summary>dst[0..count) = src[0..count) in the widest vectors that fit, then zeros up to width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(float* src, float* dst, int count, int width)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 16 <= count; j += 16) Vector512.Store(Vector512.Load(src + j), dst + j);
        for (; j + 8 <= count; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
        for (; j + 4 <= count; j += 4) Vector128.Store(Vector128.Load(src + j), dst + j);
        for (; j < count; j++) dst[j] = src[j];
        for (; j < width; j++) dst[j] = 0;
    }

    /// <summary>
    /// dst[p·width + r] = src[r·ld + p] for r &lt; count, p &lt; kc; zeros for r in [count, width). width is at most 16
    /// or a multiple of 16. The vector path writes 16 floats per p even when width &lt; 16, spilling past the row into
    /// the next p's slot (rewritten by the next store) or, after the panel's last row, up to 16 floats further, into
    /// space the next panel or the buffer's slack owns. Without AVX-512 the AVX path does the same 8 by 8, where width
    /// is at most 8 or a multiple of 8 (the AVX2 kernel's 6 and 16); other widths go element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scatter(float* src, int ld, int count, int kc, int width, float* dst)
    {
        int p = 0;
        if (Avx512F.IsSupported)
        {
            for (; p + 16 <= kc; p += 16)
                for (int r0 = 0; r0 < width; r0 += 16)
                    Transpose16(src + (long)r0 * ld + p, ld, Math.Clamp(count - r0, 0, 16), dst + p * width + r0, width);
        }
        else if (Avx.IsSupported && (width <= 8 || width % 8 == 0))
        {
            for (; p + 8 <= kc; p += 8)
                for (int r0 = 0; r0 < width; r0 += 8)
                    Transpose8(src + (long)r0 * ld + p, ld, Math.Clamp(count - r0, 0, 8), dst + p * width + r0, width);
        }
        for (; p < kc; p++)
        {
            float* d = dst + p * width;
            int r = 0;
            for (; r < count; r++) d[r] = src[(long)r * ld + p];
            for (; r < width; r++) d[r] = 0;
        }
    }

    /// <summary>
    /// The 16×16 transpose: dst[p·stride + r] = src[r·ld + p] for p, r &lt; 16, with zeros for rows r ≥ rows.
    /// Stores go in increasing p, 16 floats each. Four rounds of in-register shuffles: 2×2 blocks, 4×4 within each
    /// 128-bit lane, then two rounds of 128-bit lane shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // too big to inline; a call per 256 floats is cheap
    private static void Transpose16(float* src, long ld, int rows, float* dst, int stride)
    {
        Vector512<float> r0 = Row(src, ld, rows, 0), r1 = Row(src, ld, rows, 1), r2 = Row(src, ld, rows, 2), r3 = Row(src, ld, rows, 3);
        Vector512<float> r4 = Row(src, ld, rows, 4), r5 = Row(src, ld, rows, 5), r6 = Row(src, ld, rows, 6), r7 = Row(src, ld, rows, 7);
        Vector512<float> r8 = Row(src, ld, rows, 8), r9 = Row(src, ld, rows, 9), r10 = Row(src, ld, rows, 10), r11 = Row(src, ld, rows, 11);
        Vector512<float> r12 = Row(src, ld, rows, 12), r13 = Row(src, ld, rows, 13), r14 = Row(src, ld, rows, 14), r15 = Row(src, ld, rows, 15);

        // t: pairs of rows interleaved, per 128-bit lane L: (a[4L], b[4L], a[4L+1], b[4L+1]) and the high half.
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9);
        var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13);
        var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);

        // u: per lane L, rows 4q..4q+3 of column 4L+c (u[4q+c]).
        var u0 = Avx512F.Shuffle(t0, t2, 0x44); var u1 = Avx512F.Shuffle(t0, t2, 0xEE);
        var u2 = Avx512F.Shuffle(t1, t3, 0x44); var u3 = Avx512F.Shuffle(t1, t3, 0xEE);
        var u4 = Avx512F.Shuffle(t4, t6, 0x44); var u5 = Avx512F.Shuffle(t4, t6, 0xEE);
        var u6 = Avx512F.Shuffle(t5, t7, 0x44); var u7 = Avx512F.Shuffle(t5, t7, 0xEE);
        var u8 = Avx512F.Shuffle(t8, t10, 0x44); var u9 = Avx512F.Shuffle(t8, t10, 0xEE);
        var u10 = Avx512F.Shuffle(t9, t11, 0x44); var u11 = Avx512F.Shuffle(t9, t11, 0xEE);
        var u12 = Avx512F.Shuffle(t12, t14, 0x44); var u13 = Avx512F.Shuffle(t12, t14, 0xEE);
        var u14 = Avx512F.Shuffle(t13, t15, 0x44); var u15 = Avx512F.Shuffle(t13, t15, 0xEE);

        // v: rows 0..7 (or 8..15) of columns c and c+8 (0x88), or c+4 and c+12 (0xDD), as 4-row lanes.
        var v0 = Avx512F.Shuffle4x128(u0, u4, 0x88); var v1 = Avx512F.Shuffle4x128(u1, u5, 0x88);
        var v2 = Avx512F.Shuffle4x128(u2, u6, 0x88); var v3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        var v4 = Avx512F.Shuffle4x128(u0, u4, 0xDD); var v5 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
        var v6 = Avx512F.Shuffle4x128(u2, u6, 0xDD); var v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        var v8 = Avx512F.Shuffle4x128(u8, u12, 0x88); var v9 = Avx512F.Shuffle4x128(u9, u13, 0x88);
        var v10 = Avx512F.Shuffle4x128(u10, u14, 0x88); var v11 = Avx512F.Shuffle4x128(u11, u15, 0x88);
        var v12 = Avx512F.Shuffle4x128(u8, u12, 0xDD); var v13 = Avx512F.Shuffle4x128(u9, u13, 0xDD);
        var v14 = Avx512F.Shuffle4x128(u10, u14, 0xDD); var v15 = Avx512F.Shuffle4x128(u11, u15, 0xDD);

        // Column p = all 16 rows: lanes from v[p mod 8] (rows 0-7) and v[8 + p mod 8] (rows 8-15).
        Avx512F.Shuffle4x128(v0, v8, 0x88).Store(dst);
        Avx512F.Shuffle4x128(v1, v9, 0x88).Store(dst + stride);
        Avx512F.Shuffle4x128(v2, v10, 0x88).Store(dst + 2 * stride);
        Avx512F.Shuffle4x128(v3, v11, 0x88).Store(dst + 3 * stride);
        Avx512F.Shuffle4x128(v4, v12, 0x88).Store(dst + 4 * stride);
        Avx512F.Shuffle4x128(v5, v13, 0x88).Store(dst + 5 * stride);
        Avx512F.Shuffle4x128(v6, v14, 0x88).Store(dst + 6 * stride);
        Avx512F.Shuffle4x128(v7, v15, 0x88).Store(dst + 7 * stride);
        Avx512F.Shuffle4x128(v0, v8, 0xDD).Store(dst + 8 * stride);
        Avx512F.Shuffle4x128(v1, v9, 0xDD).Store(dst + 9 * stride);
        Avx512F.Shuffle4x128(v2, v10, 0xDD).Store(dst + 10 * stride);
        Avx512F.Shuffle4x128(v3, v11, 0xDD).Store(dst + 11 * stride);
        Avx512F.Shuffle4x128(v4, v12, 0xDD).Store(dst + 12 * stride);
        Avx512F.Shuffle4x128(v5, v13, 0xDD).Store(dst + 13 * stride);
        Avx512F.Shuffle4x128(v6, v14, 0xDD).Store(dst + 14 * stride);
        Avx512F.Shuffle4x128(v7, v15, 0xDD).Store(dst + 15 * stride);
    }

    /// <summary>
    /// The 8×8 transpose with AVX: dst[p·stride + r] = src[r·ld + p] for p, r &lt; 8, with zeros for rows r ≥ rows.
    /// Three rounds: 2×2 blocks and 4×4 within each 128-bit lane, then the lanes' halves exchanged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose8(float* src, long ld, int rows, float* dst, int stride)
    {
        Vector256<float> r0 = Row8(src, ld, rows, 0), r1 = Row8(src, ld, rows, 1), r2 = Row8(src, ld, rows, 2), r3 = Row8(src, ld, rows, 3);
        Vector256<float> r4 = Row8(src, ld, rows, 4), r5 = Row8(src, ld, rows, 5), r6 = Row8(src, ld, rows, 6), r7 = Row8(src, ld, rows, 7);

        // t: pairs of rows interleaved, per 128-bit lane L: (a[4L], b[4L], a[4L+1], b[4L+1]) and the high half.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);

        // u: per lane L, rows 4q..4q+3 of column 4L+c (u[4q+c]).
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);

        // Column p: rows 0-3 from u[p mod 4] and rows 4-7 from u[4 + p mod 4], low lanes for p < 4, high for p ≥ 4.
        Avx.Permute2x128(u0, u4, 0x20).Store(dst);
        Avx.Permute2x128(u1, u5, 0x20).Store(dst + stride);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 2 * stride);
        Avx.Permute2x128(u3, u7, 0x20).Store(dst + 3 * stride);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 4 * stride);
        Avx.Permute2x128(u1, u5, 0x31).Store(dst + 5 * stride);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 6 * stride);
        Avx.Permute2x128(u3, u7, 0x31).Store(dst + 7 * stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row8(float* src, long ld, int rows, int r) =>
        r < rows ? Vector256.Load(src + r * ld) : Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row(float* src, long ld, int rows, int r) =>
        r < rows ? Vector512.Load(src + r * ld) : Vector512<float>.Zero;
}
