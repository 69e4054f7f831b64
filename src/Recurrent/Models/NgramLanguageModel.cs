using System.Runtime.InteropServices;
using Recurrent.Data;
using Recurrent.Tensors;

namespace Recurrent.Models;

/// <summary>
/// A character n-gram language model with interpolated modified Kneser–Ney smoothing (Chen &amp; Goodman 1998), the
/// count-based baseline a recurrent char-LM is measured against. N = order, V = vocabulary; an n-gram of order k is
/// a context h of k − 1 characters and the character w after it.
///
///   P_0(w) = 1/V                                                         (uniform: every character has P &gt; 0)
///   P_k(w | h) = max(c_k(hw) − D_k(c_k(hw)), 0) / c_k(h•) + γ_k(h)·P_{k−1}(w | h′)      k = 1..N, h′ = h without its
///   γ_k(h) = (D_k1·N1(h•) + D_k2·N2(h•) + D_k3+·N3+(h•)) / c_k(h•)                       first character
///   P_k(w | h) = P_{k−1}(w | h′)   when c_k(h•) = 0 (a context never seen) or h is longer than the text before w
///
/// where c_N is the raw count of the n-gram in the training text, and for k &lt; N the continuation count
/// c_k(hw) = N1+(•hw), the number of distinct characters seen before hw (how many contexts it completes, not how often);
/// c_k(h•) = Σ_w c_k(hw), N_r(h•) = #{w : c_k(hw) = r} (N3+: r ≥ 3), and D_k are the discounts of order k's counts
/// (<see cref="KneserNeyDiscounts"/>). Each level gives away exactly the mass γ_k(h) its discounts remove, so every
/// P_k(· | h) sums to 1 over the vocabulary. Order 1 is the smoothed unigram: raw counts, discounted, plus γ/V.
///
/// Kept: per order k, the counts c_k by n-gram key (the ids in base V, oldest character first: key(hw) = key(h)·V + w)
/// and, derived from them, c_k(h•) and γ_k(h) per context. The text start has no character before it, so the n-gram
/// there has no continuation from it: the text is one long stream, and this costs one position per order.
/// </summary>
public sealed class NgramLanguageModel
{
    /// <summary>config.json's "task" for an n-gram model.</summary>
    public const string Task = "ngram";
    /// <summary>The highest order accepted (keys must also fit 64 bits: V^N ≤ 2^63).</summary>
    public const int MaxOrder = 32;

    /// <summary>N: the longest n-gram counted (the model conditions on the N − 1 previous characters).</summary>
    public int Order { get; }
    /// <summary>The characters of the training text, one id each.</summary>
    public Vocabulary Vocabulary { get; }
    /// <summary>V: the number of characters.</summary>
    public int VocabSize => Vocabulary.Count;
    /// <summary>[N]: the discounts of order k at index k − 1.</summary>
    public IReadOnlyList<KneserNeyDiscounts> Discounts => _discounts;
    /// <summary>The n-grams stored, all orders together (the model's size).</summary>
    public long NgramCount => _counts.Sum(c => (long)c.Count);

    private readonly Dictionary<ulong, int>[] _counts;          // [N]: c_k by key
    private readonly Dictionary<ulong, ContextStats>[] _contexts; // [N]: c_k(h•) and γ_k(h) by context key
    private readonly KneserNeyDiscounts[] _discounts;
    private readonly ulong[] _power;                             // V^j, j = 0..N
    private readonly double[] _scratch;                          // [V]: the distribution of Generate

    private readonly record struct ContextStats(double Total, double Gamma);

    private NgramLanguageModel(Vocabulary vocabulary, int order, Dictionary<ulong, int>[] counts)
    {
        Vocabulary = vocabulary;
        Order = order;
        _power = Powers(vocabulary.Count, order);
        _counts = counts;
        _discounts = new KneserNeyDiscounts[order];
        _contexts = new Dictionary<ulong, ContextStats>[order];
        for (int k = 0; k < order; k++)
        {
            _discounts[k] = KneserNeyDiscounts.FromCounts(counts[k].Values);
            _contexts[k] = ContextsOf(counts[k], _discounts[k], (ulong)vocabulary.Count);
        }
        _scratch = new double[vocabulary.Count];
    }

    /// <summary>Counts every n-gram of <paramref name="tokens"/> (ids of <paramref name="vocabulary"/>) up to
    /// <paramref name="order"/>.</summary>
    public static NgramLanguageModel Build(ReadOnlySpan<int> tokens, Vocabulary vocabulary, int order)
    {
        ulong[] power = Powers(vocabulary.Count, order);
        int V = vocabulary.Count;
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)V)
                throw new ArgumentException($"token {tokens[i]} at position {i} is outside the vocabulary of {V}");
        if (tokens.Length == 0) throw new ArgumentException("an n-gram model needs a training text of at least one character");

        // From the top order down: c_N is raw; c_k (k < N) counts the distinct (k+1)-grams that end in each k-gram.
        var counts = new Dictionary<ulong, int>[order];
        Dictionary<ulong, int>? above = null; // the raw counts of order k + 1
        for (int k = order; k >= 1; k--)
        {
            if (above == null) counts[k - 1] = RawCounts(tokens, k, power);
            else
            {
                var continuation = new Dictionary<ulong, int>();
                foreach (ulong key in above.Keys) CollectionsMarshal.GetValueRefOrAddDefault(continuation, key % power[k], out _)++;
                counts[k - 1] = continuation;
            }
            if (k > 1) above = k == order ? counts[k - 1] : RawCounts(tokens, k, power);
        }
        return new NgramLanguageModel(vocabulary, order, counts);
    }

    /// <summary>A model from its counts (what a model file stores): <paramref name="counts"/>[k − 1] is c_k, keys below
    /// V^k, counts ≥ 1.</summary>
    public static NgramLanguageModel FromCounts(Vocabulary vocabulary, int order, Dictionary<ulong, int>[] counts)
    {
        ulong[] power = Powers(vocabulary.Count, order);
        if (counts.Length != order) throw new ArgumentException($"an order-{order} model needs {order} count tables, got {counts.Length}");
        for (int k = 1; k <= order; k++)
            foreach (var (key, c) in counts[k - 1])
                if (key >= power[k] || c < 1)
                    throw new ArgumentException($"order {k}: n-gram key {key} with count {c} is not a count of an n-gram over {vocabulary.Count} characters");
        return new NgramLanguageModel(vocabulary, order, counts);
    }

    /// <summary>c_k of order k (1..N): key → count, as stored.</summary>
    public IReadOnlyDictionary<ulong, int> Counts(int order) =>
        order >= 1 && order <= Order ? _counts[order - 1] : throw new ArgumentOutOfRangeException(nameof(order), $"order {order} is outside 1..{Order}");

    /// <summary>The key of an n-gram (ids oldest first): the ids as digits in base V.</summary>
    public ulong Key(ReadOnlySpan<int> ngram)
    {
        if (ngram.Length > Order) throw new ArgumentException($"a {ngram.Length}-gram is longer than the order {Order}");
        ulong key = 0;
        foreach (int id in ngram) key = key * (ulong)VocabSize + (ulong)CheckId(id);
        return key;
    }

    /// <summary>P(<paramref name="next"/> | the last N − 1 ids of <paramref name="context"/>, or all of them when fewer).</summary>
    public double Probability(ReadOnlySpan<int> context, int next)
    {
        CheckId(next);
        double p = 1.0 / VocabSize;
        ulong ctx = 0;
        int n = context.Length;
        for (int k = 1; k <= Order; k++)
        {
            if (k > 1)
            {
                if (k - 1 > n) break; // no longer context before this character
                ctx += (ulong)CheckId(context[n - (k - 1)]) * _power[k - 2];
            }
            if (!_contexts[k - 1].TryGetValue(ctx, out var stats)) continue; // an unseen context passes P_{k−1} on
            int c = _counts[k - 1].GetValueOrDefault(ctx * (ulong)VocabSize + (ulong)next);
            p = (c > 0 ? (c - _discounts[k - 1].For(c)) / stats.Total : 0) + stats.Gamma * p;
        }
        return p;
    }

    /// <summary>P(w | context) for every w of the vocabulary into <paramref name="probabilities"/> [V].</summary>
    public void Distribution(ReadOnlySpan<int> context, Span<double> probabilities)
    {
        int V = VocabSize;
        if (probabilities.Length != V) throw new ArgumentException($"the distribution needs {V} entries, got {probabilities.Length}");
        probabilities.Fill(1.0 / V);
        ulong ctx = 0;
        int n = context.Length;
        for (int k = 1; k <= Order; k++)
        {
            if (k > 1)
            {
                if (k - 1 > n) break;
                ctx += (ulong)CheckId(context[n - (k - 1)]) * _power[k - 2];
            }
            if (!_contexts[k - 1].TryGetValue(ctx, out var stats)) continue;
            var counts = _counts[k - 1];
            var d = _discounts[k - 1];
            for (int w = 0; w < V; w++)
            {
                int c = counts.GetValueOrDefault(ctx * (ulong)V + (ulong)w);
                probabilities[w] = (c > 0 ? (c - d.For(c)) / stats.Total : 0) + stats.Gamma * probabilities[w];
            }
        }
    }

    /// <summary>
    /// Mean −ln P (nats/char) of tokens[1..] given the characters before each within <paramref name="tokens"/> (the
    /// first only gives context): the N − 1 positions a char-LM's evaluation predicts in the same text.
    /// </summary>
    public double MeanLoss(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length < 2) throw new InvalidDataException($"a text of {tokens.Length} character(s) has nothing to predict");
        double sum = 0;
        for (int i = 1; i < tokens.Length; i++)
            sum -= Math.Log(Probability(tokens[Math.Max(0, i - Order + 1)..i], tokens[i]));
        return sum / (tokens.Length - 1);
    }

    /// <summary>
    /// Draws <paramref name="length"/> characters after <paramref name="prime"/> (ids), each from P(· | the characters
    /// before it) through <paramref name="sampler"/> (its temperature and top-k act on ln P), handing each to
    /// <paramref name="emit"/> as it is drawn.
    /// </summary>
    public void Generate(ReadOnlySpan<int> prime, int length, TokenSampler sampler, Rng rng, Action<string> emit)
    {
        if (prime.Length == 0) throw new ArgumentException("the prime text must not be empty");
        var history = new int[Math.Max(Order - 1, 1)];
        int filled = 0;
        foreach (int id in prime[Math.Max(0, prime.Length - history.Length)..]) history[filled++] = CheckId(id);
        var logits = new float[VocabSize];
        for (int i = 0; i < length; i++)
        {
            Distribution(history.AsSpan(0, filled), _scratch);
            for (int w = 0; w < logits.Length; w++) logits[w] = (float)Math.Log(_scratch[w]);
            int next = sampler.Next(logits, rng);
            emit(Vocabulary.Symbol(next));
            if (filled == history.Length) { Array.Copy(history, 1, history, 0, filled - 1); filled--; }
            history[filled++] = next;
        }
    }

    private int CheckId(int id) => (uint)id < (uint)VocabSize ? id
        : throw new ArgumentException($"id {id} is outside the vocabulary of {VocabSize}");

    /// <summary>V^j for j = 0..order; an order whose keys do not fit 64 bits is an error naming it.</summary>
    private static ulong[] Powers(int vocabSize, int order)
    {
        if (order < 1 || order > MaxOrder) throw new ArgumentException($"the order must be in 1..{MaxOrder} (got {order})");
        if (vocabSize < 1) throw new ArgumentException($"the vocabulary must have at least one character (got {vocabSize})");
        var power = new ulong[order + 1];
        power[0] = 1;
        for (int j = 1; j <= order; j++)
        {
            UInt128 next = (UInt128)power[j - 1] * (uint)vocabSize;
            if (next > (UInt128)1 << 63)
                throw new ArgumentException($"order {order} is too high for a vocabulary of {vocabSize} characters: its n-gram keys ({vocabSize}^{order}) do not fit 64 bits");
            power[j] = (ulong)next;
        }
        return power;
    }

    private static Dictionary<ulong, int> RawCounts(ReadOnlySpan<int> tokens, int k, ulong[] power)
    {
        var counts = new Dictionary<ulong, int>();
        ulong key = 0, V = power[1];
        for (int i = 0; i < tokens.Length; i++)
        {
            key = key % power[k - 1] * V + (ulong)tokens[i]; // the last k ids
            if (i >= k - 1) CollectionsMarshal.GetValueRefOrAddDefault(counts, key, out _)++;
        }
        return counts;
    }

    private static Dictionary<ulong, ContextStats> ContextsOf(Dictionary<ulong, int> counts, KneserNeyDiscounts d, ulong V)
    {
        var sums = new Dictionary<ulong, (long Total, double Discounted)>();
        foreach (var (key, c) in counts)
        {
            ref var s = ref CollectionsMarshal.GetValueRefOrAddDefault(sums, key / V, out _);
            s.Total += c;
            s.Discounted += d.For(c);
        }
        var contexts = new Dictionary<ulong, ContextStats>(sums.Count);
        foreach (var (ctx, s) in sums) contexts.Add(ctx, new ContextStats(s.Total, s.Discounted / s.Total));
        return contexts;
    }
}
