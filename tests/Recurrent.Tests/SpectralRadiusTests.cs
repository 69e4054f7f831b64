using Recurrent.Analysis;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class SpectralRadiusTests
{
    [Fact]
    public void DiagonalMatrixGivesTheLargestModulus()
    {
        float[] w = [0.5f, 0, 0, 0, -2f, 0, 0, 0, 1.5f];
        Assert.Equal(2.0, SpectralRadius.Estimate(w, 3), 3);
    }

    [Fact]
    public void RotationHasRadiusOneThoughItsIterateNeverSettles()
    {
        // 0.9 × a rotation by 1 radian: eigenvalues 0.9·e^{±i}, complex, so x never converges but the growth does.
        float c = 0.9f * MathF.Cos(1), s = 0.9f * MathF.Sin(1);
        float[] w = [c, -s, s, c];
        Assert.Equal(0.9, SpectralRadius.Estimate(w, 2), 4);
    }

    [Fact]
    public void RandomGaussianMatrixFollowsTheCircularLaw()
    {
        // Entries N(0, 1/n): the eigenvalues fill the unit disc as n grows, so ρ ≈ 1.
        int n = 300;
        var rng = new Rng(7);
        var w = new float[n * n];
        for (int i = 0; i < w.Length; i++) w[i] = rng.Normal() / MathF.Sqrt(n);
        double rho = SpectralRadius.Estimate(w, n, iterations: 2000);
        Assert.InRange(rho, 0.9, 1.1);
    }

    [Fact]
    public void NilpotentMatrixHasRadiusZero()
    {
        float[] w = [0, 1, 0, 0];
        Assert.Equal(0.0, SpectralRadius.Estimate(w, 2));
    }
}
