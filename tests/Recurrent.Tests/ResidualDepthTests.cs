using Recurrent.Analysis;
using Recurrent.Data;
using Xunit;

namespace Recurrent.Tests;

/// <summary>The experiment's library side: the unigram plateau, the schedule of a run, bad settings.</summary>
public class ResidualDepthTests
{
    [Fact]
    public void UnigramLossIsTheSmoothedCrossEntropyOfTheValidationSlice()
    {
        // 10 characters, the last 2 ("ab") validate; training "aaaaaaab" has a = 7, b = 1 of 8, V = 2:
        // p(a) = 8/10, p(b) = 2/10.
        var corpus = CharCorpus.FromText("aaaaaaabab", 0.2, "text");
        Assert.Equal(-(Math.Log(0.8) + Math.Log(0.2)) / 2, ResidualDepth.UnigramLoss(corpus, 100), 12);
        Assert.Equal(-Math.Log(0.8), ResidualDepth.UnigramLoss(corpus, 1), 12);
    }

    [Fact]
    public void ARunIsEvaluatedAtZeroEveryFewStepsAndAtTheEnd()
    {
        var corpus = CharCorpus.FromText(CharLmFixture.Text, 0.1, "text");
        var settings = new ResidualDepthSettings(Hidden: 5, Embedding: 3, SeqLen: 6, Batch: 2, Steps: 7, EvalEvery: 3, ValidationChars: 30);
        var heard = new List<long>();
        var run = ResidualDepth.Train(corpus, 2, residual: true, settings, r => heard.Add(r.Curve[^1].Step));
        Assert.Equal(new long[] { 0, 3, 6, 7 }, run.Curve.Select(p => p.Step));
        Assert.Equal(heard, run.Curve.Select(p => p.Step));
        Assert.Equal(7, run.Steps);
        Assert.Equal(run.Curve.Min(p => p.ValLoss), run.BestValLoss);
        Assert.Equal(run.Curve[^1].ValLoss, run.FinalValLoss);
        Assert.True(run.Residual);
        Assert.Equal(2, run.Layers);

        Assert.Throws<ArgumentException>(() => ResidualDepth.Train(corpus, 0, false, settings));
        Assert.Throws<ArgumentException>(() => ResidualDepth.Train(corpus, 2, false, settings with { EvalEvery = 0 }));
        Assert.Throws<ArgumentException>(() => ResidualDepth.Train(CharCorpus.FromText(CharLmFixture.Text, 0, "text"), 2, false, settings));
    }
}
