using System.Globalization;

namespace Recurrent.Data;

/// <summary>
/// One line of a conditioned-generation file: its condition, either a class <see cref="Label"/> or a
/// <see cref="Vector"/> (the other is null), the words of its text and the 1-based line it is on.
/// </summary>
public sealed record ConditionedLine(string? Label, float[]? Vector, string[] Words, int Line);

/// <summary>
/// The lines of a conditioned-generation file; <see cref="IsVector"/> tells which kind of condition they all have and
/// <see cref="VectorSize"/> the vectors' length (0 for labels).
/// </summary>
public sealed record ConditionedCorpus(IReadOnlyList<ConditionedLine> Lines, bool IsVector, int VectorSize);

/// <summary>
/// Reads the one-to-many task's data: one example per line, <c>condition&lt;TAB&gt;text</c>, where a model generates the
/// text from the condition. The condition is either a class label (one token without spaces: "positive", "sonnet",
/// or a class id such as SST-2's "0" and "1") or a vector: two or more numbers separated by spaces, in
/// invariant-culture notation ("0.5 -1 2e-3"). Every line of a file has the same kind of condition, and every vector
/// the same length as the first line's. The text is split on spaces (<c>text.Split(' ', RemoveEmptyEntries)</c>): it
/// is expected to be tokenized already.
///
/// Read strictly, as the other readers (<see cref="TabSeparatedLines"/>). Every error is one line
/// "FILE:LINE: what is wrong": no TAB or more than one, an empty condition or text, a condition of several words that
/// are not all numbers, a number that is not finite (NaN, ∞, or beyond float's range), a condition of the other kind
/// than the first line's, a vector of another length.
/// </summary>
public static class ConditionedText
{
    /// <summary>Reads and checks a <c>condition&lt;TAB&gt;text</c> file; throws <see cref="InvalidDataException"/> "FILE:LINE: what is wrong" at the first problem.</summary>
    public static ConditionedCorpus Read(string path)
    {
        var lines = TabSeparatedLines.Read(path, "condition<TAB>text", "examples", oneTab: true);
        var examples = new List<ConditionedLine>(lines.Count);
        foreach (var (before, after, number) in lines)
        {
            string[] condition = before.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] words = after.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (condition.Length == 0) throw new InvalidDataException($"{path}:{number}: empty condition before the TAB");
            if (words.Length == 0) throw new InvalidDataException($"{path}:{number}: empty text after the TAB");

            var example = Parse(condition, words, number, path);
            if (examples.Count > 0)
            {
                var first = examples[0];
                if ((example.Vector is null) != (first.Vector is null))
                    throw new InvalidDataException($"{path}:{number}: condition is {Kind(example)} but the first line's is {Kind(first)} " +
                        "(every line needs the same kind)");
                if (example.Vector is not null && example.Vector.Length != first.Vector!.Length)
                    throw new InvalidDataException($"{path}:{number}: condition has {example.Vector.Length} values, the first line had {first.Vector.Length}");
            }
            examples.Add(example);
        }
        float[]? vector = examples[0].Vector;
        return new ConditionedCorpus(examples, vector is not null, vector?.Length ?? 0);
    }

    private static ConditionedLine Parse(string[] condition, string[] words, int number, string path)
    {
        if (condition.Length == 1) return new ConditionedLine(condition[0], null, words, number);

        var vector = new float[condition.Length];
        for (int k = 0; k < condition.Length; k++)
        {
            if (!float.TryParse(condition[k], NumberStyles.Float, CultureInfo.InvariantCulture, out vector[k]))
                throw new InvalidDataException(
                    $"{path}:{number}: condition value {k + 1} '{condition[k]}' is not a number (a label is one token without spaces; " +
                    "a vector is two or more numbers separated by spaces)");
            if (!float.IsFinite(vector[k]))
                throw new InvalidDataException($"{path}:{number}: condition value {k + 1} '{condition[k]}' is not a finite number");
        }
        return new ConditionedLine(null, vector, words, number);
    }

    private static string Kind(ConditionedLine line) =>
        line.Vector is null ? $"a label '{line.Label}'" : $"a vector of {line.Vector.Length} values";
}
