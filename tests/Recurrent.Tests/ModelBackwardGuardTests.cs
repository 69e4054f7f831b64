using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>A model's Backward, once per loss, names the model rather than the loss inside it that would refuse first.</summary>
public class ModelBackwardGuardTests
{
    private static CharLanguageModel Tiny() =>
        new(new CharLanguageModelConfig(CellKind.Lstm, Vocabulary.Parse("abcdef"), 4, 5, 2, 0.5f), new Rng(5));

    [Fact]
    public void ACharLanguageModelsBackwardRunsOncePerLoss()
    {
        var model = Tiny();
        int[] tokens = [0, 1, 2, 3, 4, 5], targets = [1, 2, 3, 4, 5, 0];
        Assert.Equal("CharLanguageModel: Backward without a matching Forward (call Forward, then Backward once)",
            Assert.Throws<InvalidOperationException>(model.Backward).Message);
        model.Forward(tokens, 3, 2);
        model.Loss(targets);
        model.Backward();
        Assert.Equal("CharLanguageModel: Backward without a matching Forward (call Forward, then Backward once)",
            Assert.Throws<InvalidOperationException>(model.Backward).Message);
    }

    [Fact]
    public void ALossForLoggingBeforeTheTrainedOneLeavesTheGradientsAlone()
    {
        // Training mode throughout, with dropout: the same masks are drawn when the extra pass uses its own model's Rng.
        var (plain, extra) = (Tiny(), Tiny());
        int[] tokens = [0, 1, 2, 3, 4, 5], targets = [1, 2, 3, 4, 5, 0];
        extra.Training = false;
        extra.Forward([5, 4, 3, 2], 2, 2); // a validation batch, scored in eval mode: no mask drawn
        extra.Loss([0, 0, 0, 0]);
        extra.Training = true;
        foreach (var model in new[] { plain, extra })
        {
            model.Forward(tokens, 3, 2);
            model.Loss(targets);
            model.Backward();
        }
        Assert.Equal(plain.Parameters().Select(p => p.Grad.Data), extra.Parameters().Select(p => p.Grad.Data));
        Assert.StartsWith("CharLanguageModel: Forward was called 2 times before the last Backward",
            Assert.Throws<InvalidOperationException>(extra.Backward).Message);
    }
}
