namespace Recurrent.Data;

/// <summary>One line of a one-record-per-line file, split at its first TAB, with its 1-based number.</summary>
public readonly record struct TabSeparatedLine(string Before, string After, int Line);

/// <summary>
/// The lines of a one-record-per-line file whose records are <c>left&lt;TAB&gt;right</c> (classification, translation
/// and generation data), read strictly: see <see cref="Utf8Text"/> (the file must exist, be non-empty and valid
/// UTF-8); LF or CRLF; blank lines at the end are ignored, a blank line anywhere else is an error, because in such a
/// file it means something went wrong (a broken export, two files pasted together) and skipping it would shift every
/// line number shown afterwards. Each error is one line "FILE:LINE: what is wrong", naming the expected
/// <c>format</c>.
/// </summary>
public static class TabSeparatedLines
{
    /// <param name="format">what a line holds, for the messages: "label&lt;TAB&gt;text".</param>
    /// <param name="records">what the file holds, for the message of a file of blank lines: "examples".</param>
    /// <param name="oneTab">a second TAB is an error (otherwise it belongs to the part after the first).</param>
    /// <param name="path">the file; its name starts every error message.</param>
    public static List<TabSeparatedLine> Read(string path, string format, string records, bool oneTab)
    {
        string[] lines = Utf8Text.ReadFile(path, "data file").Split('\n');
        int end = lines.Length;
        while (end > 0 && string.IsNullOrWhiteSpace(lines[end - 1])) end--;
        if (end == 0) throw new InvalidDataException($"{path}:1: the file has only blank lines, no {records}");

        var result = new List<TabSeparatedLine>(end);
        for (int i = 0; i < end; i++)
        {
            int number = i + 1;
            string line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
                throw new InvalidDataException($"{path}:{number}: blank line (expected {format}; only trailing blank lines are allowed)");
            int tab = line.IndexOf('\t');
            if (tab < 0) throw new InvalidDataException($"{path}:{number}: no TAB (expected {format})");
            int tabs = oneTab ? line.AsSpan().Count('\t') : 1;
            if (tabs > 1) throw new InvalidDataException($"{path}:{number}: {tabs} TABs (expected one: {format})");
            result.Add(new TabSeparatedLine(line[..tab], line[(tab + 1)..], number));
        }
        return result;
    }
}
