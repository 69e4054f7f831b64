using Recurrent.Tensors;

namespace Recurrent.Verification;

/// <summary>
/// How one computed tensor compares with its PyTorch reference under the elementwise rule
/// <c>|actual − expected| ≤ Absolute + Relative·|expected|</c>.
/// <see cref="WorstRatio"/> is the largest <c>|actual − expected| / (Absolute + Relative·|expected|)</c>: the share of
/// the tolerance used by the worst element (≤ 1 passes). <see cref="Problem"/> is set when there was nothing to
/// compare elementwise (missing on one side, or shapes differ).
/// </summary>
public sealed record TensorComparison(
    string Name,
    int[] Shape,
    double MaxAbsError,
    double WorstRatio,
    int WorstIndex,
    float WorstActual,
    float WorstExpected,
    int Failures,
    string? Problem)
{
    /// <summary>The absolute term of the tolerance: |actual − expected| ≤ Absolute + Relative·|expected|.</summary>
    public const double Absolute = 1e-5;
    /// <summary>The relative term of the tolerance, times |expected|.</summary>
    public const double Relative = 1e-4;

    /// <summary>True when both sides were there with the same shape and every element is within tolerance.</summary>
    public bool Passed => Problem == null && Failures == 0;
    /// <summary>Elements compared: the product of <see cref="TensorComparison.Shape"/>.</summary>
    public int Count => Shape.Aggregate(1, (n, d) => n * d);

    /// <summary>Compares elementwise; NaN or infinity where the reference is finite counts as a failure.</summary>
    public static TensorComparison Compare(string name, Tensor actual, Tensor expected)
    {
        if (!actual.HasShape(expected.Shape))
            return Missing(name, expected.Shape.ToArray(), $"computed shape {Tensor.Describe(actual.Shape)}, reference {Tensor.Describe(expected.Shape)}");
        ReadOnlySpan<float> a = actual.Data, e = expected.Data;
        double maxAbs = 0, worst = -1;
        int worstIndex = 0, failures = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double error = Math.Abs((double)a[i] - e[i]);
            double ratio = error / (Absolute + Relative * Math.Abs((double)e[i]));
            if (double.IsNaN(ratio)) ratio = a[i].Equals(e[i]) ? 0 : double.PositiveInfinity; // NaN matches only NaN
            if (!(ratio <= 1)) failures++;
            if (!double.IsNaN(error)) maxAbs = Math.Max(maxAbs, error);
            if (ratio > worst) { worst = ratio; worstIndex = i; }
        }
        return new TensorComparison(name, expected.Shape.ToArray(), maxAbs, Math.Max(worst, 0), worstIndex,
            e.Length > 0 ? a[worstIndex] : 0f, e.Length > 0 ? e[worstIndex] : 0f, failures, null);
    }

    /// <summary>A tensor that could not be compared; it fails.</summary>
    public static TensorComparison Missing(string name, int[] shape, string problem) =>
        new(name, shape, double.NaN, double.PositiveInfinity, 0, float.NaN, float.NaN, 0, problem);

    /// <summary>"[2, 0, 5]": the multi-index of flat element <paramref name="flat"/>.</summary>
    public string DescribeIndex(int flat)
    {
        var index = new int[Shape.Length];
        for (int k = Shape.Length - 1; k >= 0; k--)
        {
            if (Shape[k] == 0) return "[]";
            index[k] = flat % Shape[k];
            flat /= Shape[k];
        }
        return Tensor.Describe(index);
    }
}
