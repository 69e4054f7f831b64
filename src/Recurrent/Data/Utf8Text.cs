using System.Text;
using System.Text.Unicode;

namespace Recurrent.Data;

/// <summary>
/// Reads a text file strictly: it must exist, be non-empty, contain no NUL byte (the mark of a binary file) and be valid
/// UTF-8. Every failure is one line naming the file and, for bad bytes, the line and column where they are, so the
/// user can open the file there. A leading UTF-8 byte-order mark is dropped.
/// </summary>
public static class Utf8Text
{
    /// <summary>
    /// The file's text, without a leading byte-order mark. Throws <see cref="FileNotFoundException"/> when it is missing,
    /// <see cref="IOException"/> for a directory, and <see cref="InvalidDataException"/> when it is empty, has a NUL byte or
    /// is not valid UTF-8; <paramref name="what"/> names the file in the message ("data file 'x.txt' is empty").
    /// </summary>
    public static string ReadFile(string path, string what = "data file")
    {
        if (Directory.Exists(path)) throw new IOException($"{what} '{path}' is a directory, not a file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{what} '{path}' not found", path);
        byte[] bytes = File.ReadAllBytes(path);
        ReadOnlySpan<byte> span = bytes;
        if (span.StartsWith("\uFEFF"u8)) span = span[3..];
        if (span.IsEmpty) throw new InvalidDataException($"{what} '{path}' is empty");

        int nul = span.IndexOf((byte)0);
        if (nul >= 0)
        {
            var (line, column) = Position(span, nul);
            throw new InvalidDataException($"{what} '{path}' looks binary: NUL byte at line {line}, column {column}");
        }
        if (!Utf8.IsValid(span))
        {
            int bad = FirstInvalidByte(span);
            var (line, column) = Position(span, bad);
            throw new InvalidDataException(
                $"{what} '{path}' is not valid UTF-8: byte 0x{span[bad]:X2} at line {line}, column {column}");
        }
        return Encoding.UTF8.GetString(span);
    }

    private static int FirstInvalidByte(ReadOnlySpan<byte> span)
    {
        int offset = 0;
        while (offset < span.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(span[offset..], out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done) return offset;
            offset += consumed;
        }
        return span.Length;
    }

    /// <summary>1-based line and column (in characters, i.e. code points) of a byte offset in UTF-8 text.</summary>
    internal static (int Line, int Column) Position(ReadOnlySpan<byte> utf8, int offset)
    {
        ReadOnlySpan<byte> before = utf8[..offset];
        int line = before.Count((byte)'\n') + 1;
        int lineStart = before.LastIndexOf((byte)'\n') + 1;
        int column = 1;
        // A code point starts at every byte that is not a continuation byte (10xxxxxx).
        foreach (byte b in before[lineStart..]) if ((b & 0xC0) != 0x80) column++;
        return (line, column);
    }

    /// <summary>1-based line and column (in code points) of a UTF-16 index into a string.</summary>
    public static (int Line, int Column) Position(string text, int index)
    {
        ReadOnlySpan<char> before = text.AsSpan(0, index);
        int line = before.Count('\n') + 1;
        int lineStart = before.LastIndexOf('\n') + 1;
        int column = 1;
        foreach (char c in before[lineStart..]) if (!char.IsLowSurrogate(c)) column++;
        return (line, column);
    }
}
