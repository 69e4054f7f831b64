namespace Recurrent.Data;

/// <summary>
/// Word ids for word-level models. Id 0 is <c>&lt;pad&gt;</c> (the filler past a sequence's end in a padded batch),
/// id 1 is <c>&lt;unk&gt;</c> (every word the vocabulary lacks); then the training words by descending count, ties in
/// ordinal order, so the same words always give the same ids. When <see cref="Lowercase"/> is set, words are
/// lowercased (invariant culture) both when the vocabulary is built and when a word is looked up, so "The" and "the"
/// share an id; when <see cref="ZeroDigits"/> is set, every ASCII digit is read as 0 the same way, so "1996" and "2003"
/// share one (Lample et al. 2016). A corpus word equal to "&lt;pad&gt;" or "&lt;unk&gt;" (PTB writes its rare words as &lt;unk&gt;) maps to
/// the special id of that name.
///
/// A vocabulary built with sentence markers (the target side of a decoder) also reserves <c>&lt;s&gt;</c> = 2, the
/// start symbol a decoder is fed before the first word, and <c>&lt;/s&gt;</c> = 3, the end symbol it emits after the
/// last; the words start at id 4 instead of 2. Corpus words equal to a marker map to it, as for the other two.
/// </summary>
public sealed class WordVocabulary
{
    /// <summary>The spellings of the padding word (id 0) and the unknown word (id 1).</summary>
    public const string Pad = "<pad>", Unknown = "<unk>";
    /// <summary>The ids of <see cref="Pad"/> and <see cref="Unknown"/>, in every word vocabulary.</summary>
    public const int PadId = 0, UnknownId = 1;
    /// <summary>The spellings of the sentence markers: start (fed to a decoder first) and end (emitted after the last word).</summary>
    public const string Start = "<s>", End = "</s>";
    /// <summary>The ids of <see cref="Start"/> and <see cref="End"/> in a vocabulary with <see cref="HasSentenceMarkers"/>.</summary>
    public const int StartId = 2, EndId = 3;

    private readonly string[] _words;
    private readonly Dictionary<string, int> _ids;

    private WordVocabulary(string[] words, bool lowercase, bool zeroDigits)
    {
        _words = words;
        Lowercase = lowercase;
        ZeroDigits = zeroDigits;
        HasSentenceMarkers = words.Length >= 4 && words[StartId] == Start && words[EndId] == End;
        _ids = new Dictionary<string, int>(words.Length, StringComparer.Ordinal);
        for (int i = 0; i < words.Length; i++) _ids.Add(words[i], i);
    }

    /// <summary>Number of words, special ones included; ids are 0 … Count − 1.</summary>
    public int Count => _words.Length;
    /// <summary>Words are lowercased (invariant culture) when built and looked up.</summary>
    public bool Lowercase { get; }
    /// <summary>Every ASCII digit is read as 0 when built and looked up.</summary>
    public bool ZeroDigits { get; }

    /// <summary>Whether <see cref="Start"/> and <see cref="End"/> hold ids 2 and 3 (see the class comment).</summary>
    public bool HasSentenceMarkers { get; }

    /// <summary>The words in id order, <c>&lt;pad&gt;</c> and <c>&lt;unk&gt;</c> (and the sentence markers) first: the list config.json stores.</summary>
    public IReadOnlyList<string> Words => _words;

    /// <summary>How often each word occurs, after lowercasing and digit zeroing when those are set.</summary>
    public static Dictionary<string, int> CountWords(IEnumerable<string> words, bool lowercase, bool zeroDigits = false)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string w in words)
        {
            string key = Normalize(w, lowercase, zeroDigits);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }

    /// <summary>
    /// The vocabulary of <paramref name="words"/> (the training text, every occurrence): words seen fewer than
    /// <paramref name="minCount"/> times are left out (they become &lt;unk&gt;, which then has training examples);
    /// <paramref name="maxSize"/> &gt; 0 caps <see cref="Count"/>, the special words included, keeping the most
    /// frequent words. <paramref name="sentenceMarkers"/> reserves &lt;s&gt; and &lt;/s&gt; too (ids 2 and 3).
    /// </summary>
    public static WordVocabulary Build(IEnumerable<string> words, int minCount, bool lowercase, int maxSize = 0, bool zeroDigits = false,
        bool sentenceMarkers = false)
    {
        if (minCount < 1) throw new ArgumentOutOfRangeException(nameof(minCount), $"minCount must be at least 1 (got {minCount})");
        string[] reserved = sentenceMarkers ? [Pad, Unknown, Start, End] : [Pad, Unknown];
        if (maxSize < 0 || (maxSize > 0 && maxSize <= reserved.Length))
            throw new ArgumentOutOfRangeException(nameof(maxSize),
                $"maxSize is 0 (no limit) or at least {reserved.Length + 1}, room for {string.Join(", ", reserved)} and a word (got {maxSize})");
        var kept = CountWords(words, lowercase, zeroDigits)
            .Where(kv => kv.Value >= minCount && !reserved.Contains(kv.Key))
            .OrderByDescending(kv => kv.Value)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Key);
        if (maxSize > 0) kept = kept.Take(maxSize - reserved.Length);
        return new WordVocabulary([.. reserved, .. kept], lowercase, zeroDigits);
    }

    /// <summary>
    /// Rebuilds a vocabulary from <see cref="Words"/> as stored in config.json: it must start with &lt;pad&gt;,
    /// &lt;unk&gt;, list no word twice and none empty, and hold only words a lookup can reach (lowercase ones when
    /// lowercasing, none with a digit other than 0 when zeroing digits). A list whose next two words are &lt;s&gt;,
    /// &lt;/s&gt; has <see cref="HasSentenceMarkers"/> (the ids are the stored ones either way).
    /// </summary>
    public static WordVocabulary FromList(IReadOnlyList<string> words, bool lowercase, bool zeroDigits = false)
    {
        if (words.Count < 2 || words[PadId] != Pad || words[UnknownId] != Unknown)
            throw new InvalidDataException($"a word vocabulary must start with \"{Pad}\", \"{Unknown}\"");
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < words.Count; i++)
        {
            string w = words[i];
            if (string.IsNullOrEmpty(w)) throw new InvalidDataException($"word vocabulary entry {i} is empty");
            if (!seen.TryAdd(w, i)) throw new InvalidDataException($"word vocabulary lists \"{w}\" twice (entries {seen[w]} and {i})");
            if (lowercase && w != w.ToLowerInvariant())
                throw new InvalidDataException($"word vocabulary entry {i} \"{w}\" is not lowercase but the vocabulary lowercases words");
            if (zeroDigits && w.Any(c => char.IsAsciiDigit(c) && c != '0'))
                throw new InvalidDataException($"word vocabulary entry {i} \"{w}\" has a digit other than 0 but the vocabulary zeroes digits");
        }
        return new WordVocabulary([.. words], lowercase, zeroDigits);
    }

    /// <summary>The id of <paramref name="word"/> (normalized first: <see cref="Lowercase"/>, <see cref="ZeroDigits"/>), <see cref="UnknownId"/> if absent.</summary>
    public int Id(string word) => _ids.TryGetValue(Normalize(word), out int id) ? id : UnknownId;

    /// <summary>True when the normalized word is in the vocabulary (the special words included), so <see cref="Id"/> does not fall back to <see cref="UnknownId"/>.</summary>
    public bool Contains(string word) => _ids.ContainsKey(Normalize(word));

    /// <summary>The word of <paramref name="id"/> as stored (normalized); throws <see cref="ArgumentOutOfRangeException"/> outside [0, Count).</summary>
    public string Word(int id) => (uint)id < (uint)_words.Length ? _words[id]
        : throw new ArgumentOutOfRangeException(nameof(id), $"id {id} is outside the vocabulary of {Count}");

    /// <summary>The ids of a sentence's words.</summary>
    public int[] Encode(IReadOnlyList<string> words)
    {
        var ids = new int[words.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = Id(words[i]);
        return ids;
    }

    private string Normalize(string word) => Normalize(word, Lowercase, ZeroDigits);

    private static string Normalize(string word, bool lowercase, bool zeroDigits)
    {
        if (lowercase) word = word.ToLowerInvariant();
        if (!zeroDigits || !word.Any(char.IsAsciiDigit)) return word;
        return string.Create(word.Length, word, (span, w) =>
        {
            for (int i = 0; i < w.Length; i++) span[i] = char.IsAsciiDigit(w[i]) ? '0' : w[i];
        });
    }
}
