using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

public class LearningRateScheduleTests
{
    [Fact]
    public void StepDecayFollowsCharRnn()
    {
        // char-rnn: at the end of each epoch k ≥ learning_rate_decay_after, lr *= decay.
        var s = new LearningRateSchedule("step", Decay: 0.97, DecayAfter: 10);
        Assert.Equal(1, s.Factor(0, 0, 0));
        Assert.Equal(1, s.Factor(950, 9.99, 0));
        Assert.Equal(0.97, s.Factor(1000, 10, 0), 12);
        Assert.Equal(0.97 * 0.97, s.Factor(1120, 11.2, 0), 12);
        // Decaying "after epoch 0" still starts at the end of the first epoch.
        Assert.Equal(1, new LearningRateSchedule("step", 0.5, 0).Factor(5, 0.5, 0));
        Assert.Equal(0.5, new LearningRateSchedule("step", 0.5, 0).Factor(10, 1, 0));
    }

    [Fact]
    public void CosineRunsFromOneToTheFloor()
    {
        var s = new LearningRateSchedule("cosine", MinFactor: 0.1);
        Assert.Equal(1, s.Factor(0, 0, 0), 12);
        Assert.Equal(0.55, s.Factor(50, 0.5, 0.5), 12);
        Assert.Equal(0.1, s.Factor(100, 1, 1), 12);
        Assert.Equal(0.1, s.Factor(120, 1.2, 1.5), 12);   // past the limit (a resumed run): stays at the floor
    }

    [Fact]
    public void WarmupRampsLinearlyThenHandsOver()
    {
        var s = new LearningRateSchedule(Warmup: 4);
        Assert.False(s.IsConstant);
        Assert.Equal([0.25, 0.5, 0.75, 1, 1], Enumerable.Range(0, 5).Select(i => s.Factor(i, 0, 0)));
        Assert.True(new LearningRateSchedule().IsConstant);
    }

    [Fact]
    public void CosineNeedsALimitAndBadValuesAreNamed()
    {
        var settings = new TrainingSettings { Data = "", DataSha256 = "", Optimizer = "adam", LearningRate = 1e-3, SeqLen = 1, Batch = 1 };
        var cosine = new LearningRateSchedule("cosine");
        var e = Assert.Throws<ArgumentException>(() => cosine.RequireLimit(settings));
        Assert.Contains("--steps, --epochs or --time", e.Message);
        cosine.RequireLimit(settings with { MaxSteps = 10 });
        Assert.Contains("lr_decay", Assert.Throws<ArgumentException>(() => (settings with { Schedule = new("step", Decay: 1.5) }).Validate()).Message);
        Assert.Contains("'linear'", Assert.Throws<ArgumentException>(() => (settings with { Schedule = new("linear") }).Validate()).Message);
        Assert.Contains("weight decay", Assert.Throws<ArgumentException>(() => (settings with { WeightDecay = -1 }).Validate()).Message);
    }
}
