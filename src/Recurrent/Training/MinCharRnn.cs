using Recurrent.Layers;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Training;

/// <summary>
/// Karpathy's min-char-rnn (the 2015 gist; bench/numpy_minchar.py) in terms of the char-LM's options, for
/// `train --preset min-char-rnn`: a tanh RNN of 100 on one-hot input, T = 25, B = 1, weights N(0, 0.01²) and biases 0,
/// Adagrad lr 0.1, each gradient element clipped to ±5, the first 100,000 characters of the text, the hidden state
/// carried from window to window and zeroed when the text wraps (which <see cref="Trainer"/> does at each epoch).
///
/// The gist's loss is summed over the T steps, the char-LM's is the mean: every gradient here is the gist's divided by
/// T·B. Adagrad does not see that scale — p −= lr·g/(√Σg² + ε) is unchanged when g is multiplied by any c &gt; 0, up
/// to ε (which acts as ε/c; the gist adds its 1e-8 under the square root, Adagrad here after it) — but an element-wise clip does: clipping the gist's gradient at ±5 is clipping ours at
/// ±5/(T·B), so that (0.2) is the preset's --clip-value. Two differences remain: PyTorch's RNN has two hidden biases
/// (b_ih + b_hh, each updated by Adagrad as the gist's one bias would be, so their sum moves up to twice as far), and
/// the arithmetic is float32 (the gist's numpy is float64).
/// </summary>
public static class MinCharRnn
{
    /// <summary>The --preset name.</summary>
    public const string Preset = "min-char-rnn";
    /// <summary>The gist's hidden size, window T, batch B and the characters of the text it reads.</summary>
    public const int Hidden = 100, SeqLen = 25, Batch = 1, Characters = 100_000;
    /// <summary>The gist's Adagrad learning rate, weight standard deviation, and element-wise clip of the summed loss's gradient.</summary>
    public const double LearningRate = 0.1, InitStd = 0.01, SummedLossClip = 5;
    /// <summary>The smoothed loss's weights on its past and on the new loss (smooth = 0.999·smooth + 0.001·loss).</summary>
    public const double SmoothPast = 0.999, SmoothNew = 0.001;

    /// <summary>The element-wise clip of the mean loss's gradient that is the gist's ±5 on the summed loss's.</summary>
    public static double ClipValue(int seqLen, int batch) => SummedLossClip / ((double)seqLen * batch);

    /// <summary>Every weight from N(0, <paramref name="std"/>²) and every bias 0, as the gist's randn·0.01 and zeros.</summary>
    public static void InitNormal(IEnumerable<Parameter> parameters, double std, Rng rng)
    {
        if (!(std > 0) || !double.IsFinite(std)) throw new ArgumentException($"the initial standard deviation must be > 0 (got {std})");
        foreach (var p in parameters)
        {
            if (p.Name.Contains("bias", StringComparison.Ordinal)) p.Value.Zero();
            else Init.Normal(p.Value, (float)std, rng);
        }
    }

    /// <summary>The first <paramref name="count"/> characters (code points) of <paramref name="text"/>, or all of it
    /// when shorter.</summary>
    public static string FirstCharacters(string text, int count)
    {
        if (count < 0) throw new ArgumentException($"a character count must be ≥ 0 (got {count})");
        int index = 0;
        for (int n = 0; n < count && index < text.Length; n++)
            index += char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? 2 : 1;
        return text[..index];
    }

    /// <summary>The gist's starting smoothed loss: the summed loss of T uniform guesses over V characters, T·ln V.</summary>
    public static double InitialSmoothLoss(int vocabSize, int seqLen) => Math.Log(vocabSize) * seqLen;
}

/// <summary>
/// A char-LM trainer that also keeps min-char-rnn's smoothed loss of the run: smooth = 0.999·smooth + 0.001·L after
/// every step, L the step's loss summed over its T steps (the mean loss × T; with B &gt; 1 streams, averaged over them),
/// starting at T·ln V. Everything else is the wrapped <see cref="Trainer"/>'s.
/// </summary>
public sealed class SmoothedLossTrainer(Trainer inner) : ITaskTrainer
{
    /// <summary>The smoothed loss after the steps of this run.</summary>
    public double SmoothLoss { get; private set; } = MinCharRnn.InitialSmoothLoss(inner.Model.Config.VocabSize, inner.SeqLen);

    /// <inheritdoc/>
    public ITaskModel Model => inner.Model;
    /// <inheritdoc/>
    public Optimizer Optimizer => inner.Optimizer;
    /// <inheritdoc/>
    public TrainingSettings Settings => inner.Settings;
    /// <inheritdoc/>
    public TrainingProgress Progress => inner.Progress;
    /// <inheritdoc/>
    public long StepsPerEpoch => inner.StepsPerEpoch;
    /// <inheritdoc/>
    public bool HasValidation => inner.HasValidation;

    /// <summary>The wrapped trainer's step, then SmoothLoss updated with its loss summed over T (the mean × T).</summary>
    public StepResult Step()
    {
        var result = inner.Step();
        SmoothLoss = SmoothLoss * MinCharRnn.SmoothPast + (double)result.Loss * inner.SeqLen * MinCharRnn.SmoothNew;
        return result;
    }

    /// <inheritdoc/>
    public ValidationResult Validate() => inner.Validate();
    /// <inheritdoc/>
    public string? Sample(int length) => inner.Sample(length);
    /// <inheritdoc/>
    public IEnumerable<(string Name, Tensor Value)> ExtraState() => inner.ExtraState();
    /// <inheritdoc/>
    public Distributed.ICollective Group => inner.Group;
    /// <inheritdoc/>
    public void Dispose() => inner.Dispose();
}
