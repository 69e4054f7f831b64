using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Recurrent.Tensors;

namespace Recurrent.Data;

/// <summary>
/// Pretrained word vectors in the text format GloVe and word2vec (and fastText's .vec) write: one word per line,
/// <c>word v1 … vD</c>, separated by single spaces. word2vec's first line "COUNT D" (two whole numbers) is a header
/// and is skipped, its D checked like a vector's (so a one-dimensional file whose first word is a whole number would
/// be misread; no real file is one). The word is everything before the first space; the vector is the
/// rest split on runs of spaces (trailing spaces and a CR are dropped). Splitting only on the ASCII space, not on any
/// whitespace, matters: glove.840B holds words with no-break spaces in them.
///
/// The file is streamed line by line as bytes (real files are gigabytes), and only the vectors of vocabulary words
/// are parsed: every line's UTF-8 and number of fields are checked (cheap), but its numbers only when the word is in
/// the vocabulary, so a malformed number on an unused line goes unnoticed rather than doubling the load time.
/// Numbers are parsed with the invariant culture and must be finite.
/// </summary>
public static class PretrainedVectors
{
    /// <summary>
    /// Copies into row id of <paramref name="weight"/> [V, D] the vector of every vocabulary word (V =
    /// <paramref name="vocabulary"/>.Count) the file holds, and returns how many words it found. Words are matched as
    /// <see cref="WordVocabulary.Id"/> matches them (lowercased when the vocabulary lowercases); when several file
    /// words map to one id ("The" and "the" under lowercasing) the first in the file wins. Other rows are left as they
    /// are (the caller initialized them), and so is the &lt;pad&gt; row whatever the file says. On an error
    /// (InvalidDataException, "FILE:LINE: ..."), rows copied before it stay copied.
    /// </summary>
    public static int LoadInto(string path, WordVocabulary vocabulary, Tensor weight)
    {
        if (weight.Rank != 2 || weight.Shape[0] != vocabulary.Count)
            throw new ShapeException(
                $"PretrainedVectors.LoadInto: expected weight [{vocabulary.Count}, D] for a vocabulary of {vocabulary.Count}, " +
                $"got {Tensor.Describe(weight.Shape)}");
        if (Directory.Exists(path)) throw new IOException($"word vectors file '{path}' is a directory, not a file");
        if (!File.Exists(path)) throw new FileNotFoundException($"word vectors file '{path}' not found", path);

        int dim = weight.Shape[1];
        var filled = new bool[vocabulary.Count];
        var vector = new float[dim];
        int found = 0, number = 0, fileDim = -1, dimLine = 0;
        bool header = false, anyVector = false;

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var reader = new LineReader(stream);
        while (reader.Next(out ReadOnlySpan<byte> line))
        {
            number++;
            if (number == 1 && line.StartsWith("\uFEFF"u8)) line = line[3..];
            line = line.TrimEnd(" \r"u8);
            if (line.IsEmpty) continue;
            if (!Utf8.IsValid(line))
            {
                int bad = FirstInvalidByte(line);
                var (_, column) = Utf8Text.Position(line, bad);
                string hint = header ? " (a binary word2vec file? only the text format is read)" : "";
                throw new InvalidDataException($"{path}:{number}: not valid UTF-8: byte 0x{line[bad]:X2} at column {column}{hint}");
            }
            int space = line.IndexOf((byte)' ');
            ReadOnlySpan<byte> word = space < 0 ? line : line[..space];
            ReadOnlySpan<byte> numbers = space < 0 ? [] : line[(space + 1)..].TrimStart((byte)' ');
            int fields = CountFields(numbers);

            if (fileDim < 0)
            {
                if (fields == 1 && IsCount(word, out _) && IsCount(numbers, out int headerDim))
                {
                    header = true;
                    fileDim = CheckDimension(headerDim, dim, path, number);
                    dimLine = number;
                    continue;
                }
                fileDim = CheckDimension(fields, dim, path, number);
                dimLine = number;
            }
            else if (fields != fileDim)
            {
                throw new InvalidDataException(
                    $"{path}:{number}: {fields} numbers after \"{Show(word)}\", but line {dimLine} says the vectors are " +
                    $"{fileDim}-dimensional");
            }
            anyVector = true;

            if (word.IsEmpty) continue;
            string w = Encoding.UTF8.GetString(word);
            if (!vocabulary.Contains(w)) continue;
            int id = vocabulary.Id(w);
            if (id == WordVocabulary.PadId || filled[id]) continue;
            Parse(numbers, vector, path, number);
            vector.CopyTo(weight.Data.AsSpan(id * dim, dim));
            filled[id] = true;
            found++;
        }
        if (!anyVector)
            throw new InvalidDataException(header
                ? $"{path}:{dimLine}: a header and no vectors after it"
                : $"{path}:1: no vectors (the file is empty)");
        return found;
    }

    private static int CheckDimension(int fileDim, int dim, string path, int number)
    {
        if (fileDim == 0) throw new InvalidDataException($"{path}:{number}: a word and no numbers after it");
        if (fileDim != dim)
            throw new InvalidDataException($"{path}:{number}: the file has {fileDim}-dimensional vectors but --embedding is {dim}");
        return fileDim;
    }

    private static int CountFields(ReadOnlySpan<byte> numbers)
    {
        // The usual line has single spaces (numbers has no leading or trailing one): a vectorized count does it.
        if (numbers.IsEmpty) return 0;
        if (numbers.IndexOf("  "u8) < 0) return numbers.Count((byte)' ') + 1;
        int n = 0;
        bool inField = false;
        foreach (byte b in numbers)
        {
            bool separator = b == (byte)' ';
            if (!separator && !inField) n++;
            inField = !separator;
        }
        return n;
    }

    /// <summary>Parses the D space-separated numbers of a line into <paramref name="vector"/>.</summary>
    private static void Parse(ReadOnlySpan<byte> numbers, float[] vector, string path, int number)
    {
        int k = 0;
        while (!numbers.IsEmpty)
        {
            int end = numbers.IndexOf((byte)' ');
            ReadOnlySpan<byte> field = end < 0 ? numbers : numbers[..end];
            numbers = end < 0 ? [] : numbers[(end + 1)..].TrimStart((byte)' ');
            if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float x) || !float.IsFinite(x))
                throw new InvalidDataException($"{path}:{number}: number {k + 1} '{Show(field)}' is not a finite number");
            vector[k++] = x;
        }
    }

    private static bool IsCount(ReadOnlySpan<byte> text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static string Show(ReadOnlySpan<byte> utf8)
    {
        string s = Encoding.UTF8.GetString(utf8);
        return s.Length <= 40 ? s : s[..40] + "...";
    }

    private static int FirstInvalidByte(ReadOnlySpan<byte> span)
    {
        int offset = 0;
        while (offset < span.Length)
        {
            if (Rune.DecodeFromUtf8(span[offset..], out _, out int consumed) != System.Buffers.OperationStatus.Done) return offset;
            offset += consumed;
        }
        return span.Length;
    }

    /// <summary>
    /// The lines of a stream as byte spans (without the '\n'), read through one buffer that grows only for a line
    /// longer than it; a span is valid until the next call.
    /// </summary>
    private sealed class LineReader(Stream stream)
    {
        private byte[] _buffer = new byte[1 << 20];
        private int _start, _end;
        private bool _eof;

        public bool Next(out ReadOnlySpan<byte> line)
        {
            int scanned = 0; // bytes of the pending line already searched for '\n'
            while (true)
            {
                int newline = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    line = _buffer.AsSpan(_start, scanned + newline);
                    _start += scanned + newline + 1;
                    return true;
                }
                scanned = _end - _start;
                if (_eof)
                {
                    line = _buffer.AsSpan(_start, _end - _start);
                    _start = _end;
                    return !line.IsEmpty;
                }
                if (_start > 0)
                {
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
                int read = stream.Read(_buffer, _end, _buffer.Length - _end);
                if (read == 0) _eof = true;
                else _end += read;
            }
        }
    }
}
