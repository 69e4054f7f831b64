using Recurrent.Distributed;
namespace Recurrent.Metrics;

/// <summary>
/// A corpus BLEU score and its parts: <see cref="Bleu"/> and <see cref="Precisions"/> (p1..p4) in percent, 0–100; the
/// brevity penalty as a factor in (0, 1]; the summed hypothesis length c and closest-reference length r.
/// </summary>
public sealed record BleuScore(double Bleu, double BrevityPenalty, double[] Precisions, long HypothesisLength, long ReferenceLength);

/// <summary>
/// Corpus BLEU-4 (Papineni et al. 2002), N = 4, uniform weights, over token sequences (the translation task scores
/// <see cref="Data.TranslationTokenizer"/>'s lowercased tokens):
///
///   p_n  = Σ_sentences Σ_ngrams min(count in hypothesis, max count in any one reference) / Σ_sentences (n-grams in hypothesis)
///   BP   = 1 if c &gt; r, else exp(1 − r / c)      (0 when c = 0)
///   BLEU = BP · exp(¼ Σ_n ln p_n)
///
/// where c is the total hypothesis length and r the total of each sentence's closest reference length (the reference
/// whose length is nearest the hypothesis's; on a tie the shorter). Counts are summed over the corpus before any
/// division, so BLEU is not the mean of sentence BLEUs. No smoothing: BLEU is 0 when any p_n is 0 (NLTK's unsmoothed
/// corpus_bleu gives 0 too, or a number below 1e-70), and when the corpus has no n-grams of an order at all.
///
/// A hypothesis shorter than n has no n-grams and adds nothing to p_n's denominator, as in multi-bleu.perl and
/// sacreBLEU; NLTK instead counts at least 1 per sentence (its max(1, ·)), which lowers p3 and p4 on corpora of very
/// short sentences, so NLTK agrees with this only when every hypothesis has at least 4 tokens.
/// </summary>
public static class Bleu
{
    /// <summary>The highest n-gram order counted: BLEU-4, p_1 … p_4 with equal weights.</summary>
    public const int MaxOrder = 4;

    /// <summary>The BLEU of <paramref name="hypotheses"/>, hypothesis i scored against all of <paramref name="references"/>[i].</summary>
    public static BleuScore Corpus(IReadOnlyList<IReadOnlyList<string>> hypotheses, IReadOnlyList<IReadOnlyList<IReadOnlyList<string>>> references)
    {
        if (hypotheses.Count != references.Count)
            throw new ArgumentException($"{hypotheses.Count} hypotheses but {references.Count} reference lists (one per hypothesis)");
        var statistics = new BleuStatistics();
        for (int i = 0; i < hypotheses.Count; i++) statistics.Add(hypotheses[i], references[i]);
        return statistics.Score();
    }
}

/// <summary>
/// The sums corpus BLEU is computed from (see <see cref="Bleu"/>), added one sentence at a time; two accumulators over
/// parts of a corpus add up to the one over the whole (<see cref="Add(BleuStatistics)"/>).
/// </summary>
public sealed class BleuStatistics
{
    private readonly long[] _matches = new long[Bleu.MaxOrder], _totals = new long[Bleu.MaxOrder];
    // Reused by every Add: n-gram counts of the hypothesis and of one reference, and the clip per hypothesis n-gram.
    private readonly Dictionary<NGram, int> _hypothesisCounts = [], _referenceCounts = [], _clip = [];

    /// <summary>Hypothesis–references pairs added.</summary>
    public int Sentences { get; private set; }

    /// <summary>c: the summed hypothesis lengths.</summary>
    public long HypothesisLength { get; private set; }

    /// <summary>r: the summed closest-reference lengths.</summary>
    public long ReferenceLength { get; private set; }

    /// <summary>Clipped n-gram matches for n = 1..4 (index n − 1).</summary>
    public IReadOnlyList<long> Matches => _matches;

    /// <summary>Hypothesis n-grams for n = 1..4 (index n − 1): p_n's denominators.</summary>
    public IReadOnlyList<long> Totals => _totals;

    /// <summary>Adds one hypothesis and all its references (at least one).</summary>
    public void Add(IReadOnlyList<string> hypothesis, IReadOnlyList<IReadOnlyList<string>> references)
    {
        if (references.Count == 0) throw new ArgumentException("a hypothesis needs at least one reference (got none)", nameof(references));
        int c = hypothesis.Count;
        int closest = references[0].Count;
        foreach (var reference in references)
        {
            int r = reference.Count, distance = Math.Abs(r - c), best = Math.Abs(closest - c);
            if (distance < best || (distance == best && r < closest)) closest = r;
        }
        HypothesisLength += c;
        ReferenceLength += closest;
        Sentences++;

        for (int n = 1; n <= Bleu.MaxOrder && n <= c; n++)
        {
            Count(hypothesis, n, _hypothesisCounts);
            _clip.Clear();
            foreach (var reference in references)
            {
                Count(reference, n, _referenceCounts);
                foreach (var gram in _hypothesisCounts.Keys)
                    if (_referenceCounts.TryGetValue(gram, out int inReference) && inReference > _clip.GetValueOrDefault(gram))
                        _clip[gram] = inReference;
            }
            foreach (var (gram, count) in _hypothesisCounts) _matches[n - 1] += Math.Min(count, _clip.GetValueOrDefault(gram));
            _totals[n - 1] += c - n + 1;
        }
        // Drop the references to the caller's token lists.
        _hypothesisCounts.Clear();
        _referenceCounts.Clear();
        _clip.Clear();
    }

    /// <summary>Adds another accumulator's sums (BLEU of the two parts of a corpus together).</summary>
    public void Add(BleuStatistics other)
    {
        for (int i = 0; i < Bleu.MaxOrder; i++)
        {
            _matches[i] += other._matches[i];
            _totals[i] += other._totals[i];
        }
        HypothesisLength += other.HypothesisLength;
        ReferenceLength += other.ReferenceLength;
        Sentences += other.Sentences;
    }

    /// <summary>Sums these statistics over the ranks (each scored its share of a corpus): every rank then holds the
    /// whole corpus's.</summary>
    public void SumOver(ICollective group)
    {
        if (group.Size == 1) return;
        Span<long> all = stackalloc long[2 * Bleu.MaxOrder + 3];
        _matches.CopyTo(all);
        _totals.CopyTo(all[Bleu.MaxOrder..]);
        (all[^3], all[^2], all[^1]) = (HypothesisLength, ReferenceLength, Sentences);
        group.Sum(all);
        all[..Bleu.MaxOrder].CopyTo(_matches);
        all.Slice(Bleu.MaxOrder, Bleu.MaxOrder).CopyTo(_totals);
        (HypothesisLength, ReferenceLength, Sentences) = (all[^3], all[^2], (int)all[^1]);
    }

    /// <summary>BLEU of everything added so far (all zero before anything is).</summary>
    public BleuScore Score()
    {
        var precisions = new double[Bleu.MaxOrder];
        double logSum = 0;
        bool anyZero = false;
        for (int i = 0; i < Bleu.MaxOrder; i++)
        {
            double p = _totals[i] == 0 ? 0 : (double)_matches[i] / _totals[i];
            precisions[i] = 100 * p;
            if (p == 0) anyZero = true;
            else logSum += Math.Log(p);
        }
        double penalty = HypothesisLength > ReferenceLength ? 1
            : HypothesisLength == 0 ? 0
            : Math.Exp(1 - (double)ReferenceLength / HypothesisLength);
        double bleu = anyZero ? 0 : 100 * penalty * Math.Exp(logSum / Bleu.MaxOrder);
        return new BleuScore(bleu, penalty, precisions, HypothesisLength, ReferenceLength);
    }

    private static void Count(IReadOnlyList<string> tokens, int n, Dictionary<NGram, int> counts)
    {
        counts.Clear();
        for (int start = 0; start + n <= tokens.Count; start++)
        {
            var gram = new NGram(tokens, start, n);
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
    }

    /// <summary>n consecutive tokens of a sentence, not copied; equal when the tokens are, ordinally.</summary>
    private readonly struct NGram(IReadOnlyList<string> tokens, int start, int length) : IEquatable<NGram>
    {
        private readonly IReadOnlyList<string> _tokens = tokens;
        private readonly int _start = start, _length = length;

        public bool Equals(NGram other)
        {
            if (_length != other._length) return false;
            for (int i = 0; i < _length; i++)
                if (!string.Equals(_tokens[_start + i], other._tokens[other._start + i], StringComparison.Ordinal)) return false;
            return true;
        }

        public override bool Equals(object? obj) => obj is NGram other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            for (int i = 0; i < _length; i++) hash.Add(_tokens[_start + i], StringComparer.Ordinal);
            return hash.ToHashCode();
        }
    }
}
