namespace Recurrent.Data;

/// <summary>
/// The output classes of a classifier or tagger (sentence labels, or tags such as "B-PER"): ids follow ordinal order of
/// the names, so the same data always gives the same ids.
/// </summary>
public sealed class LabelSet
{
    private readonly string[] _names;
    private readonly Dictionary<string, int> _ids;

    private LabelSet(string[] names)
    {
        _names = names;
        _ids = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++) _ids.Add(names[i], i);
    }

    /// <summary>Number of labels; ids are 0 … Count − 1.</summary>
    public int Count => _names.Length;

    /// <summary>The names in id order: the list config.json stores.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The distinct labels of <paramref name="labels"/> (every occurrence in the training data), sorted ordinally.</summary>
    public static LabelSet Build(IEnumerable<string> labels)
    {
        string[] names = labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (names.Length == 0) throw new ArgumentException("a label set needs at least one label");
        return new LabelSet(names);
    }

    /// <summary>Rebuilds a label set from <see cref="Names"/> as stored: non-empty, no name empty or listed twice.</summary>
    public static LabelSet FromList(IReadOnlyList<string> names)
    {
        if (names.Count == 0) throw new InvalidDataException("a label set must list at least one label");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            if (string.IsNullOrEmpty(names[i])) throw new InvalidDataException($"label set entry {i} is empty");
            if (!seen.Add(names[i])) throw new InvalidDataException($"label set lists \"{names[i]}\" twice");
        }
        return new LabelSet([.. names]);
    }

    /// <summary>The id of <paramref name="label"/>, −1 if it is not in the set.</summary>
    public int Id(string label) => _ids.TryGetValue(label, out int id) ? id : -1;

    /// <summary>The label of <paramref name="id"/>; throws <see cref="ArgumentOutOfRangeException"/> outside [0, Count).</summary>
    public string Name(int id) => (uint)id < (uint)_names.Length ? _names[id]
        : throw new ArgumentOutOfRangeException(nameof(id), $"id {id} is outside the label set of {Count}");
}
