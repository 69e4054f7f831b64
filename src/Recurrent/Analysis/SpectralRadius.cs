using Recurrent.Tensors;

namespace Recurrent.Analysis;

/// <summary>
/// ρ(W) = max |λᵢ| of a square matrix W [n, n] (row-major), by power iteration on norms: for almost every start x,
/// ‖Wᵏ x‖^(1/k) → ρ, even when the dominant eigenvalues are a complex pair or ± a real one (where the iterate itself
/// never settles, so the usual Rayleigh quotient would not converge). The vector is renormalised every step and the
/// logarithms of the growth factors are averaged over the second half of the iterations, after the start's other
/// components have faded. Error shrinks as O(1/k) when eigenvalues of equal modulus share the top; double precision.
/// Used to report the spectral radius of W_hh and to scale reservoirs to a chosen radius.
/// </summary>
public static class SpectralRadius
{
    /// <summary>
    /// ρ of the [n, n] row-major matrix <paramref name="w"/>, by <paramref name="iterations"/> power-iteration steps from a
    /// random start drawn with <paramref name="seed"/>. Throws <see cref="ArgumentException"/> for n ≤ 0, a span that is not
    /// n² long, or fewer than 2 iterations.
    /// </summary>
    public static double Estimate(ReadOnlySpan<float> w, int n, int iterations = 1000, ulong seed = 1)
    {
        if (n <= 0) throw new ArgumentException($"SpectralRadius: the matrix size must be positive (got {n})");
        if (w.Length != n * n) throw new ArgumentException($"SpectralRadius: a [{n}, {n}] matrix needs {n * n} values, got {w.Length}");
        if (iterations < 2) throw new ArgumentException($"SpectralRadius: need at least 2 iterations (got {iterations})");
        var rng = new Rng(seed);
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++) x[i] = rng.Normal();
        Normalize(x);
        double logSum = 0;
        int counted = 0;
        for (int k = 0; k < iterations; k++)
        {
            for (int i = 0; i < n; i++)
            {
                var row = w.Slice(i * n, n);
                double s = 0;
                for (int j = 0; j < n; j++) s += row[j] * x[j];
                y[i] = s;
            }
            double norm = Normalize(y);
            if (norm == 0) return 0;   // W x = 0: x was in the null space, and the chain of images ends (nilpotent W).
            if (k >= iterations / 2) { logSum += Math.Log(norm); counted++; }
            (x, y) = (y, x);
        }
        return Math.Exp(logSum / counted);
    }

    /// <summary>Scales v to unit Euclidean length and returns the length it had.</summary>
    private static double Normalize(double[] v)
    {
        double sum = 0;
        foreach (double a in v) sum += a * a;
        double norm = Math.Sqrt(sum);
        if (norm > 0) for (int i = 0; i < v.Length; i++) v[i] /= norm;
        return norm;
    }
}
