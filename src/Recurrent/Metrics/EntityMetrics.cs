using Recurrent.Distributed;
namespace Recurrent.Metrics;

/// <summary>
/// Entity-level precision, recall and F1 for BIO-tagged sequences, counted as the CoNLL shared tasks' conlleval script
/// counts them, plus token accuracy. Sentences are added one at a time (gold and predicted tags of the same tokens).
///
/// An entity is a maximal run of tokens (type, start, end) read from the tags by conlleval's rules: "B-X" always starts
/// an entity of type X; "I-X" continues the entity before it when that has type X, and otherwise (after "O", at the
/// sentence start, or after an entity of another type) starts a new one, so "O I-X" and "B-Y I-X" each hold an X entity
/// of their own. A predicted entity is correct only when gold has an entity with the same type, start and end.
///
///   precision = correct / predicted entities, recall = correct / gold entities, F1 = 2·P·R / (P + R)
///
/// micro-averaged (counts summed over all types, as conlleval's "overall" line) and per type. Values are fractions in
/// [0, 1] (conlleval prints percentages). An undefined ratio is 0, as conlleval prints it: precision with no predicted
/// entities, recall with no gold entities, F1 when P + R = 0 (so a set with no entities at all scores 0, not 1).
///
/// Token accuracy = tokens whose predicted tag equals the gold tag (the whole tag, prefix and type) / tokens; it counts
/// "O" tokens too, as conlleval's "accuracy" does. NaN before any token is added.
///
/// Tags are split at the first '-' into a prefix and a type, so types may hold hyphens ("B-creative-work" is type
/// "creative-work"). Tags without a hyphen ("O", or POS tags such as "NOUN") and tags with the prefix "O" belong to no
/// entity. conlleval agrees whenever such a tag follows "O" or another prefix-less tag, which covers a tag set with no
/// prefixes at all; right after a typed tag conlleval instead opens an untyped chunk that only a later typed tag
/// closes, an accident of its code we do not reproduce. A prefix other than B or I (IOBES's E- and S-, say) follows the
/// I- rule, which is again what conlleval does for BIO-like input; such tag sets are not BIO (<see cref="IsBio"/> is
/// false) and their entity counts should not be quoted.
/// </summary>
public sealed class EntityMetrics
{
    private sealed class TypeCounts { public long Gold, Predicted, Correct; }

    private readonly Dictionary<string, TypeCounts> _types = new(StringComparer.Ordinal);
    private long _gold, _predicted, _correct, _correctTags;

    /// <summary>Sentences added.</summary>
    public int Sentences { get; private set; }
    /// <summary>Tokens (tags) added over all sentences.</summary>
    public long Tokens { get; private set; }

    /// <summary>Adds one sentence: its gold and predicted tags, one per token.</summary>
    public void Add(IReadOnlyList<string> gold, IReadOnlyList<string> predicted)
    {
        if (gold.Count != predicted.Count)
            throw new ArgumentException($"a sentence has {gold.Count} gold tags but {predicted.Count} predicted tags");
        for (int i = 0; i < gold.Count; i++)
            if (string.Equals(gold[i], predicted[i], StringComparison.Ordinal)) _correctTags++;
        Tokens += gold.Count;
        Sentences++;

        var goldEntities = Entities(gold);
        var predictedEntities = Entities(predicted);
        var goldSet = new HashSet<(string, int, int)>(goldEntities);
        foreach (var e in goldEntities) { Counts(e.Type).Gold++; _gold++; }
        foreach (var e in predictedEntities)
        {
            var counts = Counts(e.Type);
            counts.Predicted++;
            _predicted++;
            if (goldSet.Contains(e)) { counts.Correct++; _correct++; }
        }
    }

    /// <summary>
    /// Sums the counts over the ranks (each scored its share of the data), per type for every type in
    /// <paramref name="types"/> (all the tag set can name, the same list on every rank) and in total: every rank then
    /// holds the whole data's.
    /// </summary>
    public void SumOver(ICollective group, IEnumerable<string> types)
    {
        if (group.Size == 1) return;
        var names = types.Concat(_types.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var all = new long[3 * names.Length + 6];
        for (int i = 0; i < names.Length; i++)
        {
            var c = Counts(names[i]);
            (all[3 * i], all[3 * i + 1], all[3 * i + 2]) = (c.Gold, c.Predicted, c.Correct);
        }
        (all[^6], all[^5], all[^4], all[^3], all[^2], all[^1]) = (_gold, _predicted, _correct, _correctTags, Tokens, Sentences);
        group.Sum(all);
        for (int i = 0; i < names.Length; i++)
        {
            var c = Counts(names[i]);
            (c.Gold, c.Predicted, c.Correct) = (all[3 * i], all[3 * i + 1], all[3 * i + 2]);
        }
        (_gold, _predicted, _correct, _correctTags, Tokens) = (all[^6], all[^5], all[^4], all[^3], all[^2]);
        Sentences = (int)all[^1];
        foreach (var name in names.Where(n => _types[n] is { Gold: 0, Predicted: 0 })) _types.Remove(name);
    }

    /// <summary>The entity types a tag set names: "PER" for B-PER and I-PER.</summary>
    public static IEnumerable<string> TypesOf(IEnumerable<string> tagNames) =>
        tagNames.Where(t => t.Length > 2 && t[1] == '-' && t[0] is 'B' or 'I').Select(t => t[2..]).Distinct(StringComparer.Ordinal);

    /// <summary>Fraction of tokens whose predicted tag equals the gold tag; NaN before any is added.</summary>
    public double TokenAccuracy => Tokens == 0 ? double.NaN : (double)_correctTags / Tokens;

    /// <summary>Micro-averaged entity precision: correct / predicted entities, over all types (0 when none predicted).</summary>
    public double Precision => Ratio(_correct, _predicted);
    /// <summary>Micro-averaged entity recall: correct / gold entities, over all types (0 when there are no gold entities).</summary>
    public double Recall => Ratio(_correct, _gold);
    /// <summary>Harmonic mean of <see cref="Precision"/> and <see cref="Recall"/> (0 when both are 0): conlleval's FB1.</summary>
    public double F1 => ClassificationMetrics.F1(Precision, Recall);

    /// <summary>Gold entities seen so far (conlleval's "phrases"), predicted entities ("found") and correct ones.</summary>
    public long GoldEntities => _gold;
    /// <summary>Entities in the predictions (conlleval's "found").</summary>
    public long PredictedEntities => _predicted;
    /// <summary>Predicted entities whose type and span exactly match a gold entity (conlleval's "correct").</summary>
    public long CorrectEntities => _correct;

    /// <summary>
    /// Per entity type, in ordinal order of the type names: every type seen in gold or predictions, as conlleval lists
    /// them. Support = gold entities of the type (conlleval prints the predicted count there instead).
    /// </summary>
    public IReadOnlyDictionary<string, (double Precision, double Recall, double F1, long Support)> PerType
    {
        get
        {
            var result = new SortedDictionary<string, (double, double, double, long)>(StringComparer.Ordinal);
            foreach (var (type, c) in _types)
            {
                double p = Ratio(c.Correct, c.Predicted), r = Ratio(c.Correct, c.Gold);
                result.Add(type, (p, r, ClassificationMetrics.F1(p, r), c.Gold));
            }
            return result;
        }
    }

    /// <summary>
    /// True when every tag is "O", "B-X" or "I-X" (X non-empty) and at least one is a B- tag: the tag sets entity F1 is
    /// meant for. A POS tag set (no prefixes) or an IOBES one is not BIO.
    /// </summary>
    public static bool IsBio(IEnumerable<string> tagNames)
    {
        bool anyBegin = false;
        foreach (string tag in tagNames)
        {
            if (tag == "O") continue;
            if (tag.Length < 3 || tag[1] != '-' || (tag[0] != 'B' && tag[0] != 'I')) return false;
            anyBegin |= tag[0] == 'B';
        }
        return anyBegin;
    }

    /// <summary>The entities of one sentence's tags, in order: (type, first token, one past the last token).</summary>
    public static List<(string Type, int Start, int End)> Entities(IReadOnlyList<string> tags)
    {
        var entities = new List<(string Type, int Start, int End)>();
        string? type = null; // the type of the open entity, null when none is open
        int start = 0;
        for (int i = 0; i < tags.Count; i++)
        {
            string tag = tags[i];
            int dash = tag.IndexOf('-');
            bool outside = dash < 0 || (dash == 1 && tag[0] == 'O');
            if (outside)
            {
                if (type is not null) entities.Add((type, start, i));
                type = null;
                continue;
            }
            string tagType = tag[(dash + 1)..];
            bool begins = dash == 1 && tag[0] == 'B';
            if (begins || type is null || !string.Equals(type, tagType, StringComparison.Ordinal))
            {
                if (type is not null) entities.Add((type, start, i));
                type = tagType;
                start = i;
            }
        }
        if (type is not null) entities.Add((type, start, tags.Count));
        return entities;
    }

    private TypeCounts Counts(string type)
    {
        if (!_types.TryGetValue(type, out var counts)) _types.Add(type, counts = new TypeCounts());
        return counts;
    }

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}
