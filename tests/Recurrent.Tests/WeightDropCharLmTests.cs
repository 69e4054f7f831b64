using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The char-LM's weight drop (DropConnect on every W_hh while training, AWD-LSTM's WeightDrop): what a pass multiplies
/// by, finite differences through the mask, evaluation untouched, config.json's "weight_drop" (absent = 0), and
/// `train --weight-drop` with an exact resume.
/// </summary>
public class WeightDropCharLmTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static CharLanguageModel Tiny(CellKind cell, float weightDrop, float dropout = 0, int layers = 2, ulong seed = 5) =>
        new(new CharLanguageModelConfig(cell, CharLmTesting.Letters(6), 4, 5, layers, dropout) { WeightDrop = weightDrop }, new Rng(seed));

    private static readonly int[] Tokens = [0, 1, 2, 3, 4, 5, 0, 2];

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.RnnTanh)]
    public void ATrainingPassMultipliesByTheMaskedWhh_OnlyThere(CellKind cell)
    {
        // One layer, no dropout: the pass must be the plain model's with W_hh ⊙ M, M the first mask the model's Rng draws.
        const int T = 4, B = 2;
        var dropped = Tiny(cell, 0.4f, layers: 1);
        var plain = Tiny(cell, 0, layers: 1);
        var whh = plain.Parameters().Single(p => p.Name.EndsWith("weight_hh_l0"));
        var mask = new float[whh.Value.Length];
        new Dropout(0.4f, Rng.FromState(dropped.DropoutRngState)).DrawMask(mask);
        Assert.Contains(0f, mask);
        Assert.Contains(1f / 0.6f, mask);
        for (int i = 0; i < mask.Length; i++) whh.Value.Data[i] *= mask[i];

        float[] expected = plain.Forward(Tokens, T, B).Span.ToArray();
        Assert.Equal(expected, dropped.Forward(Tokens, T, B).Span.ToArray());
    }

    [Fact]
    public void EvaluationUsesWhhItself()
    {
        const int T = 4, B = 2;
        var dropped = Tiny(CellKind.Lstm, 0.5f);
        var plain = Tiny(CellKind.Lstm, 0);
        dropped.Training = plain.Training = false;
        Assert.Equal(plain.Forward(Tokens, T, B).Span.ToArray(), dropped.Forward(Tokens, T, B).Span.ToArray());
        dropped.Training = true; // and a training pass does drop
        Assert.NotEqual(plain.Forward(Tokens, T, B).Span.ToArray(), dropped.Forward(Tokens, T, B).Span.ToArray());
    }

    [Theory]
    [InlineData(CellKind.Lstm, 0f)]
    [InlineData(CellKind.Gru, 0.25f)]
    [InlineData(CellKind.RnnTanh, 0f)]
    public void BackwardMatchesFiniteDifferences(CellKind cell, float dropout)
    {
        var model = Tiny(cell, 0.3f, dropout);
        CharLmTesting.CheckGradients(model, T: 3, B: 2);
        var whh = model.Parameters().First(p => p.Name.Contains("weight_hh"));
        Assert.Contains(0f, whh.Grad.Data); // the dropped weights got no gradient
    }

    [Fact]
    public void TrainSavesWeightDrop_ResumesExactly_AndAnOlderConfigLoadsAsZero()
    {
        string[] flags = ["--weight-drop", "0.3", "--dropout", "0.1", "--log-every", "1"];
        var (whole, _, wholeLog, splitLog) = _f.TrainWholeAndResumed(16, flags);
        Assert.Equal(wholeLog.Select(e => e.TrainLoss), splitLog.Select(e => e.TrainLoss));

        string configPath = Path.Combine(whole, "config.json");
        string text = File.ReadAllText(configPath);
        using (var doc = JsonDocument.Parse(text))
            Assert.Equal(0.3, doc.RootElement.GetProperty("weight_drop").GetDouble(), 6);
        Assert.Equal(0.3f, Checkpoint.LoadModel(whole).Config.WeightDrop);
        var (code, _, error) = CharLmFixture.Run("train", "--resume", whole, "--steps", "20", "--weight-drop", "0.2");
        Assert.NotEqual(0, code);
        Assert.Contains("--weight-drop cannot change when resuming", error);

        // A config written before the field: no weight drop. One out of range: a one-line error naming the field.
        string plain = _f.Train("plain", "--steps", "2");
        string plainConfig = Path.Combine(plain, "config.json");
        string old = File.ReadAllText(plainConfig);
        File.WriteAllText(plainConfig, old.Replace("\"weight_drop\": 0,", ""));
        Assert.DoesNotContain("weight_drop", File.ReadAllText(plainConfig));
        Assert.Equal(0f, Checkpoint.LoadModel(plain).Config.WeightDrop);
        File.WriteAllText(plainConfig, old.Replace("\"weight_drop\": 0", "\"weight_drop\": 1.5"));
        var bad = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(plain));
        Assert.Contains("weight_drop", bad.Message);
    }
}
