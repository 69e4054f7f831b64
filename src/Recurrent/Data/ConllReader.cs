namespace Recurrent.Data;

/// <summary>One sentence of a tagging file: its tokens, one tag per token, and the 1-based line of its first token.</summary>
public sealed record TaggedSentence(string[] Words, string[] Tags, int Line);

/// <summary>
/// Reads sequence tagging data in CoNLL column format (NER with BIO tags, POS): one token per line, the token in the
/// first column and its tag in the last, sentences separated by blank lines.
///
/// Columns are separated by TABs; a line with no TAB is split on whitespace instead, since CoNLL files in the wild
/// (CoNLL-2003's eng.train) are space separated. Columns between the first and the last (POS or chunk tags) are
/// ignored. A line is blank when it is empty or only whitespace (WNUT-17's original files separate sentences with a
/// lone TAB); several blank lines in a row are one separator, and the file need not end with one. Lines whose token is
/// <c>-DOCSTART-</c> are document markers: they end the sentence before them and are skipped. LF or CRLF line ends.
///
/// The file is read strictly (see <see cref="Utf8Text"/>). Every error is one line "FILE:LINE: what is wrong": a line
/// with a single column (no tag), an empty token or tag, a sentence longer than <c>maxTokens</c> (usually a missing
/// blank line; it names the sentence's first line), a file with no sentences.
/// </summary>
public static class ConllReader
{
    /// <summary>The token of a CoNLL document marker line, which ends the sentence before it and is skipped.</summary>
    public const string DocStart = "-DOCSTART-";

    /// <summary>
    /// Reads the sentences of a CoNLL file (first column token, last column tag). Throws <see cref="InvalidDataException"/>
    /// "FILE:LINE: what is wrong" at the first problem, including a sentence longer than <paramref name="maxTokens"/>.
    /// </summary>
    public static List<TaggedSentence> Read(string path, int maxTokens = 250)
    {
        if (maxTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxTokens), $"maxTokens must be at least 1 (got {maxTokens})");
        string[] lines = Utf8Text.ReadFile(path, "data file").Split('\n');
        var sentences = new List<TaggedSentence>();
        var words = new List<string>();
        var tags = new List<string>();
        int first = 0; // line of the open sentence's first token

        void Close()
        {
            if (words.Count > 0) sentences.Add(new TaggedSentence(words.ToArray(), tags.ToArray(), first));
            words.Clear();
            tags.Clear();
        }

        for (int i = 0; i < lines.Length; i++)
        {
            int number = i + 1;
            string line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) { Close(); continue; }

            string[] columns = line.Contains('\t')
                ? line.Split('\t')
                : line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            string token = columns[0].Trim();
            if (token == DocStart) { Close(); continue; }
            if (columns.Length < 2)
                throw new InvalidDataException($"{path}:{number}: one column '{Show(line)}' (expected token and tag)");
            string tag = columns[^1].Trim();
            if (token.Length == 0) throw new InvalidDataException($"{path}:{number}: empty token");
            if (tag.Length == 0) throw new InvalidDataException($"{path}:{number}: empty tag");

            if (words.Count == 0) first = number;
            if (words.Count == maxTokens)
                throw new InvalidDataException(
                    $"{path}:{first}: the sentence starting here is longer than the limit of {maxTokens} tokens " +
                    $"(line {number} is token {maxTokens + 1}; a missing blank line between sentences?)");
            words.Add(token);
            tags.Add(tag);
        }
        Close();
        if (sentences.Count == 0) throw new InvalidDataException($"{path}:1: no sentences (only blank lines and {DocStart} markers)");
        return sentences;
    }

    /// <summary>A line as it may be quoted in a one-line message: at most 40 characters.</summary>
    private static string Show(string line) => line.Length <= 40 ? line : line[..40] + "...";
}
