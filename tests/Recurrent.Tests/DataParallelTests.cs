using Recurrent.Data;
using Recurrent.Distributed;
using Recurrent.Layers;
using Recurrent.Metrics;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>Data-parallel training with the ranks as threads of this process (<see cref="ThreadRanks"/>); the same
/// code under mpirun is tested in <see cref="MpiTrainingTests"/>.</summary>
public class DataParallelTests
{
    private const string Text = "It was the best of times, it was the worst of times, it was the age of wisdom, " +
                                "it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity.";

    [Fact]
    public void SharesAreContiguousCoverEverythingAndDifferByAtMostOne()
    {
        for (int size = 1; size <= 4; size++)
            for (int count = 0; count <= 11; count++)
            {
                int next = 0;
                var lengths = new List<int>();
                for (int rank = 0; rank < size; rank++)
                {
                    var (start, length) = CollectiveExtensions.Share(count, rank, size);
                    Assert.Equal(next, start);
                    next += length;
                    lengths.Add(length);
                }
                Assert.Equal(count, next);
                Assert.True(lengths.Max() - lengths.Min() <= 1);
            }
    }

    private sealed record Run(float[] Weights, float[] Carried, float[] Losses, double Validation);

    // steps of a 2-layer LSTM char-lm (no dropout) over Text, on the given ranks.
    private static Run Train(ICollective group, int batch, int steps, bool overlap = false)
    {
        var corpus = CharCorpus.FromText(Text, 0.2, "text");
        var config = new CharLanguageModelConfig(CellKind.Lstm, corpus.Vocabulary, 6, 8, 2, 0);
        var model = new CharLanguageModel(config, new Rng(5));
        var settings = new TrainingSettings { Data = "text", DataSha256 = "", Optimizer = "adam", LearningRate = 0.01, SeqLen = 7, Batch = batch };
        var optimizer = Trainer.CreateOptimizer(settings, model.Parameters());
        using var trainer = new Trainer(model, optimizer, settings, corpus, new TrainingProgress { SampleRngState = new Rng(1).State },
            model.NewState(batch), group, overlap);
        var losses = new float[steps];
        for (int i = 0; i < steps; i++) losses[i] = trainer.Step().Loss;
        double validation = trainer.Validate().Loss;
        var carried = trainer.ExtraState().SelectMany(t => t.Value.Span.ToArray()).ToArray();
        return new Run(model.Parameters().SelectMany(p => p.Value.Span.ToArray()).ToArray(), carried, losses, validation);
    }

    [Theory]
    [InlineData(4, 2)] // two streams a rank
    [InlineData(5, 2)] // three and two: the shares are weighted by their size
    [InlineData(3, 3)]
    public void RanksTakeTheStepsOfOneProcessOnTheWholeBatch(int batch, int ranks)
    {
        var one = Train(SingleProcess.Instance, batch, 12);
        var many = ThreadRanks.Run(ranks, group => Train(group, batch, 12));
        foreach (var run in many)
        {
            // Equal up to float32 summation order: the weight gradients' sums over the batch are split by rank.
            AssertClose(one.Weights, run.Weights, 2e-5f);
            AssertClose(one.Losses, run.Losses, 2e-5f);
            AssertClose(one.Carried, run.Carried, 2e-5f);
            Assert.Equal(one.Validation, run.Validation, 4);
        }
        // Every rank holds the same bits: the sums are the same on every rank.
        foreach (var run in many.Skip(1)) Assert.Equal(many[0].Weights, run.Weights);
    }

    [Fact]
    public void OverlappingTheReductionWithBackwardChangesNoBit()
    {
        var after = ThreadRanks.Run(2, group => Train(group, 4, 10, overlap: false));
        var during = ThreadRanks.Run(2, group => Train(group, 4, 10, overlap: true));
        Assert.Equal(after[0].Weights, during[0].Weights);
        Assert.Equal(after[1].Weights, during[1].Weights);
        Assert.Equal(after[0].Losses, during[0].Losses);
    }

    [Fact]
    public void ABatchSmallerThanTheRanksIsRefused()
    {
        var error = Assert.Throws<AggregateException>(() => ThreadRanks.Run(3, group => Train(group, 2, 1)));
        Assert.Contains("cannot be shared by 3 ranks", error.InnerException!.Message);
    }

    [Fact]
    public void RanksThatReadDifferentDataAreRefusedOnEveryRank()
    {
        var model = new Parameter("w", 2);
        var errors = ThreadRanks.Run(2, group =>
        {
            var settings = new TrainingSettings { Data = "t", DataSha256 = group.Rank == 0 ? "aa" : "bb", Optimizer = "adam" };
            try { SameRun.Require(group, settings, new Module([model]), new TrainingProgress()); return ""; }
            catch (InvalidDataException e) { return e.Message; }
        });
        Assert.All(errors, e => Assert.StartsWith("rank 1 is not running what rank 0 runs: its training data sha256 bb, rank 0's training data sha256 aa", e));
        ThreadRanks.Run(2, group =>
        {
            SameRun.Require(group, new TrainingSettings { Data = "t", DataSha256 = "aa", Optimizer = "adam" }, new Module([model]), new TrainingProgress());
            return 0;
        });
    }

    private sealed class Module(Parameter[] parameters) : IModule
    {
        public IEnumerable<Parameter> Parameters() => parameters;
    }

    [Fact]
    public void ReducedGradientsAreTheMeanOverAllLossTerms()
    {
        // Rank 0's gradient is the mean over 1 term, rank 1's over 3: the batch's mean is (1·g0 + 3·g1) / 4.
        var sums = ThreadRanks.Run(2, group =>
        {
            var p = new Parameter("w", 3);
            float[] g = group.Rank == 0 ? [4, 8, -2] : [1, 0, 2];
            g.CopyTo(p.Grad.Span);
            using var reducer = new GradientReducer(group, [p], bucketFloats: 2);
            reducer.Begin(group.Rank == 0 ? 1 : 3, 4);
            reducer.Finish();
            return p.Grad.Span.ToArray();
        });
        Assert.Equal([1.75f, 2f, 1f], sums[0]);
        Assert.Equal(sums[0], sums[1]);
    }

    [Fact]
    public void BucketsRunFromTheLastParameterToTheFirstAndSplitAtTheirSize()
    {
        Parameter[] parameters = [new("a", 3), new("b", 2), new("c", 2), new("d", 5)];
        using var reducer = new GradientReducer(SingleProcess.Instance, parameters, bucketFloats: 4);
        Assert.Equal(3, reducer.Buckets); // [d], [c, b], [a]
    }

    [Fact]
    public void EntityCountsSummedOverRanksAreThoseOfTheWholeData()
    {
        string[][] gold = [["B-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG"], ["B-PER", "I-PER"], ["B-MISC"]];
        string[][] predicted = [["B-PER", "O", "O"], ["O", "B-ORG", "I-ORG"], ["B-LOC", "I-LOC"], ["B-MISC"]];
        var whole = new EntityMetrics();
        for (int i = 0; i < gold.Length; i++) whole.Add(gold[i], predicted[i]);
        var parts = ThreadRanks.Run(2, group =>
        {
            var mine = new EntityMetrics();
            foreach (int i in group.Mine(Enumerable.Range(0, gold.Length))) mine.Add(gold[i], predicted[i]);
            mine.SumOver(group, EntityMetrics.TypesOf(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC", "B-DATE"]));
            return mine;
        });
        foreach (var part in parts)
        {
            Assert.Equal(whole.F1, part.F1);
            Assert.Equal(whole.TokenAccuracy, part.TokenAccuracy);
            Assert.Equal(whole.Sentences, part.Sentences);
            Assert.Equal(whole.PerType, part.PerType); // DATE, never seen, is not listed
        }
    }

    [Fact]
    public void ConfusionAndBleuSummedOverRanksAreThoseOfTheWholeData()
    {
        (int Gold, int Predicted)[] pairs = [(0, 0), (1, 0), (2, 2), (1, 1), (0, 2)];
        string[][] hypotheses = [["a", "b", "c", "d"], ["the", "cat", "sat", "on", "it"], ["x"]];
        string[][][] references = [[["a", "b", "c", "e"]], [["the", "cat", "sat", "on", "the", "mat"], ["a", "cat", "sat"]], [["x", "y"]]];
        var wholeConfusion = new ClassificationMetrics(3);
        foreach (var (g, p) in pairs) wholeConfusion.Add(g, p);
        var wholeBleu = new BleuStatistics();
        for (int i = 0; i < hypotheses.Length; i++) wholeBleu.Add(hypotheses[i], references[i]);
        var parts = ThreadRanks.Run(2, group =>
        {
            var confusion = new ClassificationMetrics(3);
            foreach (var (g, p) in group.Mine(pairs)) confusion.Add(g, p);
            confusion.SumOver(group);
            var bleu = new BleuStatistics();
            foreach (int i in group.Mine(Enumerable.Range(0, hypotheses.Length))) bleu.Add(hypotheses[i], references[i]);
            bleu.SumOver(group);
            return (confusion, bleu);
        });
        foreach (var (confusion, bleu) in parts)
        {
            Assert.Equal(wholeConfusion.Confusion, confusion.Confusion);
            Assert.Equal(wholeConfusion.Count, confusion.Count);
            Assert.Equal(wholeBleu.Score().Bleu, bleu.Score().Bleu);
            Assert.Equal(wholeBleu.Sentences, bleu.Sentences);
        }
    }

    [Fact]
    public void RanksAboveZeroDrawDropoutFromStreamsOfTheirOwn()
    {
        uint[] state = new Rng(9).State;
        Assert.Same(state, RankRng.For(state, 0));
        Assert.NotEqual(state, RankRng.For(state, 1));
        Assert.NotEqual(RankRng.For(state, 1), RankRng.For(state, 2));
        Assert.Equal(RankRng.For(state, 1), RankRng.For(new Rng(9).State, 1));
    }

    [Fact]
    public void AllGatherGivesEveryRankEveryRanksBytes()
    {
        var all = ThreadRanks.Run(3, group => group.AllGather(Enumerable.Repeat((byte)group.Rank, group.Rank + 1).ToArray()));
        foreach (var gathered in all)
            Assert.Equal([[0], [1, 1], [2, 2, 2]], gathered);
    }

    [Fact]
    public void TrainingWithoutMpirunNeverLoadsLibmpi()
    {
        if (!OperatingSystem.IsLinux()) return; // /proc/self/maps lists the loaded libraries
        string dir = Directory.CreateTempSubdirectory("nompi").FullName;
        string text = Path.Combine(dir, "text.txt");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat(Text, 3)));
        var (code, _, err) = CharLmFixture.Run("train", "--data", text, "--hidden", "8", "--batch", "2", "--steps", "3",
            "--threads", "1", "--out", Path.Combine(dir, "model"));
        Assert.True(code == 0, err);
        Assert.DoesNotContain("libmpi", File.ReadAllText("/proc/self/maps"));
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])),
                $"element {i}: {expected[i]} against {actual[i]}");
    }
}
