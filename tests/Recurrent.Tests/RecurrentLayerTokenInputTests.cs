using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// RecurrentLayer.Forward(embedding, tokens, shape) is Forward(embedding.Forward(tokens, shape)) computed through the
/// vocabulary: the same outputs to the bit (each gate pre-activation is the same dot product), the same gradients up
/// to the order of their sums, the embedding's gradient accumulated by the layer, and the same bits at any thread
/// count. Sets Gemm.Threads, so it runs alone.
/// </summary>
[Collection("Gemm.Threads")]
public class RecurrentLayerTokenInputTests
{
    private const int Vocabulary = 7, E = 5, H = 136, T = 6, B = 9; // 54 tokens ≥ 4·7: the lookup applies

    [Theory]
    [InlineData(CellKind.Lstm, false, false, false)]
    [InlineData(CellKind.Gru, true, false, false)]
    [InlineData(CellKind.RnnTanh, false, true, false)]
    [InlineData(CellKind.RnnRelu, true, true, true)]
    [InlineData(CellKind.Gru, false, true, true)]
    public void MatchesTheEmbeddingsOutputFedIn(CellKind cell, bool bidirectional, bool batchFirst, bool ragged)
    {
        var lookup = Run(cell, bidirectional, batchFirst, ragged, throughTokens: true, threads: 2);
        var dense = Run(cell, bidirectional, batchFirst, ragged, throughTokens: false, threads: 2);
        Assert.Equal(dense.Forward, lookup.Forward);
        Assert.Equal(dense.Gradients.Length, lookup.Gradients.Length);
        for (int i = 0; i < dense.Gradients.Length; i++)
            for (int j = 0; j < dense.Gradients[i].Length; j++)
                Assert.True(Math.Abs(dense.Gradients[i][j] - lookup.Gradients[i][j]) <= 1e-5f * (1 + Math.Abs(dense.Gradients[i][j])),
                    $"gradient {i}[{j}]: {lookup.Gradients[i][j]} through the vocabulary, {dense.Gradients[i][j]} dense");
        Assert.True(lookup.Gradients[^1].Any(g => g != 0), "the embedding got no gradient");
    }

    [Fact]
    public void ThreadCountChangesNoBit()
    {
        var one = Run(CellKind.Lstm, bidirectional: true, batchFirst: true, ragged: true, throughTokens: true, threads: 1);
        var two = Run(CellKind.Lstm, bidirectional: true, batchFirst: true, ragged: true, throughTokens: true, threads: 2);
        Assert.Equal(one.Forward, two.Forward);
        Assert.Equal(one.Gradients, two.Gradients);
    }

    [Fact]
    public void ALargeVocabularyGoesThroughTheEmbeddingsOutput()
    {
        var rng = new Rng(3);
        var embedding = new Embedding(100, E, rng);   // 100 words against 6 tokens: no lookup
        var layer = new RecurrentLayer(CellKind.Gru, E, 8, rng: rng);
        int[] tokens = [5, 99, 0, 42, 5, 7];
        var output = layer.Forward(embedding, tokens, [3, 2]);
        Assert.False(layer.ReadsThroughVocabulary);
        var expected = new RecurrentLayer(CellKind.Gru, E, 8, rng: new Rng(0));
        foreach (var (mine, theirs) in expected.Parameters().Zip(layer.Parameters())) theirs.Value.Data.CopyTo(mine.Value.Data, 0);
        Assert.Equal(expected.Forward(embedding.Forward(tokens, 3, 2)).Output.Data, output.Output.Data);

        var dOutput = new Tensor(output.Output.Shape);
        dOutput.Span.Fill(1f);
        var grads = layer.Backward(dOutput);
        Assert.Equal(0, grads.DInput.Length);
        Assert.Equal(0f, embedding.Weight.Grad.Data[1 * E]);           // token 1 never appears
        Assert.NotEqual(0f, embedding.Weight.Grad.Data[99 * E]);
    }

    [Fact]
    public void BadTokensAndShapesAreNamed()
    {
        var embedding = new Embedding(Vocabulary, E);
        var layer = new RecurrentLayer(CellKind.Lstm, E, 4);
        Assert.Contains("token 9 at position 1 is outside [0, 7)",
            Assert.Throws<ArgumentException>(() => layer.Forward(embedding, [0, 9], [2, 1])).Message);
        Assert.Contains("do not fill shape [2, 2]", Assert.Throws<ShapeException>(() => layer.Forward(embedding, [0, 1], [2, 2])).Message);
        Assert.Contains("the layer's input 3",
            Assert.Throws<ShapeException>(() => new RecurrentLayer(CellKind.Lstm, 3, 4).Forward(embedding, [0], [1, 1])).Message);
    }

    private static (float[][] Forward, float[][] Gradients) Run(CellKind cell, bool bidirectional, bool batchFirst, bool ragged,
        bool throughTokens, int threads)
    {
        using var threadsScope = new GemmThreadsScope(threads);
        var rng = new Rng(5);
        var embedding = new Embedding(Vocabulary, E, rng);
        var layer = new RecurrentLayer(cell, E, H, numLayers: 2, bidirectional: bidirectional, batchFirst: batchFirst, rng: rng);
        int[] tokens = Enumerable.Range(0, T * B).Select(_ => rng.NextInt(Vocabulary)).ToArray();
        int[] shape = batchFirst ? [B, T] : [T, B];
        int[]? lengths = ragged ? Enumerable.Range(0, B).Select(b => T - b % 4).ToArray() : null;
        var output = throughTokens
            ? layer.Forward(embedding, tokens, shape, lengths: lengths)
            : layer.Forward(embedding.Forward(tokens, shape), lengths: lengths);
        Assert.Equal(throughTokens, layer.ReadsThroughVocabulary);
        float[][] forward = [output.Output.Data.ToArray(), output.HN.Data.ToArray(), output.CN?.Data.ToArray() ?? []];

        var dOutput = new Tensor(output.Output.Shape);
        for (int i = 0; i < dOutput.Length; i++) dOutput.Data[i] = rng.Uniform(-1f, 1f);
        var grads = layer.Backward(dOutput);
        if (throughTokens) Assert.Equal(0, grads.DInput.Length);
        else embedding.Backward(grads.DInput);
        return (forward, [grads.DH0.Data.ToArray(), .. layer.Parameters().Select(p => p.Grad.Data.ToArray()),
            embedding.Weight.Grad.Data.ToArray()]);
    }
}
