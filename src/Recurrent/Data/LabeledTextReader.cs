namespace Recurrent.Data;

/// <summary>One example of a sentence classification file: its label, its words and the 1-based line it is on.</summary>
public sealed record LabeledText(string Label, string[] Words, int Line);

/// <summary>
/// Reads sentence classification data (SST-2 style): one example per line, <c>label&lt;TAB&gt;text</c>. The label is
/// everything before the first TAB (surrounding spaces dropped); the words are the rest split on whitespace (the text
/// is expected to be tokenised already, as SST's is).
///
/// The file is read strictly (see <see cref="Utf8Text"/>: it must exist, be non-empty and valid UTF-8). LF or CRLF line
/// ends; the last line need not end with one. Blank lines at the end of the file are ignored; a blank line anywhere
/// else is an error, because in a one-example-per-line file it means something went wrong (a broken export, two
/// files pasted together) and skipping it would shift every line number the user is shown afterwards. Every error is
/// one line "FILE:LINE: what is wrong".
/// </summary>
public static class LabeledTextReader
{
    public static List<LabeledText> Read(string path, int maxWords = 400)
    {
        if (maxWords < 1) throw new ArgumentOutOfRangeException(nameof(maxWords), $"maxWords must be at least 1 (got {maxWords})");
        string[] lines = Utf8Text.ReadFile(path, "data file").Split('\n');
        int end = lines.Length;
        while (end > 0 && string.IsNullOrWhiteSpace(lines[end - 1])) end--;
        if (end == 0) throw new InvalidDataException($"{path}:1: the file has only blank lines, no examples");

        var examples = new List<LabeledText>(end);
        for (int i = 0; i < end; i++)
        {
            int number = i + 1;
            string line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
                throw new InvalidDataException($"{path}:{number}: blank line (expected label<TAB>text; only trailing blank lines are allowed)");
            int tab = line.IndexOf('\t');
            if (tab < 0) throw new InvalidDataException($"{path}:{number}: no TAB (expected label<TAB>text)");
            string label = line[..tab].Trim();
            if (label.Length == 0) throw new InvalidDataException($"{path}:{number}: empty label before the TAB");
            string[] words = line[(tab + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) throw new InvalidDataException($"{path}:{number}: empty text after the TAB");
            if (words.Length > maxWords)
                throw new InvalidDataException($"{path}:{number}: {words.Length} words, more than the limit of {maxWords}");
            examples.Add(new LabeledText(label, words, number));
        }
        return examples;
    }
}
