using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// A test that seeds the process-wide generator and then builds layers expects the draws between the two to be its
/// own, but xunit runs test classes in parallel and any of them may build a layer without an Rng at that moment. xunit
/// runs a collection with parallelization disabled after all the parallel ones have finished and alone, so the tests
/// that depend on the global stream live in this collection (and build every layer they compare on the test's thread).
/// </summary>
[CollectionDefinition("Rng.Global", DisableParallelization = true)]
public class GlobalRngCollection;

[Collection("Rng.Global")]
public class GlobalRngTests
{
    private static float[] Weights(IModule module) => module.Parameters().SelectMany(p => p.Value.Data).ToArray();

    /// <summary>Every kind of layer that takes an optional Rng, built without one: their weights, in order.</summary>
    private static float[] DefaultLayers() =>
    [
        .. Weights(new Linear(5, 4)),
        .. Weights(new Embedding(6, 3)),
        .. Weights(new RecurrentLayer(CellKind.Lstm, 3, 4, bidirectional: true)),
        .. Weights(RecurrentCell.Create(CellKind.Gru, 3, 4)),
        .. Weights(Attention.Create(AttentionKind.Bahdanau, 4, 4, 4)),
        .. Weights(new LinearChainCrf(3)),
        .. Weights(new SequencePooling(PoolingKind.Attention, 4)),
        .. Weights(new CharWordEncoder(7, 3, 2)),
    ];

    [Fact]
    public void TwoLayersBuiltWithoutAnRngStartFromDifferentWeights()
    {
        Assert.NotEqual(Weights(new Linear(16, 16)), Weights(new Linear(16, 16)));
        Assert.NotEqual(Weights(new RecurrentLayer(CellKind.Gru, 4, 4)), Weights(new RecurrentLayer(CellKind.Gru, 4, 4)));
    }

    [Fact]
    public void TheSameGlobalSeedGivesTheSameWeights()
    {
        Rng.SetGlobalSeed(1);
        float[] first = DefaultLayers();
        Rng.SetGlobalSeed(1);
        Assert.Equal(first, DefaultLayers());
        Rng.SetGlobalSeed(2);
        Assert.NotEqual(first, DefaultLayers());
    }

    [Fact]
    public void AnExplicitRngNeitherReadsNorAdvancesTheGlobalOne()
    {
        Rng.SetGlobalSeed(1);
        float[] explicitFirst = Weights(new RecurrentLayer(CellKind.Lstm, 3, 4, rng: new Rng(5)));
        float[] defaultAfter = Weights(new Linear(5, 4));

        Rng.SetGlobalSeed(99);
        _ = new Linear(8, 8); // the global stream moves on
        Assert.Equal(explicitFirst, Weights(new RecurrentLayer(CellKind.Lstm, 3, 4, rng: new Rng(5))));

        Rng.SetGlobalSeed(1);
        Assert.Equal(defaultAfter, Weights(new Linear(5, 4))); // the explicit layer took nothing from seed 1's stream
    }

    [Fact]
    public void ThreadsBuildingAtOnceTakeEachSeedOfTheStreamExactlyOnce()
    {
        // Four threads started together draw seeds as fast as they can, so that an unguarded generator would be read
        // and advanced by two at once (a seed taken twice, or one torn from two states) many times over.
        const int threads = 4, each = 100_000;
        Rng.SetGlobalSeed(3);
        var sequential = Enumerable.Range(0, threads * each).Select(_ => Rng.FromGlobal().NextUInt()).Order().ToArray();
        Rng.SetGlobalSeed(3);
        var drawn = new uint[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(k => new Thread(() =>
        {
            var mine = new uint[each];
            start.SignalAndWait();
            for (int i = 0; i < each; i++) mine[i] = Rng.FromGlobal().NextUInt();
            drawn[k] = mine;
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        Assert.Equal(sequential, drawn.SelectMany(d => d).Order().ToArray());
    }
}
