using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>The span kernels against scalar double references, at lengths around the vector width and at extreme inputs.</summary>
public class KernelsTests
{
    public static TheoryData<int> Lengths => new() { 0, 1, 5, 15, 16, 17, 31, 32, 33, 100 };

    /// <summary>Random values mixed with the extremes: 0, ±tiny, ±1e4, ±100, ±1e30 and ±∞ among them.</summary>
    private static float[] Inputs(int n, ulong seed = 1)
    {
        var x = GradCheck.RandomArray(new Rng(seed), n, 6f);
        float[] extremes = [0f, 1e-8f, -1e-8f, 1e4f, -1e4f, 100f, -100f, 1e30f, -1e30f, float.PositiveInfinity, float.NegativeInfinity, 0.2f];
        for (int i = 0; i < n; i += 3) x[i] = extremes[(i / 3) % extremes.Length];
        return x;
    }

    private static void Near(double want, float got, double rel, string what)
    {
        if (double.IsNaN(want) ? !float.IsNaN(got) : Math.Abs(got - want) > rel * Math.Abs(want) + 1e-37)
            Assert.Fail($"{what}: got {got:R}, want {want:R}");
    }

    [Theory, MemberData(nameof(Lengths))]
    public void ActivationsMatchDoubleReference(int n)
    {
        var x = Inputs(n);
        var y = new float[n];
        Kernels.Sigmoid(x, y);
        for (int i = 0; i < n; i++) Near(1 / (1 + Math.Exp(-(double)x[i])), y[i], 2e-7, $"sigmoid({x[i]})");
        Kernels.Tanh(x, y);
        for (int i = 0; i < n; i++) Near(Math.Tanh(x[i]), y[i], 4e-7, $"tanh({x[i]})");
        Kernels.Relu(x, y);
        for (int i = 0; i < n; i++) Assert.Equal(Math.Max(x[i], 0f), y[i]);
    }

    [Fact]
    public void AnElementGetsTheSameBitsWhereverItSits()
    {
        // The tail runs the vector code on a padded copy, so position 16 of 17 equals position 0 of 16.
        var x = Inputs(33);
        var whole = new float[33];
        var one = new float[1];
        foreach (var f in new Action<float[], float[]>[] { (a, b) => Kernels.Sigmoid(a, b), (a, b) => Kernels.Tanh(a, b) })
        {
            f(x, whole);
            for (int i = 0; i < x.Length; i++)
            {
                f([x[i]], one);
                Assert.Equal(whole[i], one[0]);
            }
        }
    }

    [Fact]
    public void KernelsWorkInPlace()
    {
        var x = Inputs(37);
        var want = new float[37];
        Kernels.Tanh(x, want);
        Kernels.Tanh(x, x);
        Assert.Equal(want, x);
        var rows = Inputs(3 * 21, 4);
        var soft = new float[rows.Length];
        Kernels.LogSoftmaxRows(Clean(rows), soft, 21);
        var inPlace = Clean(rows);
        Kernels.LogSoftmaxRows(inPlace, inPlace, 21);
        Assert.Equal(soft, inPlace);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void DerivativesMatchTheirFormulas(int n)
    {
        var rng = new Rng(7);
        var x = GradCheck.RandomArray(rng, n, 4f);
        var dy = GradCheck.RandomArray(rng, n, 2f);
        var y = new float[n];
        var dx = new float[n];
        Kernels.Sigmoid(x, y);
        Kernels.SigmoidBackward(y, dy, dx);
        for (int i = 0; i < n; i++) Near((double)dy[i] * y[i] * (1 - (double)y[i]), dx[i], 1e-6, "sigmoid'");
        Kernels.Tanh(x, y);
        Kernels.TanhBackward(y, dy, dx);
        for (int i = 0; i < n; i++) Near(dy[i] * (1 - (double)y[i] * y[i]), dx[i], 1e-6, "tanh'"); // needs 1 − y² fused
        if (n > 0) x[0] = 0; // relu'(0) is taken as 0
        Kernels.Relu(x, y);
        Kernels.ReluBackward(y, dy, dx);
        for (int i = 0; i < n; i++) Assert.Equal(x[i] > 0 ? dy[i] : 0f, dx[i]);
    }

    [Fact]
    public void DerivativesAgreeWithFiniteDifferencesOfTheActivations()
    {
        var rng = new Rng(8);
        var x = GradCheck.RandomArray(rng, 19, 3f);
        var w = GradCheck.RandomArray(rng, 19);
        var y = new float[19];
        var dx = new float[19];
        foreach (var (name, f, df) in new (string, Action<float[], float[]>, Action<float[], float[], float[]>)[]
                 {
                     ("sigmoid", (a, b) => Kernels.Sigmoid(a, b), (a, b, c) => Kernels.SigmoidBackward(a, b, c)),
                     ("tanh", (a, b) => Kernels.Tanh(a, b), (a, b, c) => Kernels.TanhBackward(a, b, c)),
                     ("relu", (a, b) => Kernels.Relu(a, b), (a, b, c) => Kernels.ReluBackward(a, b, c)),
                 })
        {
            f(x, y);
            df(y, w, dx);
            GradCheck.Check(name, x, dx, () => { f(x, y); return GradCheck.Dot(y, w); });
        }
    }

    /// <summary>The extremes without ±∞ (a row with +∞ is NaN in PyTorch too) for the softmax tests.</summary>
    private static float[] Clean(float[] x) => x.Select(v => float.IsInfinity(v) ? MathF.CopySign(50f, v) : v).ToArray();

    public static TheoryData<int> Columns => new() { 1, 5, 16, 17, 65 };

    [Theory, MemberData(nameof(Columns))]
    public void SoftmaxRowsMatchDoubleReferenceAndStayFinite(int cols)
    {
        const int rows = 4;
        var x = Clean(Inputs(rows * cols, (ulong)cols));
        x[0] = 1e4f; // rows with ±1e4 and ±1e30 side by side
        if (cols > 1) x[1] = -1e4f;
        var y = new float[x.Length];
        var logY = new float[x.Length];
        Kernels.SoftmaxRows(x, y, cols);
        Kernels.LogSoftmaxRows(x, logY, cols);
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * cols, cols).ToArray();
            double max = row.Max();
            double sum = row.Sum(v => Math.Exp(v - max));
            double total = 0;
            for (int c = 0; c < cols; c++)
            {
                int i = r * cols + c;
                Assert.True(float.IsFinite(y[i]) && float.IsFinite(logY[i]), $"row {r} col {c}: {y[i]}, {logY[i]}");
                Near(Math.Exp(row[c] - max) / sum, y[i], 1e-6, $"softmax[{r},{c}]");
                double logP = row[c] - max - Math.Log(sum);
                Assert.True(Math.Abs(logY[i] - logP) <= 1e-6 * Math.Abs(logP) + 1e-6, $"log_softmax[{r},{c}]: got {logY[i]}, want {logP}");
                total += y[i];
            }
            Assert.Equal(1.0, total, 1e-6);
        }
    }

    [Fact]
    public void SoftmaxRowReturnsTheLogPartition()
    {
        float[] x = [1e4f, -1e4f, 0f, 9999f];
        var y = new float[4];
        double lse = Kernels.SoftmaxRow(x, y);
        Assert.Equal(1e4 + Math.Log(1 + Math.Exp(-1)), lse, 1e-9 * 1e4);
        Assert.Equal(0f, y[1]);
        Assert.Throws<ArgumentException>(() => Kernels.SoftmaxRows(new float[10], new float[10], 3));
        Assert.Throws<ArgumentException>(() => Kernels.SoftmaxRows(new float[10], new float[10], 0));
    }

    [Theory, MemberData(nameof(Lengths))]
    public void Blas1MatchesDoubleReference(int n)
    {
        var rng = new Rng(11);
        var a = GradCheck.RandomArray(rng, n, 3f);
        var b = GradCheck.RandomArray(rng, n, 3f);
        var dst = new float[n];
        Kernels.Add(a, b, dst);
        for (int i = 0; i < n; i++) Assert.Equal(a[i] + b[i], dst[i]);
        Kernels.Multiply(a, b, dst);
        for (int i = 0; i < n; i++) Assert.Equal(a[i] * b[i], dst[i]);
        b.CopyTo(dst, 0);
        Kernels.Scale(dst, -0.37f);
        for (int i = 0; i < n; i++) Assert.Equal(b[i] * -0.37f, dst[i]);
        b.CopyTo(dst, 0);
        Kernels.AddScaled(dst, a, 0.3f);
        for (int i = 0; i < n; i++) Assert.Equal(MathF.FusedMultiplyAdd(a[i], 0.3f, b[i]), dst[i]);
        b.CopyTo(dst, 0);
        Kernels.Clamp(dst, -1f, 2f);
        for (int i = 0; i < n; i++) Assert.Equal(Math.Clamp(b[i], -1f, 2f), dst[i]);

        double dot = 0, squares = 0, sum = 0;
        for (int i = 0; i < n; i++) (dot, squares, sum) = (dot + (double)a[i] * b[i], squares + (double)a[i] * a[i], sum + a[i]);
        Assert.Equal(dot, Kernels.Dot(a, b), 1e-5 * (1 + Math.Abs(dot)));
        Assert.Equal(squares, Kernels.SumOfSquares(a), 1e-12 * (1 + squares));
        Assert.Equal(sum, Kernels.Sum(a), 1e-5 * (1 + Math.Abs(sum)));
        Assert.Equal(n == 0 ? float.NegativeInfinity : a.Max(), Kernels.Max(a));
    }

    [Fact]
    public void SumOfSquaresKeepsSmallTermsNextToLargeOnes()
    {
        var x = new float[1001];
        x[0] = 1e4f;
        for (int i = 1; i < x.Length; i++) x[i] = 1e-3f; // each 1e-6 is far below float's resolution at 1e8
        Assert.Equal(1e8 + 1000 * (double)1e-3f * 1e-3f, Kernels.SumOfSquares(x), 1e-6);
    }

    [Fact]
    public void MismatchedLengthsThrow()
    {
        var e = Assert.Throws<ArgumentException>(() => Kernels.Tanh(new float[5], new float[4]));
        Assert.Contains("Kernels.Tanh", e.Message);
        Assert.Throws<ArgumentException>(() => Kernels.Add(new float[5], new float[5], new float[6]));
        Assert.Throws<ArgumentException>(() => Kernels.Dot(new float[5], new float[6]));
    }
}
