using Recurrent.Analysis;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class CellActivationsTests
{
    [Theory]
    [InlineData(CellKind.Lstm, 4)]
    [InlineData(CellKind.Gru, 0)]
    [InlineData(CellKind.RnnRelu, 3)]
    public void EachCharacterHoldsEveryLayersStateAfterReadingIt(CellKind cell, int embedding)
    {
        var vocabulary = Vocabulary.Parse("abcdef\n");
        var model = new CharLanguageModel(new CharLanguageModelConfig(cell, vocabulary, embedding, 5, 2, 0.3f), new Rng(11));
        int[] tokens = vocabulary.Encode("abc\nfed\ncab\nd");
        model.Training = true;
        var activations = CellActivations.Record(model, tokens);
        Assert.True(model.Training); // restored
        Assert.Equal((2, 5, 10, tokens.Length), (activations.Layers, activations.Hidden, activations.Units, activations.Length));
        Assert.Equal(cell == CellKind.Lstm ? "tanh(c)" : "h", activations.Quantity);
        Assert.Equal(cell != CellKind.RnnRelu, activations.Bounded);

        // The state after character t is what one forward pass over characters 0..t leaves (dropout off).
        model.Training = false;
        for (int t = 0; t < tokens.Length; t++)
        {
            var state = model.NewState(1);
            model.Forward(tokens[..(t + 1)], t + 1, 1, state);
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 5; j++)
                {
                    float want = cell == CellKind.Lstm ? MathF.Tanh(state.C![k][j]) : state.H[k][j];
                    Assert.Equal(want, activations.Unit(k * 5 + j)[t], 5);
                }
        }
    }

    [Fact]
    public void UnitsAreNamedLayerColonIndex()
    {
        var activations = new CellActivations(2, 150, 1, "h", true, new float[300]);
        Assert.Equal("1:137", activations.Name(287));
        Assert.Equal(287, activations.Parse("1:137"));
        Assert.Equal(0, activations.Parse("0:0"));
        foreach (string bad in new[] { "2:0", "0:150", "1", "a:b", "-1:3", "1:", ":4", "1:2:3" })
            Assert.Throws<ArgumentException>(() => activations.Parse(bad));
        Assert.Throws<ArgumentOutOfRangeException>(() => activations.Unit(300));
        Assert.Throws<ShapeException>(() => new CellActivations(2, 150, 2, "h", true, new float[300]));
    }
}
