using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class CharLanguageModelTests
{
    private static CharLanguageModel Tiny(CellKind cell, int embedding, int layers = 2, float dropout = 0, ulong seed = 5) =>
        new(new CharLanguageModelConfig(cell, CharLmTesting.Letters(6), embedding, 5, layers, dropout), new Rng(seed));

    /// <summary>[B, T] batch-first (PyTorch's files) to [T, B] time-major (the model's layout).</summary>
    private static int[] TimeMajor(int[] batchFirst, int B, int T)
    {
        var r = new int[B * T];
        for (int b = 0; b < B; b++) for (int t = 0; t < T; t++) r[t * B + b] = batchFirst[b * T + t];
        return r;
    }

    [Fact]
    public void MatchesPyTorchCharLmReference()
    {
        var file = SafeTensorsFile.Read(Path.Combine(SafeTensorsTests.ReferenceDir(), "charlm_lstm.safetensors"));
        var config = new CharLanguageModelConfig(CellKind.Lstm, CharLmTesting.Letters(65), 16, 32, 2, 0);
        var model = new CharLanguageModel(config, new Rng(1));
        StateDict.Load(file, model, strict: false); // the file also holds tokens, expectations and gradients
        Assert.All(model.Parameters(), p => Assert.True(file.Contains(p.Name), p.Name));

        int[] shape = file.Shape("tokens");
        int B = shape[0], T = shape[1], V = 65;
        int[] tokens = TimeMajor(file.Indices("tokens"), B, T), targets = TimeMajor(file.Indices("targets"), B, T);
        var logits = model.Forward(tokens, T, B);
        float loss = model.Loss(targets);
        model.ZeroGrad();
        model.Backward();

        var expectedLogits = file.Float("expected.logits"); // [B, T, V]
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int v = 0; v < V; v++)
                    AssertClose(expectedLogits.Data[(b * T + t) * V + v], logits.Data[(t * B + b) * V + v], "logits");
        AssertClose(file.Float("expected.loss").Data[0], loss, "loss");
        foreach (var p in model.Parameters())
        {
            var expected = file.Float("grad." + p.Name, p.Shape);
            for (int i = 0; i < expected.Length; i++) AssertClose(expected.Data[i], p.Grad.Data[i], "grad." + p.Name);
        }
    }

    private static void AssertClose(float expected, float actual, string what)
    {
        if (!(Math.Abs(actual - expected) <= 1e-5 + 1e-4 * Math.Abs(expected)))
            Assert.Fail($"{what}: expected {expected:G9}, got {actual:G9}");
    }

    [Theory]
    [InlineData(CellKind.Lstm, 4, 0f)]
    [InlineData(CellKind.Lstm, 0, 0.3f)]
    [InlineData(CellKind.Gru, 3, 0.25f)]
    [InlineData(CellKind.RnnTanh, 0, 0f)]
    [InlineData(CellKind.RnnRelu, 3, 0f)]
    public void BackwardMatchesFiniteDifferences(CellKind cell, int embedding, float dropout)
    {
        CharLmTesting.CheckGradients(Tiny(cell, embedding, dropout: dropout), T: 3, B: 2);
    }

    [Fact]
    public void ParameterNamesAndShapesArePyTorchs()
    {
        var lstm = Tiny(CellKind.Lstm, 4);
        Assert.Equal(new[]
        {
            "embedding.weight",
            "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
            "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1",
            "head.weight", "head.bias",
        }, lstm.Parameters().Select(p => p.Name));
        Assert.Equal(new[] { 20, 4 }, lstm.Parameters().First(p => p.Name == "lstm.weight_ih_l0").Shape);
        Assert.Equal(new[] { 20, 5 }, lstm.Parameters().First(p => p.Name == "lstm.weight_ih_l1").Shape);
        // nn.GRU(6, 5) one-hot, nn.Linear(5, 6): 3·5·(6+5+2) + 6·5 + 6
        var gru = Tiny(CellKind.Gru, 0, layers: 1);
        Assert.Equal(3 * 5 * (6 + 5 + 2) + 6 * 5 + 6, gru.ParameterCount());
        Assert.StartsWith("gru.", gru.Parameters().First().Name);
        Assert.StartsWith("rnn.", Tiny(CellKind.RnnRelu, 0).Parameters().First().Name);
    }

    [Fact]
    public void CarriedStateMakesChunksEqualOneLongSequence()
    {
        var model = Tiny(CellKind.Lstm, 3);
        model.Training = false;
        const int B = 2;
        var rng = new Rng(4);
        int[] all = Enumerable.Range(0, 6 * B).Select(_ => rng.NextInt(6)).ToArray(); // [6, B]
        float[] whole = (float[])model.Forward(all, 6, B).Data.Clone();
        var state = model.NewState(B);
        float[] first = model.Forward(all[..(4 * B)], 4, B, state).Span.ToArray();
        float[] second = model.Forward(all[(4 * B)..], 2, B, state).Span.ToArray();
        float[] chunked = [.. first, .. second];
        Assert.Equal(whole.Length, chunked.Length);
        for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i], chunked[i], 5);
    }

    [Fact]
    public void DropoutOnlyWhileTraining_AndItsRngStateReplaysTheMasks()
    {
        var model = Tiny(CellKind.Gru, 3, dropout: 0.5f);
        int[] tokens = [0, 1, 2, 3, 4, 5];
        uint[] saved = model.DropoutRngState;
        float[] a = (float[])model.Forward(tokens, 3, 2).Data.Clone();
        float[] b = (float[])model.Forward(tokens, 3, 2).Data.Clone();
        Assert.NotEqual(a, b); // new masks each call
        model.DropoutRngState = saved;
        Assert.Equal(a, model.Forward(tokens, 3, 2).Data);
        model.Training = false;
        float[] e1 = (float[])model.Forward(tokens, 3, 2).Data.Clone();
        Assert.Equal(e1, model.Forward(tokens, 3, 2).Data);
    }

    [Fact]
    public void BadTokensAndShapesAreOneLineErrors()
    {
        var model = Tiny(CellKind.RnnTanh, 0);
        Assert.Contains("outside [0, 6)", Assert.Throws<ArgumentException>(() => model.Forward([0, 9], 2, 1)).Message);
        Assert.Throws<ShapeException>(() => model.Forward([0, 1, 2], 2, 1));
        Assert.Throws<ShapeException>(() => model.Forward([0, 1], 1, 2, model.NewState(3)));
        Assert.Throws<ArgumentException>(() => new CharLanguageModel(
            new CharLanguageModelConfig(CellKind.Lstm, CharLmTesting.Letters(3), -1, 4, 1, 0), new Rng(1)));
    }
}
