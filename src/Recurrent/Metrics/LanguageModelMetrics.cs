namespace Recurrent.Metrics;

/// <summary>
/// The three ways to quote a language model's cross-entropy. loss: mean −ln p(next char) in nats/char;
/// bits per char = loss / ln 2; perplexity = e^loss (the number of equally likely choices the model is as unsure as).
/// </summary>
public static class LanguageModelMetrics
{
    /// <summary>Bits per character from a mean loss in nats: lossNats / ln 2.</summary>
    public static double BitsPerChar(double lossNats) => lossNats / Math.Log(2);
    /// <summary>Perplexity from a mean loss in nats: e^lossNats.</summary>
    public static double Perplexity(double lossNats) => Math.Exp(lossNats);
}

/// <summary>A mean of per-position losses accumulated in double over many batches (a batch's mean times its count).</summary>
public struct LossMean
{
    /// <summary>Σ over batches of mean loss × count.</summary>
    public double Sum { get; private set; }
    /// <summary>Positions counted so far.</summary>
    public long Count { get; private set; }

    /// <summary>Adds a batch whose <paramref name="count"/> positions have mean loss <paramref name="meanLoss"/>.</summary>
    public void Add(double meanLoss, long count)
    {
        Sum += meanLoss * count;
        Count += count;
    }

    /// <summary>The mean loss per position, Sum / Count; NaN when nothing was added.</summary>
    public readonly double Mean => Count == 0 ? double.NaN : Sum / Count;

    /// <summary>Back to empty.</summary>
    public void Reset() { Sum = 0; Count = 0; }
}
