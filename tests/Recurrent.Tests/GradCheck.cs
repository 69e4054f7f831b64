using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Central finite differences for float32 layers: each element of x is moved by ±eps, the scalar loss is recomputed
/// (accumulated in double by the caller) and (L(x+eps) − L(x−eps)) / 2eps is compared to the analytic gradient.
/// With float32 forwards, rounding noise is ~1e-4 of the gradient at eps = 4e-3 and truncation error is eps²·f''' ≈ 1e-5,
/// so the tolerance |analytic − numeric| ≤ atol + rtol·|numeric| with atol 1e-3, rtol 1e-2 is tight enough to catch a
/// missing term or a wrong sign and loose enough to pass a correct backward.
/// </summary>
public static class GradCheck
{
    public static void Check(string what, float[] x, ReadOnlySpan<float> analytic, Func<double> loss,
        double eps = 4e-3, double atol = 1e-3, double rtol = 1e-2)
    {
        Assert.Equal(x.Length, analytic.Length);
        for (int i = 0; i < x.Length; i++)
        {
            float saved = x[i];
            x[i] = (float)(saved + eps);
            double plus = loss();
            x[i] = (float)(saved - eps);
            double minus = loss();
            x[i] = saved;
            double numeric = (plus - minus) / (2 * eps);
            double error = Math.Abs(analytic[i] - numeric);
            if (error > atol + rtol * Math.Abs(numeric))
                Assert.Fail($"{what}[{i}]: analytic {analytic[i]:G6}, numeric {numeric:G6} (error {error:G3})");
        }
    }

    /// <summary>Σ a·w in double: the weighted-sum loss whose gradient with respect to a is w.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> w)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * w[i];
        return s;
    }

    public static float[] RandomArray(Recurrent.Tensors.Rng rng, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rng.Uniform(-scale, scale);
        return a;
    }
}
