using System.Runtime.Intrinsics;

namespace Recurrent.Tensors;

/// <summary>
/// Copies a block of op(A) or op(B) into the contiguous panel order the microkernel streams, from any transpose
/// layout, so no transpose is ever materialised.
/// A block rows [i0, i0+mc) × k range [p0, p0+kc) → panels of MR rows, each [kc, MR] (row r of panel at p·MR + r).
/// B block k range [p0, p0+kc) × cols [j0, j0+nc) → panels of NR columns, each [kc, NR].
/// Short last panels are padded with zeros so the kernel can always read whole vectors.
/// </summary>
internal static unsafe class GemmPack
{
    public static void PackA(in GemmProblem g, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        for (int r0 = 0; r0 < mc; r0 += mr, dst += mr * kc)
        {
            int rows = Math.Min(mr, mc - r0);
            if (g.TransA)
                // op(A)[i, p] = A[p, i]: the panel's rows are contiguous in memory for each p.
                CopyRows(g.A + (long)p0 * g.Lda + i0 + r0, g.Lda, kc, rows, mr, dst);
            else
                // op(A)[i, p] = A[i, p]: each panel row is a contiguous run over p, scattered with stride mr.
                Scatter(g.A + (long)(i0 + r0) * g.Lda + p0, g.Lda, rows, kc, mr, dst);
        }
    }

    public static void PackB(in GemmProblem g, int p0, int kc, int j0, int nc, int nr, float* dst)
    {
        for (int q0 = 0; q0 < nc; q0 += nr, dst += nr * kc)
        {
            int cols = Math.Min(nr, nc - q0);
            if (g.TransB)
                // op(B)[p, j] = B[j, p]: each panel column is a contiguous run over p.
                Scatter(g.B + (long)(j0 + q0) * g.Ldb + p0, g.Ldb, cols, kc, nr, dst);
            else
                CopyRows(g.B + (long)p0 * g.Ldb + j0 + q0, g.Ldb, kc, cols, nr, dst);
        }
    }

    /// <summary>dst[p·width + 0..count) = src[p·ld + 0..count), zeros up to width, for p &lt; kc.</summary>
    private static void CopyRows(float* src, int ld, int kc, int count, int width, float* dst)
    {
        for (int p = 0; p < kc; p++, src += ld, dst += width)
        {
            int j = 0;
            for (; j + 8 <= count; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
            for (; j < count; j++) dst[j] = src[j];
            for (; j < width; j++) dst[j] = 0;
        }
    }

    /// <summary>dst[p·width + r] = src[r·ld + p] for r &lt; count, p &lt; kc; zeros for r in [count, width).</summary>
    private static void Scatter(float* src, int ld, int count, int kc, int width, float* dst)
    {
        for (int r = 0; r < count; r++)
        {
            float* s = src + (long)r * ld;
            float* d = dst + r;
            for (int p = 0; p < kc; p++) d[p * width] = s[p];
        }
        for (int r = count; r < width; r++)
            for (int p = 0; p < kc; p++) dst[p * width + r] = 0;
    }
}
