using Recurrent.Analysis;
using Xunit;

namespace Recurrent.Tests;

public class EchoStateNetworkTests
{
    [Fact]
    public void ReservoirHasKConnectionsPerRowAndTheSpectralRadiusAskedFor()
    {
        var esn = new EchoStateNetwork(40, connections: 5, spectralRadius: 0.9, seed: 3);
        float[] w = esn.ReservoirMatrix();
        for (int i = 0; i < 40; i++) Assert.Equal(5, w.AsSpan(i * 40, 40).ToArray().Count(v => v != 0));
        // Checked independently of the power iteration that scaled it: Gelfand's ρ = lim ‖Wᵏ‖^(1/k), k = 2¹⁴ by squaring.
        Assert.InRange(GelfandRadius(w, 40, 14), 0.9 * 0.99, 0.9 * 1.01);
        Assert.Equal(0.9, new EchoStateNetwork(200, spectralRadius: 0.9, seed: 5).Radius);
        Assert.InRange(GelfandRadius(new EchoStateNetwork(200, spectralRadius: 1.25, seed: 5).ReservoirMatrix(), 200, 14), 1.25 * 0.99, 1.25 * 1.01);
    }

    [Fact]
    public void StepIsTheLeakyIntegratorUpdate()
    {
        var esn = new EchoStateNetwork(6, connections: 3, spectralRadius: 0.8, inputScaling: 0.7, biasScaling: 0.3, leakRate: 0.4, seed: 2);
        float[] w = esn.ReservoirMatrix();
        esn.Step(0.5);
        var x0 = esn.State.ToArray();
        esn.Step(-0.25);
        for (int i = 0; i < 6; i++)
        {
            double s = esn.InputWeights[i] * -0.25 + esn.Bias[i];
            for (int j = 0; j < 6; j++) s += w[i * 6 + j] * x0[j];
            Assert.Equal(0.6 * x0[i] + 0.4 * Math.Tanh(s), esn.State[i], 6);   // W read back through float
        }
        Assert.All(esn.InputWeights.ToArray(), v => Assert.InRange(v, -0.7, 0.7));
        Assert.All(esn.Bias.ToArray(), v => Assert.InRange(v, -0.3, 0.3));
    }

    [Fact]
    public void TinyReservoirLearnsASineAndGeneratesItFreeRunning()
    {
        var series = Enumerable.Range(0, 601).Select(t => 0.5 * Math.Sin(2 * Math.PI * t / 20)).ToArray();
        var esn = new EchoStateNetwork(50, connections: 5, spectralRadius: 0.9, leakRate: 0.5, seed: 1);
        double trainRmse = esn.Train(series, washout: 100, ridge: 1e-9);
        Assert.True(trainRmse < 1e-4, $"one-step training RMSE {trainRmse:G3}");
        esn.Step(series[^1]);
        var generated = new double[100];
        esn.FreeRun(series[^1], generated);
        double error = Enumerable.Range(0, 100).Max(h => Math.Abs(generated[h] - 0.5 * Math.Sin(2 * Math.PI * (601 + h) / 20)));
        Assert.True(error < 1e-2, $"free-running error {error:G3} over 100 steps");
    }

    [Fact]
    public void SameSeedSameNetworkOtherSeedAnother()
    {
        var series = MackeyGlass.Generate(400).Select(MackeyGlassForecast.ToSignal).ToArray();
        double[] Run(ulong seed)
        {
            var esn = new EchoStateNetwork(30, connections: 4, seed: seed);
            esn.Train(series, 50, 1e-8);
            var y = new double[20];
            esn.FreeRun(series[^2], y);
            return [.. esn.Readout!, .. y];
        }
        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        Assert.Contains("leak rate", Assert.Throws<ArgumentException>(() => new EchoStateNetwork(10, leakRate: 0)).Message);
        Assert.Contains("connections", Assert.Throws<ArgumentException>(() => new EchoStateNetwork(10, connections: 11)).Message);
        Assert.Contains("spectral radius", Assert.Throws<ArgumentException>(() => new EchoStateNetwork(10, spectralRadius: -1)).Message);
        Assert.Throws<InvalidOperationException>(() => new EchoStateNetwork(10).Output(0));
        Assert.Contains("washout", Assert.Throws<ArgumentException>(() => new EchoStateNetwork(10).Train(new double[20], 19, 1e-6)).Message);
    }

    [Fact]
    public void ForecastBenchmarkScoresPerfectAndMeanPredictions()
    {
        var task = new MackeyGlassForecast(washout: 50, train: 500, starts: 20);
        Assert.Equal(task.Length, task.Series.Length);
        Assert.Equal(task.Series.Length - 1, task.Start(19) + task.Horizon - 1);
        var perfect = Enumerable.Range(0, 20).Select(j => task.Signal[task.Start(j) + 83]).ToArray();
        Assert.Equal(0, task.Nrmse(perfect), 12);
        // Always predicting the mean scores about 1: NRMSE is relative to the series' spread.
        double mean = task.Series.Average();
        Assert.InRange(task.Nrmse(Enumerable.Repeat(MackeyGlassForecast.ToSignal(mean), 20).ToArray()), 0.5, 1.5);
        // A blown-up output is an infinite error, not a NaN.
        perfect[3] = 1.5;
        Assert.Equal(double.PositiveInfinity, task.Nrmse(perfect));
    }

    [Fact]
    public void SmallReservoirForecastsMackeyGlassWellPastChance()
    {
        var task = new MackeyGlassForecast(washout: 100, train: 1500, starts: 10);
        var (nrmse, trainRmse) = task.Evaluate(new EchoStateNetwork(100, seed: 1), 1e-8);
        Assert.True(nrmse < 0.1, $"NRMSE84 {nrmse:G3}");
        Assert.True(trainRmse < 1e-3, $"train RMSE {trainRmse:G3}");
    }

    /// <summary>‖W^(2^m)‖_F^(1/2^m) in double, by m squarings renormalised each time (the log of the scale is kept).</summary>
    private static double GelfandRadius(float[] w, int n, int squarings)
    {
        var m = w.Select(v => (double)v).ToArray();
        var next = new double[n * n];
        double logScale = 0;
        for (int s = 0; s < squarings; s++)
        {
            Array.Clear(next);
            for (int i = 0; i < n; i++)
                for (int k = 0; k < n; k++)
                {
                    double a = m[i * n + k];
                    if (a == 0) continue;
                    for (int j = 0; j < n; j++) next[i * n + j] += a * m[k * n + j];
                }
            double norm = Math.Sqrt(next.Sum(v => v * v));
            for (int i = 0; i < next.Length; i++) next[i] /= norm;
            logScale = 2 * logScale + Math.Log(norm);
            (m, next) = (next, m);
        }
        return Math.Exp(logScale / Math.Pow(2, squarings));
    }
}
