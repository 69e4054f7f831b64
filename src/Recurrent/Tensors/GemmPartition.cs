namespace Recurrent.Tensors;

/// <summary>
/// Splits C into Rows × Cols disjoint rectangles, one per thread, cut on kernel-tile boundaries (multiples of MR rows
/// and NR columns). Each thread packs the A rows and B columns of its own rectangle, so threads never wait on each
/// other; the grid minimises the busiest thread's packing plus arithmetic (a column split re-packs A, a row split B).
/// </summary>
internal readonly struct GemmPartition
{
    public readonly int Rows, Cols, M, N, MR, NR;

    private GemmPartition(int rows, int cols, int m, int n, int mr, int nr)
    {
        Rows = rows; Cols = cols; M = m; N = n; MR = mr; NR = nr;
    }

    public int Parts => Rows * Cols;

    public static GemmPartition Choose(int threads, int m, int n, int mr, int nr)
    {
        int rowTiles = (m + mr - 1) / mr, colTiles = (n + nr - 1) / nr;
        threads = (int)Math.Clamp(Math.Min(threads, (long)rowTiles * colTiles), 1, int.MaxValue);
        for (int t = threads; t > 1; t--)
        {
            (int Rows, int Cols) best = (0, 0);
            double bestCost = double.MaxValue;
            for (int r = 1; r <= t; r++)
            {
                int c = t / r;
                if (r * c != t || r > rowTiles || c > colTiles) continue;
                // The busiest thread's time per unit of k: packing its A rows and B columns (about a float per
                // cycle) plus its FMAs (32 lanes per cycle).
                double mt = Math.Ceiling((double)rowTiles / r) * mr, nt = Math.Ceiling((double)colTiles / c) * nr;
                double cost = mt + nt + mt * nt / 32;
                if (cost < bestCost) { bestCost = cost; best = (r, c); }
            }
            if (best.Rows > 0) return new GemmPartition(best.Rows, best.Cols, m, n, mr, nr);
        }
        return new GemmPartition(1, 1, m, n, mr, nr);
    }

    /// <summary>The rectangle [i0, i1) × [j0, j1) of part p (row-major over the grid).</summary>
    public (int I0, int I1, int J0, int J1) Part(int p)
    {
        int r = p / Cols, c = p % Cols;
        var (i0, i1) = Range(M, MR, Rows, r);
        var (j0, j1) = Range(N, NR, Cols, c);
        return (i0, i1, j0, j1);
    }

    private static (int, int) Range(int length, int unit, int parts, int index)
    {
        long tiles = (length + unit - 1) / unit;
        int start = (int)Math.Min(length, tiles * index / parts * unit);
        int end = (int)Math.Min(length, tiles * (index + 1) / parts * unit);
        return (start, end);
    }
}
