using System.Numerics;
using System.Runtime.InteropServices;

namespace Recurrent.Analysis;

/// <summary>
/// Ridge regression in closed form, in double precision: rows (z, y) with F features arrive one at a time, and
///
///   w = (ZᵀZ + λI)⁻¹ Zᵀy      Z: [R, F] the rows stacked, y: [R], w: [F]
///
/// is solved by Cholesky (ZᵀZ + λI = LLᵀ, then two triangular solves). Z itself is never kept: ZᵀZ (its upper
/// triangle) and Zᵀy are accumulated as rows come, through a buffer of <see cref="ChunkRows"/> rows stored feature-major,
/// so each flush is F(F+1)/2 contiguous dot products over the chunk and the F×F sum is swept once per chunk instead of
/// once per row (it is 8 MB at F = 1000: far bigger than the caches). Double precision matters: with λ as small as
/// 1e-10 against entries of ZᵀZ in the thousands, single precision would round away the very information λ is meant to
/// weigh. The echo state network's readout is solved with it.
/// </summary>
public sealed class RidgeRegression
{
    /// <summary>Rows buffered before they are folded into ZᵀZ.</summary>
    public const int ChunkRows = 128;

    /// <summary>F: the columns of Z (and the length of the solution).</summary>
    public int Features { get; }
    /// <summary>Rows added so far.</summary>
    public long Rows { get; private set; }

    private readonly double[] _gram;      // [F, F]: ZᵀZ, upper triangle (j ≥ i) only
    private readonly double[] _zy;        // [F]: Zᵀy
    private readonly double[] _chunk;     // [F, ChunkRows]: feature f of buffered row r at f·ChunkRows + r
    private readonly double[] _chunkY = new double[ChunkRows];
    private int _buffered;

    /// <summary>An empty regression over <paramref name="features"/> features; throws <see cref="ArgumentException"/> when it is not positive.</summary>
    public RidgeRegression(int features)
    {
        if (features <= 0) throw new ArgumentException($"RidgeRegression: the number of features must be positive (got {features})");
        Features = features;
        _gram = new double[features * features];
        _zy = new double[features];
        _chunk = new double[features * ChunkRows];
    }

    /// <summary>Adds one row: features z [F] and its target y.</summary>
    public void Add(ReadOnlySpan<double> z, double y)
    {
        if (z.Length != Features) throw new ArgumentException($"RidgeRegression.Add: a row needs {Features} features, got {z.Length}");
        for (int f = 0; f < Features; f++) _chunk[f * ChunkRows + _buffered] = z[f];
        _chunkY[_buffered] = y;
        Rows++;
        if (++_buffered == ChunkRows) Flush();
    }

    /// <summary>w [F] minimising ‖Zw − y‖² + λ‖w‖²; more rows may be added and Solve called again.</summary>
    public double[] Solve(double ridge)
    {
        if (!(ridge >= 0) || !double.IsFinite(ridge)) throw new ArgumentException($"RidgeRegression.Solve: λ must be ≥ 0 (got {ridge})");
        if (Rows == 0) throw new InvalidOperationException("RidgeRegression.Solve: no rows were added");
        Flush();
        int n = Features;
        // The full symmetric matrix, lower triangle from the accumulated upper one, plus λ on the diagonal.
        var a = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
                a[j * n + i] = a[i * n + j] = _gram[i * n + j];
        for (int i = 0; i < n; i++) a[i * n + i] += ridge;
        var w = (double[])_zy.Clone();
        CholeskySolve(a, n, w);
        return w;
    }

    /// <summary>
    /// Solves A x = b for a symmetric positive definite A [n, n] (row-major; only its lower triangle is read), in
    /// place: a's lower triangle becomes L (A = LLᵀ) and b becomes x. Row-oriented, so every inner loop is a dot
    /// product of two contiguous row prefixes.
    /// </summary>
    public static void CholeskySolve(double[] a, int n, Span<double> b)
    {
        if (n <= 0 || a.Length < n * n) throw new ArgumentException($"CholeskySolve: a [{n}, {n}] matrix needs {n * n} values, got {a.Length}");
        if (b.Length != n) throw new ArgumentException($"CholeskySolve: the right-hand side needs {n} values, got {b.Length}");
        for (int i = 0; i < n; i++)
        {
            var rowI = a.AsSpan(i * n, n);
            for (int j = 0; j < i; j++)
                rowI[j] = (rowI[j] - Dot(rowI[..j], a.AsSpan(j * n, j))) / a[j * n + j];
            double pivot = rowI[i] - Dot(rowI[..i], rowI[..i]);
            if (!(pivot > 0))
                throw new ArgumentException($"CholeskySolve: the matrix is not positive definite (pivot {pivot:G4} at row {i}); a larger ridge λ makes it so");
            rowI[i] = Math.Sqrt(pivot);
        }
        // L y = b, then Lᵀ x = y.
        for (int i = 0; i < n; i++) b[i] = (b[i] - Dot(a.AsSpan(i * n, i), b[..i])) / a[i * n + i];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int k = i + 1; k < n; k++) s -= a[k * n + i] * b[k];
            b[i] = s / a[i * n + i];
        }
    }

    /// <summary>Folds the buffered rows into ZᵀZ and Zᵀy.</summary>
    private void Flush()
    {
        int r = _buffered, n = Features;
        if (r == 0) return;
        var y = _chunkY.AsSpan(0, r);
        for (int i = 0; i < n; i++)
        {
            var zi = _chunk.AsSpan(i * ChunkRows, r);
            _zy[i] += Dot(zi, y);
            var gramRow = _gram.AsSpan(i * n, n);
            for (int j = i; j < n; j++) gramRow[j] += Dot(zi, _chunk.AsSpan(j * ChunkRows, r));
        }
        _buffered = 0;
    }

    /// <summary>Σ a[k]·b[k] with SIMD vectors and two accumulators.</summary>
    internal static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int n = a.Length, k = 0, w = Vector<double>.Count;
        double sum = 0;
        if (n >= 2 * w)
        {
            var va = MemoryMarshal.Cast<double, Vector<double>>(a);
            var vb = MemoryMarshal.Cast<double, Vector<double>>(b[..n]);
            Vector<double> s0 = Vector<double>.Zero, s1 = Vector<double>.Zero;
            int v = 0;
            for (; v + 1 < va.Length; v += 2)
            {
                s0 += va[v] * vb[v];
                s1 += va[v + 1] * vb[v + 1];
            }
            if (v < va.Length) s0 += va[v] * vb[v];
            sum = Vector.Sum(s0 + s1);
            k = va.Length * w;
        }
        for (; k < n; k++) sum += a[k] * b[k];
        return sum;
    }
}
