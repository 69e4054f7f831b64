using Recurrent.Data;
using Xunit;

namespace Recurrent.Tests;

public class WordBatchesTests
{
    /// <summary>Lengths 1..60 in a scrambled order, as sentence lengths come.</summary>
    private static int[] Lengths(int n, int seed = 5)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rnd.Next(1, 61)).ToArray();
    }

    private static List<int[]> Epoch(BucketedBatches b, long epoch) =>
        Enumerable.Range(0, b.BatchesPerEpoch).Select(i => b.Batch(epoch, i)).ToList();

    [Fact]
    public void EveryExampleOnceAnEpoch_OnlyTheLastBatchOfTheSortedOrderIsShort()
    {
        int[] lengths = Lengths(1003);
        var b = new BucketedBatches(lengths, batchSize: 8, seed: 42);
        Assert.Equal(126, b.BatchesPerEpoch); // ⌈1003 / 8⌉
        for (long epoch = 0; epoch < 3; epoch++)
        {
            var batches = Epoch(b, epoch);
            Assert.Equal(Enumerable.Range(0, 1003), batches.SelectMany(x => x).Order());
            Assert.Equal(1, batches.Count(x => x.Length != 8));
            Assert.Equal(3, batches.Single(x => x.Length != 8).Length); // 1003 = 125·8 + 3
        }
    }

    [Fact]
    public void OrderIsAPureFunctionOfSeedAndEpoch()
    {
        int[] lengths = Lengths(500);
        var a = new BucketedBatches(lengths, 16, seed: 7);
        var fresh = new BucketedBatches(lengths, 16, seed: 7);
        var e0 = Epoch(a, 0);
        var e1 = Epoch(a, 1);
        // A resumed run asks for epoch 1 first, in the middle of the epoch, then goes back: the same batches.
        Assert.Equal(e1[5], fresh.Batch(1, 5));
        Assert.Equal(e0, Epoch(fresh, 0));
        Assert.Equal(e1, Epoch(fresh, 1));
        // Epochs differ, and so do seeds.
        Assert.NotEqual(e0, e1);
        Assert.NotEqual(e0, Epoch(new BucketedBatches(lengths, 16, seed: 8), 0));
        // Which examples meet in a batch changes between epochs (not just the order of the same batches).
        var sets0 = e0.Select(x => string.Join(",", x.Order())).ToHashSet();
        Assert.True(e1.Count(x => sets0.Contains(string.Join(",", x.Order()))) < e1.Count / 2);
        // Asking twice gives equal arrays but not the same one: the cache cannot be changed through them.
        int[] first = a.Batch(1, 0);
        first[0] = -1;
        Assert.NotEqual(-1, a.Batch(1, 0)[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Batch(0, a.BatchesPerEpoch));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Batch(-1, 0));
    }

    [Fact]
    public void BatchesAreSortedByLengthAndPadLittle()
    {
        int[] lengths = Lengths(2000);
        var b = new BucketedBatches(lengths, 10, seed: 1);
        long Padding(IEnumerable<int[]> batches) =>
            batches.Sum(x => (long)x.Max(i => lengths[i]) * x.Length - x.Sum(i => lengths[i]));

        var batches = Epoch(b, 3);
        foreach (var x in batches) Assert.True(x.Select(i => lengths[i]).SequenceEqual(x.Select(i => lengths[i]).Order()));
        // Random batches of 10 lengths uniform in 1..60 pad about 10·(E[max] − E[mean]) ≈ 10·(55.5 − 30.5) per batch;
        // in a chunk of 500 sorted lengths neighbours differ by ~0.12, so a batch pads ~10·0.5 tokens. Allow 10× that.
        var rnd = new Random(3);
        var random = Enumerable.Range(0, 2000).OrderBy(_ => rnd.Next()).Chunk(10);
        long bucketed = Padding(batches), shuffled = Padding(random);
        Assert.True(bucketed * 20 < shuffled, $"bucketed batches pad {bucketed} tokens, random ones {shuffled}");
        Assert.True(bucketed < 200 * 10 * 5, $"bucketed batches pad {bucketed} tokens");
    }

    [Fact]
    public void SequentialCoversEveryExampleInLengthOrder()
    {
        int[] lengths = [5, 2, 9, 2, 7, 1, 5];
        var batches = BucketedBatches.Sequential(lengths, 3);
        // Sorted by (length, index): 5(1) 1(2) 3(2) 0(5) 6(5) 4(7) 2(9).
        Assert.Equal([[5, 1, 3], [0, 6, 4], [2]], batches);
        Assert.Empty(BucketedBatches.Sequential([], 3));
    }

    [Fact]
    public void PaddedBatchIsTimeMajorWithPadAfterEachEnd()
    {
        int[][] sequences = [[10, 11, 12], [20], [30, 31], [40, 41, 42, 43]];
        int[] indices = [2, 0, 1];
        Assert.Equal(3, PaddedBatch.MaxLength(sequences, indices));
        var tokens = Enumerable.Repeat(-7, 12).ToArray();
        var lengths = new[] { -7, -7, -7, -7 };
        int t = PaddedBatch.Fill(sequences, indices, tokens, lengths, pad: 0);
        Assert.Equal(3, t);
        // tokens[t·B + b], B = 3: columns are sequences 2, 0, 1.
        Assert.Equal([30, 10, 20,
                      31, 11, 0,
                      0, 12, 0,
                      -7, -7, -7], tokens); // past T·B untouched
        Assert.Equal([2, 3, 1, -7], lengths);

        Assert.Throws<ArgumentException>(() => PaddedBatch.Fill(sequences, [3, 0], new int[7], new int[2])); // needs 4·2
        Assert.Throws<ArgumentException>(() => PaddedBatch.Fill(sequences, [3, 0], new int[8], new int[1]));
        Assert.Throws<ArgumentException>(() => PaddedBatch.Fill(sequences, [], new int[8], new int[1]));
    }
}
