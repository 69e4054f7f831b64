namespace Recurrent.Data;

/// <summary>One sentence pair of a translation file, tokenized, and the 1-based line it is on.</summary>
public sealed record ParallelPair(string[] Source, string[] Target, int Line);

/// <summary>
/// The pairs of a file that share one source sentence (the same token sequence): its translations, in file order, are
/// that source's BLEU references, and a system translates it once. <see cref="FirstLine"/> is the line of the first.
/// </summary>
public sealed record SourceGroup(string[] Source, IReadOnlyList<string[]> References, int FirstLine);

/// <summary>
/// A translation corpus: one sentence pair per line, <c>source&lt;TAB&gt;target</c>, each side tokenized by
/// <see cref="TranslationTokenizer"/> (lowercased), plus the pairs grouped by source sentence (<see cref="Sources"/>,
/// in order of first appearance): Tatoeba lists one English sentence with several French translations, each on a line
/// of its own, and all of them are references for the one translation a model gives.
///
/// Read strictly, as the other readers (<see cref="TabSeparatedLines"/>). Every error is one line
/// "FILE:LINE: what is wrong": a line without a TAB or with more than one (a TAB inside a sentence would silently move
/// words between the sides), an empty side, a source longer than the limit, a file with no pairs.
/// </summary>
public sealed class ParallelCorpus
{
    /// <summary>
    /// The default limit on source tokens. The encoder pads a batch to its longest source and decoding allows 2·S + 10
    /// target tokens, so one runaway line (a file with lost line breaks) would cost every batch it lands in; Tatoeba's
    /// sources have at most a dozen tokens and ordinary sentences well under 100.
    /// </summary>
    public const int MaxSourceTokens = 100;

    /// <summary>Groups <paramref name="pairs"/> by their source token sequence (ordinal comparison).</summary>
    public ParallelCorpus(IReadOnlyList<ParallelPair> pairs)
    {
        Pairs = pairs;
        var references = new Dictionary<string[], List<string[]>>(TokenSequenceComparer.Instance);
        var sources = new List<SourceGroup>();
        foreach (var pair in pairs)
        {
            if (!references.TryGetValue(pair.Source, out var targets))
            {
                targets = [];
                references.Add(pair.Source, targets);
                sources.Add(new SourceGroup(pair.Source, targets, pair.Line));
            }
            targets.Add(pair.Target);
        }
        Sources = sources;
    }

    /// <summary>Every pair, in file order.</summary>
    public IReadOnlyList<ParallelPair> Pairs { get; }

    /// <summary>The distinct source sentences in order of first appearance, each with all its targets.</summary>
    public IReadOnlyList<SourceGroup> Sources { get; }

    /// <summary>Reads a <c>source&lt;TAB&gt;target</c> file (UTF-8); sources longer than <paramref name="maxSourceTokens"/> are errors.</summary>
    public static ParallelCorpus Read(string path, int maxSourceTokens = MaxSourceTokens)
    {
        if (maxSourceTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(maxSourceTokens), $"maxSourceTokens must be at least 1 (got {maxSourceTokens})");
        var lines = TabSeparatedLines.Read(path, "source<TAB>target", "sentence pairs", oneTab: true);
        var pairs = new List<ParallelPair>(lines.Count);
        foreach (var (before, after, number) in lines)
        {
            string[] source = TranslationTokenizer.Tokenize(before);
            string[] target = TranslationTokenizer.Tokenize(after);
            if (source.Length == 0) throw new InvalidDataException($"{path}:{number}: empty source before the TAB");
            if (target.Length == 0) throw new InvalidDataException($"{path}:{number}: empty target after the TAB");
            if (source.Length > maxSourceTokens)
                throw new InvalidDataException($"{path}:{number}: source has {source.Length} tokens, more than the limit of {maxSourceTokens}");
            pairs.Add(new ParallelPair(source, target, number));
        }
        return new ParallelCorpus(pairs);
    }

    /// <summary>Token sequences equal when their tokens are, ordinally.</summary>
    private sealed class TokenSequenceComparer : IEqualityComparer<string[]>
    {
        public static readonly TokenSequenceComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

        public int GetHashCode(string[] tokens)
        {
            var hash = new HashCode();
            foreach (string token in tokens) hash.Add(token, StringComparer.Ordinal);
            return hash.ToHashCode();
        }
    }
}
