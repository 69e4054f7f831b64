using System.Globalization;
using System.Text;

namespace Recurrent.Data;

/// <summary>
/// The characters of a text, one id each: ids follow code-point order (Python's sorted(set(text))), so the same text
/// always gives the same vocabulary. A "character" is a Unicode code point (a <see cref="Rune"/>), so letters outside the
/// Basic Multilingual Plane are one symbol, not two surrogates.
/// </summary>
public sealed class Vocabulary
{
    private readonly string[] _symbols;
    private readonly Dictionary<int, int> _ids;

    private Vocabulary(string[] symbols)
    {
        _symbols = symbols;
        _ids = new Dictionary<int, int>(symbols.Length);
        for (int i = 0; i < symbols.Length; i++) _ids.Add(char.ConvertToUtf32(symbols[i], 0), i);
    }

    /// <summary>Number of symbols; ids are 0 … Count − 1.</summary>
    public int Count => _symbols.Length;

    /// <summary>The symbols in id order.</summary>
    public IReadOnlyList<string> Symbols => _symbols;

    /// <summary>All symbols concatenated in id order: the form config.json stores.</summary>
    public string AsString() => string.Concat(_symbols);

    /// <summary>The distinct code points of <paramref name="text"/> in code-point order; throws <see cref="ArgumentException"/> for an empty text.</summary>
    public static Vocabulary FromText(string text)
    {
        var codePoints = new SortedSet<int>();
        foreach (Rune r in text.EnumerateRunes()) codePoints.Add(r.Value);
        if (codePoints.Count == 0) throw new ArgumentException("a vocabulary needs at least one character");
        return new Vocabulary(codePoints.Select(cp => new Rune(cp).ToString()).ToArray());
    }

    /// <summary>Parses <see cref="AsString"/>: each code point is one symbol, in id order, none twice.</summary>
    public static Vocabulary Parse(string symbols)
    {
        var list = new List<string>();
        var seen = new HashSet<int>();
        for (int i = 0; i < symbols.Length;)
        {
            if (Rune.DecodeFromUtf16(symbols.AsSpan(i), out Rune r, out int used) != System.Buffers.OperationStatus.Done)
                throw new InvalidDataException($"vocabulary has an unpaired surrogate at position {i}");
            if (!seen.Add(r.Value)) throw new InvalidDataException($"vocabulary lists {Describe(r)} twice");
            list.Add(r.ToString());
            i += used;
        }
        if (list.Count == 0) throw new InvalidDataException("vocabulary is empty");
        return new Vocabulary(list.ToArray());
    }

    /// <summary>True when the character has an id.</summary>
    public bool Contains(Rune r) => _ids.ContainsKey(r.Value);

    /// <summary>The id of the character; throws <see cref="ArgumentException"/> when it is not in the vocabulary.</summary>
    public int Id(Rune r) => _ids.TryGetValue(r.Value, out int id) ? id
        : throw new ArgumentException($"{Describe(r)} is not in the vocabulary");

    /// <summary>The symbol of <paramref name="id"/>; throws <see cref="ArgumentOutOfRangeException"/> outside [0, Count).</summary>
    public string Symbol(int id) => (uint)id < (uint)_symbols.Length ? _symbols[id]
        : throw new ArgumentOutOfRangeException(nameof(id), $"id {id} is outside the vocabulary of {Count}");

    /// <summary>
    /// The ids of every character of <paramref name="text"/>. A character the vocabulary lacks is an error naming it
    /// and its line and column in <paramref name="source"/>.
    /// </summary>
    public int[] Encode(string text, string source = "the text")
    {
        var ids = new int[CountRunes(text)];
        int n = 0, index = 0;
        foreach (Rune r in text.EnumerateRunes())
        {
            if (!_ids.TryGetValue(r.Value, out int id))
            {
                var (line, column) = Utf8Text.Position(text, index);
                throw new InvalidDataException(
                    $"{Describe(r)} at line {line}, column {column} of {source} is not in the model's vocabulary");
            }
            ids[n++] = id;
            index += r.Utf16SequenceLength;
        }
        return ids;
    }

    /// <summary>The text of <paramref name="ids"/>, one symbol each; throws <see cref="ArgumentOutOfRangeException"/> for an id outside the vocabulary.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length);
        foreach (int id in ids) sb.Append(Symbol(id));
        return sb.ToString();
    }

    private static int CountRunes(string text)
    {
        int n = 0;
        foreach (char c in text) if (!char.IsLowSurrogate(c)) n++;
        return n;
    }

    /// <summary>"character 'a' (U+0061)"; control characters are shown only by code.</summary>
    public static string Describe(Rune r)
    {
        string code = "U+" + r.Value.ToString("X4", CultureInfo.InvariantCulture);
        return Rune.IsControl(r) || Rune.IsWhiteSpace(r) ? $"character {code}" : $"character '{r}' ({code})";
    }
}
