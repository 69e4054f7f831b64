using System.Diagnostics;
using Recurrent.Data;
using Recurrent.IO;
using Recurrent.Models;

namespace Recurrent.Analysis;

/// <summary>One order's Kneser–Ney model: its validation loss, how long counting took and how big it is.</summary>
/// <param name="Ngrams">n-grams stored, all orders up to this one.</param>
/// <param name="Bytes">the size of its counts file (<see cref="NgramCountsFile"/>).</param>
/// <param name="Order">N: the model's order.</param>
/// <param name="ValNatsPerChar">the validation loss, nats per character.</param>
/// <param name="Seconds">wall-clock seconds of counting.</param>
public sealed record NgramOrderResult(int Order, double ValNatsPerChar, double Seconds, long Ngrams, long Bytes)
{
    /// <summary>The validation loss in bits per character.</summary>
    public double ValBitsPerChar => Metrics.LanguageModelMetrics.BitsPerChar(ValNatsPerChar);
}

/// <summary>
/// The n-gram baseline against its order: for each order an interpolated modified Kneser–Ney model counted on the
/// corpus's training text and scored (nats/char) on its validation split — the characters a char-LM's validation
/// predicts. Low orders underfit (too little context), high ones run out of data (most long contexts were never seen
/// and the model backs off): the curve has a minimum, the baseline an RNN must beat.
/// </summary>
public static class NgramOrderSweep
{
    /// <summary>
    /// Counts and scores one model per order, calling <paramref name="progress"/> after each; throws
    /// <see cref="ArgumentException"/> when the corpus has no validation text (fewer than 2 characters).
    /// </summary>
    public static List<NgramOrderResult> Run(CharCorpus corpus, IEnumerable<int> orders, Action<NgramOrderResult>? progress = null)
    {
        if (corpus.Validation.Length < 2) throw new ArgumentException($"{corpus.Source} has no validation split to score the n-gram models on");
        var results = new List<NgramOrderResult>();
        foreach (int order in orders)
        {
            var clock = Stopwatch.StartNew();
            var model = NgramLanguageModel.Build(corpus.Train.Span, corpus.Vocabulary, order);
            double seconds = clock.Elapsed.TotalSeconds;
            long bytes = NgramCountsFile.Encode(Enumerable.Range(1, order).Select(model.Counts).ToList(), model.VocabSize).Length;
            var result = new NgramOrderResult(order, model.MeanLoss(corpus.Validation.Span), seconds, model.NgramCount, bytes);
            results.Add(result);
            progress?.Invoke(result);
        }
        return results;
    }

    /// <summary>The result with the lowest validation loss (the first of equals).</summary>
    public static NgramOrderResult Best(IReadOnlyList<NgramOrderResult> results) =>
        results.Count > 0 ? results.MinBy(r => r.ValNatsPerChar)! : throw new ArgumentException("no orders were run");

    /// <summary>"1-9", "3", "1,2,5" or "2-4,7": the orders, increasing, each once, within 1..max.</summary>
    public static int[] ParseOrders(string text, int max = NgramLanguageModel.MaxOrder)
    {
        var orders = new SortedSet<int>();
        foreach (string part in text.Split(','))
        {
            string[] ends = part.Split('-');
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)))
                throw new ArgumentException($"orders must look like 1-9, 5 or 1,3,5 (got '{text}')");
            int from = int.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture), to = int.Parse(ends[^1], System.Globalization.CultureInfo.InvariantCulture);
            if (from < 1 || to > max || from > to) throw new ArgumentException($"orders must be within 1..{max}, low to high (got '{part}')");
            for (int k = from; k <= to; k++) orders.Add(k);
        }
        return orders.ToArray();
    }
}
