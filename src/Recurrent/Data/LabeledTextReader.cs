namespace Recurrent.Data;

/// <summary>One example of a sentence classification file: its label, its words and the 1-based line it is on.</summary>
public sealed record LabeledText(string Label, string[] Words, int Line);

/// <summary>
/// Reads sentence classification data (SST-2 style): one example per line, <c>label&lt;TAB&gt;text</c>. The label is
/// everything before the first TAB (surrounding spaces dropped); the words are the rest split on whitespace (the text
/// is expected to be tokenised already, as SST's is).
///
/// The file is read strictly (<see cref="TabSeparatedLines"/>); every error is one line "FILE:LINE: what is wrong".
/// </summary>
public static class LabeledTextReader
{
    /// <summary>
    /// Reads the examples of a <c>label&lt;TAB&gt;text</c> file. Throws <see cref="InvalidDataException"/> "FILE:LINE: what
    /// is wrong" at the first problem, including a line of more than <paramref name="maxWords"/> words.
    /// </summary>
    public static List<LabeledText> Read(string path, int maxWords = 400)
    {
        if (maxWords < 1) throw new ArgumentOutOfRangeException(nameof(maxWords), $"maxWords must be at least 1 (got {maxWords})");
        var lines = TabSeparatedLines.Read(path, "label<TAB>text", "examples", oneTab: false);
        var examples = new List<LabeledText>(lines.Count);
        foreach (var (before, after, number) in lines)
        {
            string label = before.Trim();
            if (label.Length == 0) throw new InvalidDataException($"{path}:{number}: empty label before the TAB");
            string[] words = after.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) throw new InvalidDataException($"{path}:{number}: empty text after the TAB");
            if (words.Length > maxWords)
                throw new InvalidDataException($"{path}:{number}: {words.Length} words, more than the limit of {maxWords}");
            examples.Add(new LabeledText(label, words, number));
        }
        return examples;
    }
}
