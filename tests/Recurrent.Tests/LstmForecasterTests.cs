using Recurrent.Analysis;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class LstmForecasterTests
{
    [Fact]
    public void TrainingImprovesTheOneStepForecastAndForecastGivesOneValuePerTest()
    {
        using var _ = new GemmThreadsScope(1);
        // Horizon 1: the forecast is the teacher-forced next-value prediction, which a short training must improve
        // (84 free-running steps of a chaotic series need far more training than a test can afford).
        var task = new MackeyGlassForecast(washout: 20, train: 400, starts: 6, horizon: 1);
        var losses = new List<double>();
        var model = new LstmForecaster(8, new Rng(1));
        double untrained = task.Nrmse(model.Forecast(task, warmup: 50));
        double finalLoss = model.Fit(task.Signal, task.TrainEnd, 200, new Rng(2), window: 30, burnIn: 5, batch: 4, learningRate: 1e-2f,
            progress: (step, loss) => losses.Add(loss));
        Assert.Equal(2, losses.Count);                    // steps 100 and 200
        Assert.True(double.IsFinite(finalLoss) && finalLoss > 0);
        double[] forecast = model.Forecast(task, warmup: 50);
        Assert.Equal(6, forecast.Length);
        double trained = task.Nrmse(forecast);
        Assert.True(trained < 0.5 * untrained, $"one-step NRMSE {trained:G3} after training, {untrained:G3} before");

        var free = new MackeyGlassForecast(washout: 20, train: 400, starts: 6);
        Assert.All(model.Forecast(free, warmup: 50), v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void SameSeedSameForecast()
    {
        using var _ = new GemmThreadsScope(1);
        var task = new MackeyGlassForecast(washout: 20, train: 300, starts: 3);
        double[] Run()
        {
            var model = new LstmForecaster(6, new Rng(5));
            model.Fit(task.Signal, task.TrainEnd, 20, new Rng(6), window: 20, burnIn: 4, batch: 3);
            return model.Forecast(task, warmup: 30);
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void ForecastIsTheTeacherForcedPredictionFedBack()
    {
        // The first free-running output of Forecast equals a plain forward pass over the warm-up window.
        var task = new MackeyGlassForecast(washout: 10, train: 200, starts: 2, spacing: 5, horizon: 1);
        var model = new LstmForecaster(5, new Rng(9));
        double[] forecast = model.Forecast(task, warmup: 40);
        for (int j = 0; j < 2; j++)
        {
            var input = new Tensor(40, 1, 1);
            for (int t = 0; t < 40; t++) input[t, 0, 0] = (float)task.Signal[task.Start(j) - 40 + t];
            var y = model.Head.Forward(model.Lstm.Forward(input).Output);
            Assert.InRange(Math.Abs(y[39] - forecast[j]), 0, 1e-5);
        }
    }
}
