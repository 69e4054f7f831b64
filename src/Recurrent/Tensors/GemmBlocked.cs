using System.Runtime.CompilerServices;
namespace Recurrent.Tensors;

/// <summary>
/// The cache-blocked loop nest over one rectangle of C, run by one thread with its own packing buffers:
/// for each k block (KC deep): pack the rows' A block, then for each column block (NC wide, kept in L2): pack the
/// B block, and sweep the MR×NR microkernel over it row panel by row panel (an A panel stays in L1 across a row).
/// </summary>
internal static unsafe class GemmBlocked
{
    /// <summary>
    /// Depth of a k block: an A panel (MR·KC floats, 24 KB) stays in L1, a B block (KC·NC floats, 512 KB) in L2.
    /// 512 rather than 256 halves the passes over C and the kernel calls (each loads and stores its C tile): the
    /// recurrent GEMM phases of an LSTM 2×512 step took 1–2 % less time (Zen 4, 2 threads, least of 4 rounds).
    /// </summary>
    public const int KC = 512;
    /// <summary>
    /// Width of a B block: 256 with KC = 512 keeps the block in half of a 1 MB L2 (Zen 4, measured there). A core with
    /// a smaller L2 takes 64: on a Zen 3 (512 KB) the A·Bᵀ input projection and the Aᵀ·B weight gradient of an LSTM 512
    /// ran 3–5 % faster at 64 than at 256, 128, 96 or 32 (2 threads, AVX2, alternating, four rounds each), and LSTM 2×512
    /// training 1–8 % (GRU within that machine's swings). The width only chooses which columns share a pass, so the
    /// bits do not depend on it.
    /// </summary>
    public static readonly int NC = ColumnBlock(CacheSize.L2Bytes);

    internal static int ColumnBlock(int l2Bytes) => l2Bytes is > 0 and < 1 << 20 ? 64 : 256;
    /// <summary>
    /// Most rows of A packed at once (a multiple of both kernels' MR). B's blocks are packed again for each such
    /// block of rows, so the rows are cut into as few blocks as this allows, of equal size: 1,600 rows are one block,
    /// not 1,536 and a 64-row remainder that would pack all of B for little work. A packed block streams from L3
    /// once per B block, which the kernel's arithmetic easily hides.
    /// </summary>
    public const int MC = 3072;

    /// <summary>Floats of a pre-packed B from which it is taken to come from L3 (1 MB; L2 is 1–2 MB a core).</summary>
    private const long StreamedB = 256 * 1024;

    /// <summary>
    /// The k blocks depend on k alone (equal sizes, at most KC), never on the rectangle or thread count, so every
    /// C element sees the same sequence of block sums however the work is split.
    /// </summary>
    public static int BlockDepth(int k) => (k + (k + KC - 1) / KC - 1) / ((k + KC - 1) / KC);

    /// <summary>
    /// Rows [i0, i1) of C over the column ranges given (each starting on a panel boundary): A's block is packed once
    /// per k block and reused for all of them.
    /// </summary>
    public static void Run(in GemmProblem g, bool wide, int i0, int i1, ReadOnlySpan<ColumnRange> columns) =>
        Run(g, columns, g, [], wide, i0, i1);

    /// <summary>
    /// The same for two products that share A (A, lda, transA, K and accumulate; B and C their own; the second may
    /// stop at fewer rows): each block of A is packed once for both — a layer's weight gradients dGᵀX and dGᵀH.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem g, ReadOnlySpan<ColumnRange> columns, in GemmProblem second,
        ReadOnlySpan<ColumnRange> secondColumns, bool wide, int i0, int i1)
    {
        int mr = wide ? GemmKernel512.MR : GemmKernel256.MR;
        int nr = wide ? GemmKernel512.NR : GemmKernel256.NR;
        int kcMax = BlockDepth(g.K);
        int rowBlocks = (i1 - i0 + MC - 1) / MC;
        int mcMax = RoundUp((i1 - i0 + rowBlocks - 1) / rowBlocks, mr);
        int widest = 0;
        foreach (var range in columns) widest = Math.Max(widest, range.End - range.Start);
        foreach (var range in secondColumns) widest = Math.Max(widest, range.End - range.Start);
        int ncMax = Math.Min(NC, RoundUp(widest, nr));
        var buffers = GemmBuffers.Current;
        // +16: the transposing pack may write up to 16 floats past a panel (see GemmPack.Scatter).
        bool packsB = g.PackedB == null || (!secondColumns.IsEmpty && second.PackedB == null);
        float* ap = buffers.A(mcMax * kcMax + 16), bp = packsB ? buffers.B(kcMax * ncMax + 16) : null, tile = buffers.Tile(mr * nr);

        for (int p0 = 0; p0 < g.K; p0 += kcMax)
        {
            int kc = Math.Min(kcMax, g.K - p0);
            for (int ic = i0; ic < i1; ic += mcMax)
            {
                int mc = Math.Min(mcMax, i1 - ic);
                var panels = new GemmRowPanels(mc, mr, wide);
                GemmPack.PackA(g, ic, mc, p0, kc, mr, panels, ap);
                Panels(g, columns, wide, ap, panels, ic, mc, p0, kc, bp, tile);
                if (ic < second.M) Panels(second, secondColumns, wide, ap, panels, ic, Math.Min(mc, second.M - ic), p0, kc, bp, tile);
            }
        }
    }

    /// <summary>
    /// Rows [ic, ic + mc) of C, k block [p0, p0 + kc), over the columns given, with that block of A packed at ap in the
    /// panels given (cut for the block's rows, which may be more than mc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panels(in GemmProblem g, ReadOnlySpan<ColumnRange> columns, bool wide, float* ap, in GemmRowPanels panels,
        int ic, int mc, int p0, int kc, float* bp, float* tile)
    {
        int mr = wide ? GemmKernel512.MR : GemmKernel256.MR;
        int nr = wide ? GemmKernel512.NR : GemmKernel256.NR;
        int pairRows = GemmKernelPair.MaxRows(wide);
        bool add = g.Accumulate || p0 > 0;
        // The first row panel's tiles fetch the next column panel into L2 as they go when B is pre-packed and too large
        // to stay in L2 between calls (the recurrent weights, 4 MB at H = 512): it is read from L3 in that pass, about
        // as fast as one core can stream, and the hardware prefetcher alone left the kernel waiting (AVX2, a thread's
        // 16-row share of the step product: 78 → 82 GFLOP/s, one thread). Where B stays in L2 (H = 128) the prefetches
        // only took load slots (LSTM 2×128 training 1.5 % slower at AVX-512).
        nint ahead = g.PackedB != null && (long)g.PackedB.K * g.PackedB.N >= StreamedB ? nr * kc : 0;
        foreach (var (j0, j1) in columns)
        {
            for (int jc = j0; jc < j1; jc += NC)
            {
                int nc = Math.Min(NC, j1 - jc);
                float* bBlock = bp;
                if (g.PackedB != null) bBlock = g.PackedB.Panels(p0, kc, jc);
                else GemmPack.PackB(g, p0, kc, jc, nc, nr, bp);
                for (int q = 0; q < panels.Count && panels.Start(q) < mc; q++)
                {
                    int ir = panels.Start(q), rows = panels.Rows(q, mc);
                    float* a = ap + q * mr * kc;
                    float* c = g.C + (long)(ic + ir) * g.Ldc + jc;
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        float* b = bBlock + jr * kc;
                        float* bias = add || g.Bias == null ? null : g.Bias + jc + jr;
                        int cols = Math.Min(nr, nc - jr);
                        if (rows <= pairRows && jr + 2 * nr <= nc)
                        {
                            // A short row panel takes two column panels at a time (see GemmKernelPair).
                            GemmKernelPair.Run(wide, rows, a, mr, b, b + nr * kc, kc, c + jr, g.Ldc, add, bias);
                            jr += nr;
                        }
                        else if (cols == nr) Kernel(wide, rows, a, b, kc, c + jr, g.Ldc, add, bias, q == 0 ? ahead : 0);
                        else
                        {
                            // A short last column panel: full-width tile into the buffer, then the valid columns.
                            Kernel(wide, rows, a, b, kc, tile, nr, add: false, bias: null);
                            Merge(tile, nr, c + jr, g.Ldc, rows, cols, add, bias);
                        }
                    }
                }
            }
        }
    }

    private static void Kernel(bool wide, int rows, float* a, float* b, int kc, float* c, int ldc, bool add, float* bias, nint ahead = 0)
    {
        if (wide) GemmKernel512.Run(rows, a, b, kc, c, ldc, add, bias, ahead);
        else GemmKernel256.Run(rows, a, b, kc, c, ldc, add, bias, ahead);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Merge(float* tile, int ldt, float* c, int ldc, int rows, int cols, bool add, float* bias)
    {
        for (int r = 0; r < rows; r++, tile += ldt, c += ldc)
            for (int j = 0; j < cols; j++) c[j] = add ? c[j] + tile[j] : bias != null ? tile[j] + bias[j] : tile[j];
    }

    private static int RoundUp(int x, int unit) => (x + unit - 1) / unit * unit;
}
