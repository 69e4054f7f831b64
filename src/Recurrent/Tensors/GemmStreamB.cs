using System.Runtime.CompilerServices;

namespace Recurrent.Tensors;

/// <summary>
/// The loop order for a few rows of A times a prepacked B that is larger than the cache it should stay in: a
/// recurrent time step, h_{t−1} [32, 512] times this thread's 2 MB share of W_hhᵀ, every step. A is packed whole
/// (all k blocks, at most <see cref="MaxPackedA"/> floats), then B is streamed once, panel by panel, each panel
/// over all k. Streamed in the same order every step, a share a little larger than the L2 cache would miss in it
/// on every line (each line is evicted just before it is needed again); alternate steps stream it backwards
/// (<c>reverse</c>), so a step starts where the previous one ended, on the lines still cached. Each C element is
/// the same chain of FMAs as in <see cref="GemmBlocked"/>, so the result is bit-identical.
/// </summary>
internal static unsafe class GemmStreamB
{
    /// <summary>The largest A (rows · k) this path packs whole: 256 KB, e.g. 32 × 2048.</summary>
    public const int MaxPackedA = 1 << 16;

    public static bool Applies(in GemmProblem g) => g.PackedB != null && !g.TransA && (long)g.M * g.K <= MaxPackedA;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem g, bool wide, ReadOnlySpan<ColumnRange> columns, bool reverse)
    {
        int mr = wide ? GemmKernel512.MR : GemmKernel256.MR;
        int nr = wide ? GemmKernel512.NR : GemmKernel256.NR;
        int kcMax = GemmBlocked.BlockDepth(g.K), rows = (g.M + mr - 1) / mr * mr;
        var buffers = GemmBuffers.Current;
        float* ap = buffers.A(rows * g.K + 16), tile = buffers.Tile(mr * nr);
        for (int p0 = 0; p0 < g.K; p0 += kcMax)
            GemmPack.PackA(g, 0, g.M, p0, Math.Min(kcMax, g.K - p0), mr, ap + (long)p0 * rows);

        for (int r = 0; r < columns.Length; r++)
        {
            var (j0, j1) = columns[reverse ? columns.Length - 1 - r : r];
            int panels = (j1 - j0 + nr - 1) / nr;
            for (int q = 0; q < panels; q++)
            {
                int j = j0 + (reverse ? panels - 1 - q : q) * nr, cols = Math.Min(nr, j1 - j);
                for (int p0 = 0; p0 < g.K; p0 += kcMax)
                {
                    int kc = Math.Min(kcMax, g.K - p0);
                    bool add = g.Accumulate || p0 > 0;
                    float* b = g.PackedB!.Panels(p0, kc, j);
                    for (int ir = 0; ir < g.M; ir += mr)
                    {
                        int m = Math.Min(mr, g.M - ir);
                        float* a = ap + (long)p0 * rows + ir * kc;
                        float* c = g.C + (long)ir * g.Ldc + j;
                        float* bias = add || g.Bias == null ? null : g.Bias + j;
                        if (cols == nr) GemmBlocked.Kernel(wide, m, a, b, kc, c, g.Ldc, add, bias);
                        else
                        {
                            GemmBlocked.Kernel(wide, m, a, b, kc, tile, nr, add: false, bias: null);
                            GemmBlocked.Merge(tile, nr, c, g.Ldc, m, cols, add, bias);
                        }
                    }
                }
            }
        }
    }
}
