using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class InitTests
{
    /// <summary>max |AᵀA − I| for A: [rows, cols] (columns orthonormal when rows ≥ cols).</summary>
    private static double ColumnOrthonormalityError(float[] a, int rows, int cols, double gain = 1)
    {
        double worst = 0;
        for (int i = 0; i < cols; i++)
            for (int j = 0; j < cols; j++)
            {
                double dot = 0;
                for (int r = 0; r < rows; r++) dot += (double)a[r * cols + i] * a[r * cols + j];
                worst = Math.Max(worst, Math.Abs(dot / (gain * gain) - (i == j ? 1 : 0)));
            }
        return worst;
    }

    private static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    [Theory]
    [InlineData(8, 5)]
    [InlineData(5, 8)]
    [InlineData(6, 6)]
    [InlineData(1, 4)]
    public void OrthogonalIsOrthonormalInBothOrientations(int rows, int cols)
    {
        var w = new Tensor(rows, cols);
        Init.Orthogonal(w, new Rng(1), gain: 2f);
        var a = rows >= cols ? w.Data : Transpose(w.Data, rows, cols);
        Assert.True(ColumnOrthonormalityError(a, Math.Max(rows, cols), Math.Min(rows, cols), 2) < 1e-6);
    }

    [Fact]
    public void OrthogonalIsTheQFactorWithPositiveDiagonalR()
    {
        // torch.nn.init.orthogonal_ corrects Q's signs so that R = QᵀA has a positive diagonal; redraw A and check.
        const int rows = 7, cols = 4;
        var w = new Tensor(rows, cols);
        Init.Orthogonal(w, new Rng(9));
        var rng = new Rng(9);
        var a = new double[rows * cols];
        for (int i = 0; i < a.Length; i++) a[i] = rng.Normal();
        for (int i = 0; i < cols; i++)
            for (int j = 0; j < cols; j++)
            {
                double r = 0;
                for (int k = 0; k < rows; k++) r += w.Data[k * cols + i] * a[k * cols + j];
                if (i > j) Assert.True(Math.Abs(r) < 1e-5, $"R[{i},{j}] = {r} below the diagonal");
                if (i == j) Assert.True(r > 0, $"R[{i},{i}] = {r} is not positive");
            }
    }

    [Fact]
    public void OrthogonalPerGateBlock()
    {
        const int h = 6;
        var whh = new Tensor(4 * h, h);
        var rng = new Rng(2);
        for (int g = 0; g < 4; g++) Init.Orthogonal(whh.Span.Slice(g * h * h, h * h), h, h, rng);
        for (int g = 0; g < 4; g++)
            Assert.True(ColumnOrthonormalityError(whh.Data.AsSpan(g * h * h, h * h).ToArray(), h, h) < 1e-6);
        Assert.NotEqual(whh.Data.AsSpan(0, h * h).ToArray(), whh.Data.AsSpan(h * h, h * h).ToArray());
        Assert.Throws<ArgumentException>(() => Init.Orthogonal(new float[10], 3, 4, rng));
        Assert.Throws<ShapeException>(() => Init.Orthogonal(new Tensor(5), rng));
    }

    [Fact]
    public void IdentityOnTheLeadingSquare()
    {
        var w = new Tensor(3 * 4, 4);
        w.Span.Fill(7f);
        Init.Identity(w, 0.5f);
        for (int r = 0; r < 12; r++)
            for (int c = 0; c < 4; c++) Assert.Equal(r == c ? 0.5f : 0f, w[r, c]);
        var block = new float[3 * 5];
        Init.Identity(block, 3, 5);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 5; c++) Assert.Equal(r == c ? 1f : 0f, block[r * 5 + c]);
    }

    [Fact]
    public void ForgetGateBiasSetsTheSecondQuarter()
    {
        const int h = 5;
        var b = new Tensor(4 * h);
        b.Span.Fill(0.25f);
        Init.ForgetGateBias(b, h, 1f);
        for (int i = 0; i < 4 * h; i++) Assert.Equal(i >= h && i < 2 * h ? 1f : 0.25f, b[i]);
        Assert.Contains("[20]", Assert.Throws<ShapeException>(() => Init.ForgetGateBias(new Tensor(3 * h), h, 1f)).Message);
    }

    [Fact]
    public void UniformNormalAndXavierRespectTheirScale()
    {
        var rng = new Rng(3);
        var t = new Tensor(100, 50);
        Init.Uniform(t, 0.3f, rng);
        Assert.All(t.Data, v => Assert.InRange(v, -0.3f, 0.3f));
        Assert.True(t.Data.Max() > 0.29f && t.Data.Min() < -0.29f);

        Init.XavierUniform(t, rng, gain: 2f);
        float bound = 2f * MathF.Sqrt(6f / 150f);
        Assert.All(t.Data, v => Assert.InRange(v, -bound, bound));
        Assert.True(t.Data.Max() > 0.98f * bound && t.Data.Min() < -0.98f * bound);

        Init.Normal(t, 0.5f, rng);
        double std = Math.Sqrt(t.Data.Average(v => (double)v * v));
        Assert.InRange(std, 0.485, 0.515);
        Assert.Throws<ArgumentException>(() => Init.Uniform(t, -1f, rng));
    }
}
