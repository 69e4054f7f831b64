using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The batch-1 stepper that sampling runs on computes what the model's Forward computes for one step, to the bit, at
/// every cell, depth, input, with residual connections, on one thread and two (its parts split the units unevenly),
/// forwards and backwards through the weights on alternate steps.
/// </summary>
[Collection("Gemm.Threads")]
public class RecurrentStepperTests
{
    [Theory]
    [InlineData(CellKind.Lstm, 4, 2, false, 40, 2)]
    [InlineData(CellKind.Lstm, 0, 3, true, 70, 2)]
    [InlineData(CellKind.Lstm, 6, 2, false, 5, 1)]
    [InlineData(CellKind.Gru, 5, 2, false, 40, 2)]
    [InlineData(CellKind.Gru, 4, 3, true, 36, 1)]
    [InlineData(CellKind.RnnTanh, 3, 1, false, 40, 2)]
    [InlineData(CellKind.RnnRelu, 3, 2, false, 33, 2)]
    [InlineData(CellKind.Leaky, 3, 2, false, 40, 2)]
    public void StepsGiveForwardsLogitsAndState_ToTheBit(CellKind cell, int embedding, int layers, bool residual, int hidden, int threads)
    {
        using var scope = new GemmThreadsScope(threads);
        var config = new CharLanguageModelConfig(cell, CharLmTesting.Letters(7), embedding, hidden, layers, 0.3f, residual)
        {
            Leak = cell == CellKind.Leaky ? new Leak(0.3f, true) : Leak.Default,
            WeightDrop = 0.25f, // training only: neither path drops
        };
        var model = new CharLanguageModel(config, new Rng(11)) { Training = false };
        var state = model.NewState(1);
        model.Forward([1, 2, 3], 3, 1, state);
        var stepper = model.NewStepper(state);

        var rng = new Rng(3);
        for (int i = 0; i < 25; i++)
        {
            int token = rng.NextInt(7);
            float[] expected = model.Forward([token], 1, 1, state).Span.ToArray();
            Assert.Equal(expected, stepper.Step(token).ToArray());
            for (int k = 0; k < layers; k++)
            {
                Assert.Equal(state.H[k].Data, stepper.State(k).H.ToArray());
                if (state.C != null) Assert.Equal(state.C[k].Data, stepper.State(k).C.ToArray());
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => stepper.Step(7));
        Assert.Throws<ShapeException>(() => model.NewStepper(model.NewState(2)));
    }
}
