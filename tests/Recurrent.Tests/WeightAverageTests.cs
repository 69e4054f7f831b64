using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Optimizers;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The weights' exponential moving average (Optimizer.AverageWeights, `train --ema`): the update torch's AveragedModel
/// makes, the swap used for evaluation, its place in the saved state, and a training run that validates with it and
/// resumes exactly.
/// </summary>
public class WeightAverageTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static Parameter[] Parameters()
    {
        Parameter[] ps = [new Parameter("w", 5, 7), new Parameter("b", 3)]; // whole vectors and a tail at any width; a tail alone
        var rng = new Recurrent.Tensors.Rng(3);
        foreach (var p in ps) GradCheck.RandomArray(rng, p.Value.Length).CopyTo(p.Value.Data, 0);
        return ps;
    }

    private static void Step(Optimizer optimizer, Recurrent.Tensors.Rng grads)
    {
        foreach (var p in optimizer.Parameters) GradCheck.RandomArray(grads, p.Grad.Length).CopyTo(p.Grad.Data, 0);
        optimizer.Step();
    }

    [Fact]
    public void TheFirstStepCopiesTheWeights_StepTMovesTheAverageByOneMinusTheRampedDecay()
    {
        var ps = Parameters();
        var sgd = new Sgd(ps, 0.1f, momentum: 0.9f);
        sgd.AverageWeights(0.3f);
        Assert.Equal(0.3f, sgd.AverageDecay);
        var grads = new Recurrent.Tensors.Rng(4);
        Step(sgd, grads);
        var average = ps.Select(p => p.Value.Data.ToArray()).ToArray();
        // Step 2 decays by 3/12 (the ramp), steps 3 and 4 by 0.3 (the ramp's 4/13 and 5/14 are above it).
        foreach (float w in new[] { 1 - 3f / 12, 0.7f, 0.7f })
        {
            Step(sgd, grads);
            for (int i = 0; i < ps.Length; i++)
                for (int j = 0; j < average[i].Length; j++)
                    average[i][j] += w * (ps[i].Value.Data[j] - average[i][j]);
        }
        var state = sgd.State().ToDictionary(e => e.Name, e => e.Value.Data);
        Assert.Equal(["momentum_buffer.w", "momentum_buffer.b", "ema.w", "ema.b"], sgd.State().Select(e => e.Name));
        Assert.Equal(average[0], state["ema.w"]);
        Assert.Equal(average[1], state["ema.b"]);

        // The swap puts the average in the parameters; a second one puts the trained weights back.
        var trained = ps.Select(p => p.Value.Data.ToArray()).ToArray();
        Assert.NotEqual(trained[0], average[0]);
        sgd.SwapAverage();
        Assert.Equal(average[0], ps[0].Value.Data);
        Assert.Equal(average[1], ps[1].Value.Data);
        sgd.SwapAverage();
        Assert.Equal(trained[0], ps[0].Value.Data);
        Assert.Equal(trained[1], ps[1].Value.Data);
    }

    [Fact]
    public void TheSavedAverageResumesBitIdentically_AndIsRefusedWhereNoneIsKept()
    {
        var straight = Parameters();
        var adam = new Adam(straight, 0.01f);
        adam.AverageWeights(0.9f);
        var grads = new Recurrent.Tensors.Rng(5);
        for (int s = 0; s < 3; s++) Step(adam, grads);

        var resumed = Parameters();
        for (int i = 0; i < resumed.Length; i++) straight[i].Value.Span.CopyTo(resumed[i].Value.Span);
        var saved = adam.State().ToDictionary(e => e.Name, e => e.Value.Clone());
        var adam2 = new Adam(resumed, 0.01f);
        adam2.AverageWeights(0.9f);
        adam2.LoadState(saved, adam.StepCount);
        var grads2 = Recurrent.Tensors.Rng.FromState(grads.State);
        for (int s = 0; s < 3; s++)
        {
            Step(adam, grads);
            Step(adam2, grads2);
        }
        Assert.Equal(adam.State().Select(e => e.Value.Data), adam2.State().Select(e => e.Value.Data));

        var plain = new Adam(Parameters(), 0.01f);
        Assert.Contains("unexpected state entry 'ema.w'", Assert.Throws<ArgumentException>(() => plain.LoadState(saved, 3)).Message);
        Assert.Throws<InvalidOperationException>(plain.SwapAverage);
        Assert.Null(plain.AverageDecay);
        Assert.Contains("averaging decay must be in [0, 1)", Assert.Throws<ArgumentException>(() => plain.AverageWeights(1f)).Message);
        Assert.Contains("averaged already", Assert.Throws<ArgumentException>(() => adam.AverageWeights(0.5f)).Message);
    }

    [Fact]
    public void TrainValidatesWithTheAverage_LogsTheTrainedWeights_AndResumesExactly()
    {
        string[] flags = ["--ema", "0.9", "--eval-every", "4", "--log-every", "1"];
        var (whole, _, log, splitLog) = _f.TrainWholeAndResumed(16, flags);
        Assert.Equal(log.Select(e => (e.TrainLoss, e.ValLoss, e.RawValLoss)), splitLog.Select(e => (e.TrainLoss, e.ValLoss, e.RawValLoss)));

        var validations = log.Where(e => e.ValLoss != null).ToList();
        Assert.Equal([4L, 8, 12, 16], validations.Select(e => e.Step));
        Assert.All(validations, e => Assert.NotNull(e.RawValLoss));
        Assert.All(validations, e => Assert.NotEqual(e.ValLoss, e.RawValLoss));
        Assert.All(log.Where(e => e.ValLoss == null), e => Assert.Null(e.RawValLoss));

        // best/ holds the averaged weights: they score what the log says the average did.
        var best = validations.MinBy(e => e.ValLoss!.Value)!;
        var bestModel = Checkpoint.LoadModel(Path.Combine(whole, "best"));
        var corpus = Recurrent.Data.CharCorpus.Load(_f.Data, 0.1);
        Assert.Equal(best.ValLoss!.Value, Evaluator.MeanLoss(bestModel, corpus.Validation, 3, 8), 6);

        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(whole, "config.json"))))
            Assert.Equal(0.9, doc.RootElement.GetProperty("training").GetProperty("ema").GetDouble(), 6);
        var (code, _, error) = CharLmFixture.Run("train", "--resume", whole, "--steps", "20", "--ema", "0.5");
        Assert.NotEqual(0, code);
        Assert.Contains("--ema cannot change when resuming", error);
    }
}
