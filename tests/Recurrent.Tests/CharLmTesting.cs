using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;

namespace Recurrent.Tests;

/// <summary>What the char-LM tests share: a vocabulary of letters, and the finite-difference check of every gradient.</summary>
internal static class CharLmTesting
{
    /// <summary>n distinct printable characters from '!' on.</summary>
    public static Vocabulary Letters(int n) =>
        Vocabulary.Parse(string.Concat(Enumerable.Range(0, n).Select(i => (char)(0x21 + i))));

    /// <summary>
    /// Checks every parameter's gradient of the mean loss over [T, B] random tokens (one target ignored) against finite
    /// differences, from a random carried start state (its gradient is cut, as truncated BPTT cuts it, but it shapes
    /// every other gradient), with the same dropout and weight-drop masks on every evaluation of the loss.
    /// </summary>
    public static void CheckGradients(CharLanguageModel model, int T, int B)
    {
        int V = model.Config.VocabSize;
        var rng = new Rng(9);
        int[] tokens = Enumerable.Range(0, T * B).Select(_ => rng.NextInt(V)).ToArray();
        int[] targets = Enumerable.Range(0, T * B).Select(_ => rng.NextInt(V)).ToArray();
        targets[Math.Min(3, T * B - 1)] = BatchStreams.IgnoreIndex;
        var start = model.NewState(B);
        foreach (var (_, t) in start.Named()) for (int i = 0; i < t.Length; i++) t.Data[i] = rng.Uniform(-0.5f, 0.5f);
        uint[] masks = model.DropoutRngState;

        double Loss()
        {
            var state = model.NewState(B);
            foreach (var ((_, s), (_, d)) in start.Named().Zip(state.Named())) d.CopyFrom(s);
            model.DropoutRngState = masks;
            model.Forward(tokens, T, B, state);
            return model.Loss(targets);
        }

        Loss();
        model.ZeroGrad();
        model.Backward();
        foreach (var p in model.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), Loss);
    }
}
