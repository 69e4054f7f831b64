using System.Text.Json;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The char-LM with residual connections (h^k = RNN_k(dropout(h^{k−1})) + h^{k−1}, k ≥ 1): finite differences, what the
/// skip adds under dropout, PyTorch names, config.json's "residual" (absent = false), and `train --residual` with
/// resume, sample and eval.
/// </summary>
public class ResidualCharLmTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static CharLanguageModel Tiny(CellKind cell, int embedding, float dropout, bool residual, int layers = 3, ulong seed = 5) =>
        new(new CharLanguageModelConfig(cell, CharLmTesting.Letters(6), embedding, 5, layers, dropout, residual), new Rng(seed));

    [Theory]
    [InlineData(CellKind.Lstm, 4, 0f)]
    [InlineData(CellKind.Lstm, 0, 0.3f)]
    [InlineData(CellKind.Gru, 5, 0.25f)]
    [InlineData(CellKind.RnnTanh, 3, 0f)]
    public void BackwardMatchesFiniteDifferences(CellKind cell, int embedding, float dropout)
    {
        CharLmTesting.CheckGradients(Tiny(cell, embedding, dropout, residual: true), T: 3, B: 2);
    }

    [Fact]
    public void TheSkipAddsTheLayerBelowBeforeDropout_AndNamesStayPyTorchs()
    {
        // Same seed: the same weights. Two layers: h^1 = RNN_1(m₁ ⊙ h^0) + h^0, logits = W_head (m_head ⊙ h^1) + b, so
        // with the same masks the residual logits minus the plain ones are W_head (m_head ⊙ h^0) — which a one-layer
        // model with those weights, that head mask and no head bias computes. Had the skip added m₁ ⊙ h^0 instead, the
        // difference would carry both masks.
        var residual = Tiny(CellKind.Lstm, 4, 0.5f, residual: true, layers: 2);
        var plain = Tiny(CellKind.Lstm, 4, 0.5f, residual: false, layers: 2);
        var first = Tiny(CellKind.Lstm, 4, 0.5f, residual: false, layers: 1);
        Assert.Equal(plain.Parameters().Select(p => p.Name), residual.Parameters().Select(p => p.Name));
        foreach (var (a, b) in plain.Parameters().Zip(residual.Parameters())) Assert.Equal(a.Value.Data, b.Value.Data);
        // The one-layer model's head was drawn after one layer, not two: give it the two-layer head, without bias.
        foreach (var (p, q) in first.Parameters().Where(p => p.Name.StartsWith("head.")).Zip(plain.Parameters().Where(p => p.Name.StartsWith("head."))))
            q.Value.Span.CopyTo(p.Value.Span);
        first.Parameters().Single(p => p.Name == "head.bias").Value.Zero();

        const int T = 3, B = 2, H = 5;
        int[] tokens = [0, 1, 2, 3, 4, 5];
        uint[] masks = residual.DropoutRngState;
        plain.DropoutRngState = masks;
        // The two-layer models draw m₁ (T·B·H floats), then m_head; the one-layer model draws only m_head.
        var skip = Rng.FromState(masks);
        for (int i = 0; i < T * B * H; i++) skip.NextUInt();
        first.DropoutRngState = skip.State;

        float[] r = residual.Forward(tokens, T, B).Span.ToArray(), p0 = plain.Forward(tokens, T, B).Span.ToArray();
        float[] h0 = first.Forward(tokens, T, B).Span.ToArray();
        for (int i = 0; i < r.Length; i++) Assert.Equal(h0[i], r[i] - p0[i], 4);
    }

    [Fact]
    public void ConfigSaysResidual_AndAnOlderConfigWithoutItLoadsAsFalse()
    {
        string dir = _f.Train("m", "--steps", "6", "--layers", "3", "--residual");
        string configPath = Path.Combine(dir, "config.json");
        using (var doc = JsonDocument.Parse(File.ReadAllText(configPath)))
            Assert.True(doc.RootElement.GetProperty("residual").GetBoolean());
        var model = Checkpoint.LoadModel(dir);
        Assert.True(model.Config.Residual);
        Assert.Equal(3, model.Config.NumLayers);

        string plain = _f.Train("p", "--steps", "2");
        string text = File.ReadAllText(Path.Combine(plain, "config.json"));
        Assert.Contains("\"residual\": false", text);
        File.WriteAllText(Path.Combine(plain, "config.json"), text.Replace("\"residual\": false,", ""));
        Assert.DoesNotContain("residual", File.ReadAllText(Path.Combine(plain, "config.json")));
        Assert.False(Checkpoint.LoadModel(plain).Config.Residual);

        File.WriteAllText(Path.Combine(plain, "config.json"), text.Replace("\"residual\": false", "\"residual\": 1"));
        var bad = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(plain));
        Assert.Contains("\"residual\" must be true or false", bad.Message);
    }

    [Fact]
    public void SaveAndLoadRoundTrip_SampleEvalAndResumeWork()
    {
        string[] flags = ["--layers", "3", "--residual", "--dropout", "0.2", "--log-every", "1"];
        var (whole, split, a, b) = _f.TrainWholeAndResumed(24, flags);
        Assert.Equal(a.Select(e => e.TrainLoss), b.Select(e => e.TrainLoss));
        Assert.True(Checkpoint.LoadModel(split).Config.Residual);

        // The loaded model computes what the trained one did: its validation loss is the one train reported.
        var (config, settings) = Checkpoint.LoadConfig(whole);
        var loaded = Checkpoint.LoadModel(whole);
        var corpus = CharCorpus.Load(_f.Data, settings!.ValFraction, config.Vocabulary);
        double val = Evaluator.MeanLoss(loaded, corpus.Validation, settings.Batch, settings.SeqLen);
        Assert.Equal(a[^1].ValLoss!.Value, val, 5);
        // A plain model with the same weights computes something else: the skips are part of the model.
        var plain = new CharLanguageModel(config with { Residual = false }, new Rng(1));
        foreach (var (p, q) in plain.Parameters().Zip(loaded.Parameters())) q.Value.Span.CopyTo(p.Value.Span);
        Assert.NotEqual(val, Evaluator.MeanLoss(plain, corpus.Validation, settings.Batch, settings.SeqLen), 5);

        using var evalDoc = JsonDocument.Parse(CharLmFixture.Ok("eval", "--model", whole, "--data", _f.Data, "--json"));
        Assert.True(evalDoc.RootElement.GetProperty("loss").GetDouble() > 0);
        string sample = CharLmFixture.Ok("sample", "--model", whole, "--length", "20", "--seed", "2");
        Assert.Equal(sample, CharLmFixture.Ok("sample", "--model", whole, "--length", "20", "--seed", "2"));

        var (code, _, error) = CharLmFixture.Run("train", "--resume", whole, "--steps", "30", "--residual");
        Assert.NotEqual(0, code);
        Assert.Contains("--residual cannot change when resuming", error);
    }
}
