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

    public float Temperature { get; }
    public int TopK { get; }

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

    public int Next(ReadOnlySpan<float> logits, Rng rng)
    {
        if (logits.Length != _weights.Length)
            throw new ArgumentException($"logits has {logits.Length} entries, the vocabulary {_weights.Length}");
        int argmax = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[argmax]) argmax = i;
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
