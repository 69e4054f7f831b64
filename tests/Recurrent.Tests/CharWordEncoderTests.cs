using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// CharWordEncoder: finite differences for every parameter on tiny sizes (numChars 6, E_c 3, H_c 2), through both of
/// RecurrentLayer's ways of reading the embedding; a word's features do not depend on the other words in its batch;
/// the output is h_n of a bidirectional LSTM run by hand on the padded batch; PyTorch's parameter names; errors.
/// </summary>
public class CharWordEncoderTests
{
    private const int Chars = 6, E = 3, H = 2;

    /// <summary>Words of lengths 1..4 (and again, for 8 words), with character 0 inside words too.</summary>
    private static int[][] Words(int count) =>
    [
        .. new int[][] { [3], [0, 5], [2, 2, 4], [1, 0, 5, 3] }.Concat(new int[][] { [4, 1, 0, 2], [5], [3, 3], [0, 1, 4] }).Take(count),
    ];

    [Theory]
    [InlineData(4)] // 4 words × 4 steps = 16 tokens < 4·6: the layer reads the embedding's output
    [InlineData(8)] // 32 tokens ≥ 4·6: the layer reads the embedding through the vocabulary
    public void BackwardMatchesFiniteDifferences(int count)
    {
        Assert.Equal(count == 8, EmbeddingLookup.Applies(Chars, 4 * count));
        var rng = new Rng(13);
        var encoder = new CharWordEncoder(Chars, E, H, rng);
        var words = Words(count);
        var r = GradCheck.RandomArray(rng, count * 2 * H); // loss = Σ y ⊙ r
        double Loss() => GradCheck.Dot(encoder.Forward(words).Span, r);

        encoder.ZeroGrad();
        encoder.Forward(words);
        encoder.Backward(new Tensor(r, count, 2 * H));
        foreach (var p in encoder.Parameters()) GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), Loss);
        Assert.True(encoder.Parameters().First().Grad.Data.Any(g => g != 0), "the embedding got no gradient");
    }

    [Theory]
    [InlineData(3)] // 21 tokens: dense
    [InlineData(4)] // 28 tokens: through the vocabulary
    public void PaddingAddsNoGradientToCharacterZero(int count)
    {
        // Character 0 appears in no word, but pads every word shorter than the longest.
        var encoder = new CharWordEncoder(Chars, E, H, new Rng(5));
        int[][] words = [.. new int[][] { [1], [2, 3, 4, 5, 1, 2, 3], [5, 5], [4, 1] }.Take(count)];
        Assert.Equal(count == 4, EmbeddingLookup.Applies(Chars, 7 * count));
        encoder.Forward(words);
        var dy = new Tensor(count, 2 * H);
        dy.Span.Fill(1f);
        encoder.Backward(dy);
        Assert.All(encoder.Parameters().First().Grad.Data.AsSpan(0, E).ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void AWordAloneHasTheFeaturesItHasInABatch()
    {
        var encoder = new CharWordEncoder(Chars, E, 5, new Rng(3));
        int[][] words = [[1, 2, 3, 4, 5, 0, 1], [4], [2, 5, 1], [0, 0, 3, 2, 1]];
        var batch = encoder.Forward(words).Clone();
        for (int w = 0; w < words.Length; w++)
        {
            var alone = encoder.Forward([words[w]]);
            Assert.Equal([1, 10], alone.Shape);
            for (int i = 0; i < 10; i++)
                Assert.True(Math.Abs(batch[w, i] - alone[0, i]) <= 1e-6f, $"word {w} feature {i}: {batch[w, i]} in the batch, {alone[0, i]} alone");
        }
    }

    [Theory]
    [InlineData(3)] // dense
    [InlineData(12)] // through the vocabulary
    public void ForwardIsTheBidirectionalLstmsFinalStatesOnThePaddedBatch(int count)
    {
        const int hidden = 4;
        var rng = new Rng(17);
        var encoder = new CharWordEncoder(Chars, E, hidden, rng);
        var words = new int[count][];
        for (int w = 0; w < count; w++)
        {
            words[w] = new int[1 + rng.NextInt(5)];
            for (int t = 0; t < words[w].Length; t++) words[w][t] = rng.NextInt(Chars);
        }
        var y = encoder.Forward(words);

        var embedding = new Embedding(Chars, E);
        var lstm = new RecurrentLayer(CellKind.Lstm, E, hidden, bidirectional: true);
        var theirs = embedding.Prefixed("char_embedding.").Concat(lstm.Prefixed("char_lstm.")).ToDictionary(p => p.Name);
        foreach (var p in encoder.Parameters()) p.Value.Data.CopyTo(theirs[p.Name].Value.Data, 0);

        int L = words.Max(w => w.Length), N = count;
        Assert.Equal(count == 12, EmbeddingLookup.Applies(Chars, L * N));
        var tokens = new int[L * N];
        for (int w = 0; w < N; w++)
            for (int t = 0; t < words[w].Length; t++) tokens[t * N + w] = words[w][t];
        var hN = lstm.Forward(embedding.Forward(tokens, L, N), lengths: words.Select(w => w.Length).ToArray()).HN;

        Assert.Equal([N, 2 * hidden], y.Shape);
        for (int w = 0; w < N; w++)
            for (int d = 0; d < 2; d++)
                for (int j = 0; j < hidden; j++)
                    Assert.Equal(hN[d, w, j], y[w, d * hidden + j], 1e-6f);
    }

    [Fact]
    public void ParametersArePyTorchsEmbeddingAndBidirectionalLstm()
    {
        var encoder = new CharWordEncoder(80, 25, 30);
        Assert.Equal(60, encoder.OutputSize);
        Assert.Equal(new[]
        {
            "char_embedding.weight[80, 25]",
            "char_lstm.weight_ih_l0[120, 25]", "char_lstm.weight_hh_l0[120, 30]", "char_lstm.bias_ih_l0[120]", "char_lstm.bias_hh_l0[120]",
            "char_lstm.weight_ih_l0_reverse[120, 25]", "char_lstm.weight_hh_l0_reverse[120, 30]",
            "char_lstm.bias_ih_l0_reverse[120]", "char_lstm.bias_hh_l0_reverse[120]",
        }, encoder.Parameters().Select(p => $"{p.Name}{Tensor.Describe(p.Shape)}"));
        float bound = 1f / MathF.Sqrt(30);
        Assert.All(encoder.Parameters().Skip(1).SelectMany(p => p.Value.Data), v => Assert.InRange(v, -bound, bound));
        Assert.True(encoder.Parameters().First().Value.Data.Max() > 2f, "the embedding is not N(0, 1)");
    }

    [Fact]
    public void BuffersAreReusedWhileTheWordCountRepeats()
    {
        var encoder = new CharWordEncoder(Chars, E, H, new Rng(2));
        var y = encoder.Forward([[1, 2], [3]]);
        Assert.Same(y, encoder.Forward([[1, 2, 3, 4], [5]])); // longer words, same count
        Assert.Same(y, encoder.Forward([[1], [5]]));
        Assert.Equal([3, 2 * H], encoder.Forward([[1], [5], [2]]).Shape);
    }

    [Fact]
    public void BadWordsAreNamed()
    {
        var encoder = new CharWordEncoder(Chars, E, H, new Rng(1));
        Assert.Equal("CharWordEncoder(6, 3, 2).Forward: word 1 has character id 6 at position 2, outside [0, 6)",
            Assert.Throws<ArgumentException>(() => encoder.Forward([[1], [2, 3, 6]])).Message);
        Assert.Contains("word 0 has character id -1 at position 0", Assert.Throws<ArgumentException>(() => encoder.Forward([[-1]])).Message);
        Assert.Contains("word 1 has no characters", Assert.Throws<ArgumentException>(() => encoder.Forward([[1], []])).Message);
        Assert.Contains("no words", Assert.Throws<ArgumentException>(() => encoder.Forward([])).Message);
        Assert.Throws<InvalidOperationException>(() => encoder.Backward(new Tensor(1, 2 * H)));
        encoder.Forward([[1], [2]]);
        Assert.Equal("CharWordEncoder(6, 3, 2).Backward: expected shape [2, 4], got [2, 3]",
            Assert.Throws<ShapeException>(() => encoder.Backward(new Tensor(2, 3))).Message);
        Assert.Throws<ArgumentException>(() => new CharWordEncoder(0, 3, 2));
    }
}
