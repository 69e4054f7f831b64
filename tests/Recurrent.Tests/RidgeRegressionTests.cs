using Recurrent.Analysis;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class RidgeRegressionTests
{
    [Fact]
    public void CholeskySolvesAKnownSystem()
    {
        // A = LLᵀ with L = [[2,0,0],[1,3,0],[−1,2,1]]; x = [1, −2, 3], b = A x.
        double[] a = [4, 2, -2, 2, 10, 5, -2, 5, 6];
        double[] x = [1, -2, 3];
        var b = new double[3];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) b[i] += a[i * 3 + j] * x[j];
        RidgeRegression.CholeskySolve(a, 3, b);
        for (int i = 0; i < 3; i++) Assert.Equal(x[i], b[i], 12);
        Assert.Equal([2.0, 1, 3, -1, 2, 1], new[] { a[0], a[3], a[4], a[6], a[7], a[8] });   // L in the lower triangle
    }

    [Fact]
    public void NotPositiveDefiniteIsAnError()
    {
        double[] a = [1, 2, 2, 1];   // eigenvalues 3 and −1
        var e = Assert.Throws<ArgumentException>(() => RidgeRegression.CholeskySolve(a, 2, new double[2]));
        Assert.Contains("not positive definite", e.Message);
    }

    [Fact]
    public void RecoversExactLinearWeightsWithoutRidge()
    {
        var rng = new Rng(3);
        double[] truth = [0.5, -1.25, 2, 0.125, -3];
        var regression = new RidgeRegression(5);
        var z = new double[5];
        for (int r = 0; r < 300; r++)   // more than one chunk, and a partial one
        {
            for (int f = 0; f < 5; f++) z[f] = rng.NextDouble() * 2 - 1;
            regression.Add(z, RidgeRegression.Dot(z, truth));
        }
        Assert.Equal(300, regression.Rows);
        double[] w = regression.Solve(0);
        for (int f = 0; f < 5; f++) Assert.Equal(truth[f], w[f], 10);
    }

    [Fact]
    public void RidgeSolutionSatisfiesTheRegularisedNormalEquations()
    {
        // Noisy targets and a large λ: check (ZᵀZ + λI) w = Zᵀy against sums formed directly from the rows.
        var rng = new Rng(4);
        int rows = 200, features = 7;
        double lambda = 3.5;
        var z = new double[rows, features];
        var y = new double[rows];
        var regression = new RidgeRegression(features);
        var row = new double[features];
        for (int r = 0; r < rows; r++)
        {
            for (int f = 0; f < features; f++) row[f] = z[r, f] = rng.Normal();
            y[r] = rng.Normal();
            regression.Add(row, y[r]);
        }
        double[] w = regression.Solve(lambda);
        for (int i = 0; i < features; i++)
        {
            double lhs = lambda * w[i], rhs = 0;
            for (int r = 0; r < rows; r++)
            {
                double zw = 0;
                for (int j = 0; j < features; j++) zw += z[r, j] * w[j];
                lhs += z[r, i] * zw;
                rhs += z[r, i] * y[r];
            }
            Assert.Equal(rhs, lhs, 9);
        }
        // The ridge shrinks: a larger λ gives a smaller ‖w‖.
        Assert.True(RidgeRegression.Dot(regression.Solve(100 * lambda), regression.Solve(100 * lambda)) < RidgeRegression.Dot(w, w));
    }

    [Fact]
    public void RowOfTheWrongWidthIsAnError()
    {
        var e = Assert.Throws<ArgumentException>(() => new RidgeRegression(3).Add(new double[2], 1));
        Assert.Contains("3 features, got 2", e.Message);
        Assert.Throws<InvalidOperationException>(() => new RidgeRegression(3).Solve(1));
    }
}
