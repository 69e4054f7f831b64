using Recurrent.Benchmarks;
using Recurrent.Layers;
using Recurrent.Profiling;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

[Collection("Gemm.Threads")]
public class BenchRnnTests
{
    /// <summary>
    /// Two runs of the same training configuration, same seed and thread count, give identical losses. Sizes chosen so
    /// the input projection and weight-gradient GEMMs (≥ 2²⁰ multiply-adds) take the multi-threaded path at 2 threads.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm, 1)]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Gru, 2)]
    [InlineData(CellKind.RnnTanh, 2)]
    public void TrainingIsDeterministicForASeedAndThreadCount(CellKind cell, int threads)
    {
        using var threadsScope = new GemmThreadsScope(threads);
        float[] first = Losses(new CharLmBench(cell, hidden: 64, batch: 8, seqLen: 20), steps: 4);
        float[] second = Losses(new CharLmBench(cell, hidden: 64, batch: 8, seqLen: 20), steps: 4);
        Assert.Equal(first, second);
        Assert.True(first[^1] < first[0], $"loss should fall on a fixed batch: {string.Join(", ", first)}");
        // Another seed is another run: the comparison above can fail.
        float[] other = Losses(new CharLmBench(cell, hidden: 64, batch: 8, seqLen: 20, seed: 5), steps: 1);
        Assert.NotEqual(first[0], other[0]);
    }

    private static float[] Losses(CharLmBench model, int steps) => Enumerable.Range(0, steps).Select(_ => model.TrainStep()).ToArray();

    [Fact]
    public void TheLossStartsNearLogVocab()
    {
        // Random tokens and a fresh model: cross-entropy ≈ ln 65 = 4.17.
        float loss = new CharLmBench(CellKind.Lstm, hidden: 16, batch: 4, seqLen: 10).TrainStep();
        Assert.InRange(loss, 3.9f, 4.6f);
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    public void BreakdownTimesEveryPhaseOfTheRealStep(CellKind cell)
    {
        var result = StepBreakdown.Measure(new CharLmBench(cell, hidden: 16, batch: 2, seqLen: 5), 0, 3);
        Assert.Equal(StepProfiler.PhaseNames.Length, result.Phases.Count);
        Assert.All(result.Phases, p => Assert.True(p.Seconds >= 0, p.Name));
        StepPhase[] timed = [StepPhase.InputGemm, StepPhase.RecurrentGemmForward, StepPhase.CellsForward, StepPhase.RecurrentGemmBackward,
            StepPhase.CellsBackward, StepPhase.WeightGradientGemms, StepPhase.InputGradientGemm, StepPhase.EmbeddingHeadLoss, StepPhase.Optimizer];
        Assert.All(timed, p => Assert.True(result.Phases[(int)p].Seconds > 0, $"{p} got no time"));
        Assert.Equal(3, result.Step.Steps);
        Assert.Equal(StepFlops.Of(cell, 64, 16, 2, 2, 5, 65).Training, result.Phases.Sum(p => p.Flops), 6);
    }

    [Fact]
    public void ProfilerTimesOnlyTheStartingThreadAndOnlyWhileStarted()
    {
        StepProfiler.Mark(StepPhase.Layout);                       // not started: ignored
        StepProfiler.Start();
        Thread.Sleep(20);
        var other = new Thread(() => StepProfiler.Mark(StepPhase.Optimizer));
        other.Start();
        other.Join();
        StepProfiler.Mark(StepPhase.Layout);
        double[] seconds = StepProfiler.Stop();
        Assert.InRange(seconds[(int)StepPhase.Layout], 0.015, 10);
        Assert.Equal(0, seconds[(int)StepPhase.Optimizer]);
        Assert.Equal(seconds[(int)StepPhase.Layout], seconds.Sum());
    }

    [Fact]
    public void FlopsOfTheLstmStepAreTheReadmeFigure()
    {
        var m = new CharLmBench(CellKind.Lstm, hidden: 512, batch: 1, seqLen: 1);   // sizes below only enter the count
        var parts = StepFlops.Of(CellKind.Lstm, 64, 512, 2, 32, 100, 65);
        Assert.Equal(63.6, parts.Training / 1e9, 1);                                 // bench/README.md
        // By hand for one tiny layer: G·H = 8, I = 3, H = 2, B = 1, T = 2, V = 5: forward 2·2·8·3 + 2·(2·1·8·2) + 2·2·5·2.
        Assert.Equal(96 + 64 + 40, StepFlops.Of(CellKind.Lstm, 3, 2, 1, 1, 2, 5).Forward);
        Assert.Equal(StepFlops.Of(CellKind.Lstm, 64, 512, 2, 1, 1, 65).Forward, StepFlops.SampledToken(m));
    }

    [Fact]
    public void SamplingIsSeededAndStaysInTheVocabulary()
    {
        var model = new CharLmBench(CellKind.Lstm, hidden: 16, batch: 1, seqLen: 1);
        int[] a = new int[50], b = new int[50], c = new int[50];
        model.Sample(a, new Rng(2));
        model.Sample(b, new Rng(2));     // the state restarts from zero at every call
        model.Sample(c, new Rng(3));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, t => Assert.InRange(t, 0, CharLmBench.Vocab - 1));
        Assert.True(a.Distinct().Count() > 10, "an untrained model samples nearly uniformly");
    }

    [Theory]
    [InlineData(0.0f, 0)]
    [InlineData(0.19f, 0)]
    [InlineData(0.2f, 1)]
    [InlineData(0.99f, 2)]
    [InlineData(0.9999999f, 2)]
    public void DrawPicksTheFirstCumulativeAboveU(float u, int expected) =>
        Assert.Equal(expected, CharLmBench.Draw([0.2f, 0.3f, 0.49f], u)); // Σ = 0.99: the gap goes to the last

    [Fact]
    public void TimingRunsWarmupThenAtLeastMinSteps()
    {
        int calls = 0;
        var stats = StepTiming.Measure(() => calls++, minSeconds: 0, minSteps: 4);
        Assert.Equal(StepTiming.Warmup + 4, calls);
        Assert.Equal(4, stats.Steps);
        Assert.InRange(stats.Median, stats.Min, stats.Max);
        Assert.Equal(2.5, StepStats.MedianOf([4, 1, 3, 2]));
        Assert.Equal(3, StepStats.MedianOf([5, 1, 3]));
    }

    [Fact]
    public void FmaPeakIsPositive() => Assert.True(FmaPeak.Measure(1, seconds: 0.01) > 0);
}
