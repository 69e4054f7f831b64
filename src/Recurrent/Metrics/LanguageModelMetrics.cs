namespace Recurrent.Metrics;

/// <summary>
/// The three ways to quote a language model's cross-entropy. loss: mean −ln p(next char) in nats/char;
/// bits per char = loss / ln 2; perplexity = e^loss (the number of equally likely choices the model is as unsure as).
/// </summary>
public static class LanguageModelMetrics
{
    public static double BitsPerChar(double lossNats) => lossNats / Math.Log(2);
    public static double Perplexity(double lossNats) => Math.Exp(lossNats);
}

/// <summary>A mean of per-position losses accumulated in double over many batches (a batch's mean times its count).</summary>
public struct LossMean
{
    public double Sum { get; private set; }
    public long Count { get; private set; }

    public void Add(double meanLoss, long count)
    {
        Sum += meanLoss * count;
        Count += count;
    }

    public readonly double Mean => Count == 0 ? double.NaN : Sum / Count;

    public void Reset() { Sum = 0; Count = 0; }
}
