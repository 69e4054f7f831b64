using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class ConditionedGeneratorTests
{
    private static GeneratorConfig Config(CellKind cell, bool vectors, int layers = 1) => new()
    {
        Cell = cell,
        Vocabulary = WordVocabulary.Build(["a", "b", "c", "d"], 1, lowercase: false, sentenceMarkers: true),
        Labels = vectors ? null : LabelSet.Build(["x", "y", "z"]),
        VectorSize = vectors ? 3 : 0,
        EmbeddingSize = 3,
        HiddenSize = 4,
        NumLayers = layers,
        Dropout = 0,
    };

    private static readonly int[][] Texts = [[4, 5], [6], [7, 4, 5]];
    private static readonly int[] Labels = [2, 0, 1];
    private static readonly float[] Vectors = [0.5f, -1f, 0.2f, 1f, 0f, -0.3f, -0.7f, 0.4f, 0.9f];

    [Theory]
    [InlineData(CellKind.Lstm, false, 2)]
    [InlineData(CellKind.Gru, true, 1)]
    [InlineData(CellKind.RnnTanh, false, 1)]
    public void WholeModelGradientsMatchFiniteDifferences(CellKind cell, bool vectors, int layers)
    {
        var model = new ConditionedGenerator(Config(cell, vectors, layers), new Rng(4)) { Training = false };
        var (inputs, targets, lengths, steps) = PaddedBatch.Shifted(Texts, [0, 1, 2]);
        var condition = vectors ? null : Labels;
        var values = vectors ? (float[])Vectors.Clone() : null;
        Func<double> loss = () => model.Forward(condition, values, inputs, targets, lengths, steps);
        loss();
        model.ZeroGrad();
        model.Backward();
        foreach (var p in model.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, (float[])p.Grad.Data.Clone(), loss);
    }

    [Fact]
    public void ParametersAreNamedAsAPyTorchModuleTreeWould()
    {
        var model = new ConditionedGenerator(Config(CellKind.Gru, vectors: false), new Rng(1));
        Assert.Equal(["condition.weight", "bridge.weight", "bridge.bias", "embedding.weight", "gru.weight_ih_l0", "gru.weight_hh_l0",
            "gru.bias_ih_l0", "gru.bias_hh_l0", "output.weight", "output.bias"], model.Parameters().Select(p => p.Name));
    }
}
