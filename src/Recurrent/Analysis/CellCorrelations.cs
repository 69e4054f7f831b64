namespace Recurrent.Analysis;

/// <summary>A feature and the unit that tracks it best: r is the Pearson correlation of the two over the text.</summary>
public readonly record struct CellMatch(string Feature, int Unit, string Cell, double Correlation);

/// <summary>
/// Which units track which features: the Pearson correlation of every unit's activation a_u with every feature f over
/// the N characters,
///
///   r(u, f) = Σ_t (a_u,t − ā_u)(f_t − f̄) / √(Σ_t (a_u,t − ā_u)² · Σ_t (f_t − f̄)²),
///
/// and for each feature the unit with the largest |r| (the lowest unit on a tie). Sums in double. Each feature is
/// centred and scaled to unit norm once, so a unit costs one pass for its mean and norm and one dot product per feature.
/// A constant series (standard deviation below 1e-6, float rounding) has no correlation (NaN): a constant unit never wins, and a feature constant over the text (no
/// quotes in Shakespeare) has no best unit.
/// </summary>
public static class CellCorrelations
{
    // A series whose standard deviation is below 1e-6 is constant: float rounding alone gives about that much.
    private const double ConstantBelow = 1e-12;

    /// <summary>r of two series of equal length; NaN when either is constant.</summary>
    public static double Pearson(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"Pearson: series of {x.Length} and {y.Length} values");
        var zx = Standardize(x);
        var zy = Standardize(y);
        if (zx == null || zy == null) return double.NaN;
        double s = 0;
        for (int t = 0; t < zx.Length; t++) s += zx[t] * zy[t];
        return Math.Clamp(s, -1, 1);
    }

    /// <summary>For each feature (in <see cref="TextFeatures.Names"/> order) its best unit, or null when it is constant.</summary>
    public static CellMatch?[] Best(CellActivations activations, TextFeatures features)
    {
        int N = activations.Length, F = features.Count;
        if (features.Length != N)
            throw new ArgumentException($"CellCorrelations: {N} characters of activations but {features.Length} of features");
        var z = new double[]?[F];
        for (int f = 0; f < F; f++) z[f] = Standardize(features.Feature(f));

        var best = new CellMatch?[F];
        var centred = new double[N];
        for (int u = 0; u < activations.Units; u++)
        {
            var a = activations.Unit(u);
            double mean = 0;
            for (int t = 0; t < N; t++) mean += a[t];
            mean /= N;
            double norm = 0;
            for (int t = 0; t < N; t++)
            {
                centred[t] = a[t] - mean;
                norm += centred[t] * centred[t];
            }
            if (!(norm > ConstantBelow * N)) continue;
            norm = Math.Sqrt(norm);
            for (int f = 0; f < F; f++)
            {
                var zf = z[f];
                if (zf == null) continue;
                double s = 0;
                for (int t = 0; t < N; t++) s += centred[t] * zf[t];
                double r = Math.Clamp(s / norm, -1, 1);
                if (best[f] is not { } b || Math.Abs(r) > Math.Abs(b.Correlation))
                    best[f] = new CellMatch(TextFeatures.Names[f], u, activations.Name(u), r);
            }
        }
        return best;
    }

    /// <summary>(x − x̄) / ‖x − x̄‖, or null when x is constant.</summary>
    private static double[]? Standardize(ReadOnlySpan<float> x)
    {
        int n = x.Length;
        double mean = 0;
        for (int t = 0; t < n; t++) mean += x[t];
        mean /= n;
        var z = new double[n];
        double norm = 0;
        for (int t = 0; t < n; t++)
        {
            z[t] = x[t] - mean;
            norm += z[t] * z[t];
        }
        if (!(norm > ConstantBelow * n)) return null;
        norm = Math.Sqrt(norm);
        for (int t = 0; t < n; t++) z[t] /= norm;
        return z;
    }
}
