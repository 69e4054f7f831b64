using Recurrent.Tensors;

namespace Recurrent.Models;

/// <summary>
/// Draws the next token from logits [V]: greedy (argmax, lowest id on ties) when temperature is 0, else from
/// softmax(logits / temperature) restricted to the top k logits (k = 0: all; ties with the k-th are kept, as
/// PyTorch's masking does). The probabilities are computed in double; scratch is allocated once.
/// </summary>
public sealed class TokenSampler
{
    private readonly double[] _weights;
    private readonly float[] _sorted;

    /// <summary>Divides the logits before the softmax: below 1 sharper, above 1 flatter; 0 always takes the most likely token.</summary>
    public float Temperature { get; }
    /// <summary>Draw only among the k largest logits (ties with the k-th kept); 0 for all.</summary>
    public int TopK { get; }

    /// <summary>
    /// A sampler over <paramref name="vocabSize"/> tokens. Throws <see cref="ArgumentOutOfRangeException"/> for a negative or
    /// non-finite temperature or a negative topK.
    /// </summary>
    public TokenSampler(int vocabSize, float temperature, int topK)
    {
        if (!(temperature >= 0) || float.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), $"temperature must be a finite number ≥ 0 (got {temperature})");
        if (topK < 0) throw new ArgumentOutOfRangeException(nameof(topK), $"top-k must be ≥ 0 (got {topK})");
        Temperature = temperature;
        TopK = topK;
        _weights = new double[vocabSize];
        _sorted = new float[vocabSize];
    }

    /// <summary>
    /// A token drawn from softmax(logits / Temperature) over the top k, using one <see cref="Rng.NextDouble"/> (the argmax,
    /// drawing nothing, at temperature 0). Throws <see cref="ArgumentException"/> when logits is not vocabSize long.
    /// </summary>
    public int Next(ReadOnlySpan<float> logits, Rng rng)
    {
        if (logits.Length != _weights.Length)
            throw new ArgumentException($"logits has {logits.Length} entries, the vocabulary {_weights.Length}");
        int argmax = Kernels.ArgMax(logits);
        if (Temperature == 0) return argmax;

        float threshold = float.NegativeInfinity;
        if (TopK > 0 && TopK < logits.Length)
        {
            logits.CopyTo(_sorted);
            Array.Sort(_sorted);
            threshold = _sorted[^TopK];
        }
        double max = logits[argmax], sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double w = logits[i] >= threshold ? Math.Exp((logits[i] - max) / Temperature) : 0;
            _weights[i] = w;
            sum += w;
        }
        double u = rng.NextDouble() * sum;
        int last = argmax;
        for (int i = 0; i < _weights.Length; i++)
        {
            if (_weights[i] == 0) continue;
            last = i;
            u -= _weights[i];
            if (u < 0) return i;
        }
        return last; // u landed on the rounding error at the top end
    }
}

/// <summary>
/// Generates text one character at a time: the prime is read in one forward pass (batch 1), then each drawn character
/// is fed back. Characters are handed to <c>emit</c> as they are drawn, so a caller can stream them.
/// </summary>
public sealed class CharLanguageModelSampler(CharLanguageModel model, TokenSampler sampler, Rng rng)
{
    /// <summary>The prime when none is given: a newline, where text naturally starts, if the vocabulary has one.</summary>
    public static string DefaultPrime(Data.Vocabulary vocabulary) =>
        vocabulary.Contains(new System.Text.Rune('\n')) ? "\n" : vocabulary.Symbol(0);

    /// <summary>Draws <paramref name="length"/> characters after <paramref name="prime"/> (non-empty, in the vocabulary).</summary>
    public void Generate(string prime, int length, Action<string> emit)
    {
        var vocabulary = model.Config.Vocabulary;
        if (prime.Length == 0) throw new ArgumentException("the prime text must not be empty");
        int[] primeIds = vocabulary.Encode(prime, "the prime text");
        if (length <= 0) return;
        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            // The prime in one pass; then one character at a time through the stepper, which computes the same logits
            // with the weights read in an order that suits batch 1.
            var state = model.NewState(1);
            ReadOnlySpan<float> logits = model.Forward(primeIds, primeIds.Length, 1, state).Span[^vocabulary.Count..];
            var stepper = model.NewStepper(state);
            for (int i = 0; i < length; i++)
            {
                int next = sampler.Next(logits, rng);
                emit(vocabulary.Symbol(next));
                if (i + 1 == length) break;
                logits = stepper.Step(next);
            }
        }
        finally { model.Training = wasTraining; }
    }

    /// <summary>The <paramref name="length"/> characters drawn after <paramref name="prime"/>, as one string.</summary>
    public string Generate(string prime, int length)
    {
        var sb = new System.Text.StringBuilder();
        Generate(prime, length, s => sb.Append(s));
        return sb.ToString();
    }
}
