using System.Text;
using Recurrent.Data;
using Xunit;

namespace Recurrent.Tests;

public class CharCorpusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charcorpus").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void SplitTakesTheLastFractionForValidation()
    {
        string text = string.Concat(Enumerable.Range(0, 100).Select(i => (char)('a' + i % 26)));
        var c = CharCorpus.FromText(text, 0.1, "text");
        Assert.Equal(90, c.TrainLength);
        Assert.Equal(10, c.Validation.Length);
        Assert.Equal(c.Vocabulary.Encode(text[90..]), c.Validation.ToArray());
        Assert.Equal(100, CharCorpus.FromText(text, 0, "text").TrainLength);
    }

    [Fact]
    public void ValidationTooShortIsAnError()
    {
        var e = Assert.Throws<InvalidDataException>(() => CharCorpus.FromText("abcdefghij", 0.1, "'x'"));
        Assert.Contains("--val-fraction 0", e.Message);
    }

    [Fact]
    public void ReadsUtf8AndDropsTheByteOrderMark()
    {
        string path = Write("ok.txt", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("héllo\n")]);
        Assert.Equal("héllo\n", Utf8Text.ReadFile(path));
    }

    [Fact]
    public void MissingEmptyBinaryAndNonUtf8FilesAreOneLineErrors()
    {
        string missing = Path.Combine(_dir, "nope.txt");
        Assert.Contains("not found", Assert.Throws<FileNotFoundException>(() => Utf8Text.ReadFile(missing)).Message);
        Assert.Contains("is empty", Assert.Throws<InvalidDataException>(() => Utf8Text.ReadFile(Write("e.txt", []))).Message);
        Assert.Contains("is a directory", Assert.Throws<IOException>(() => Utf8Text.ReadFile(_dir)).Message);

        string binary = Write("b.bin", [(byte)'a', (byte)'\n', (byte)'x', 0, 1, 2]);
        var e = Assert.Throws<InvalidDataException>(() => Utf8Text.ReadFile(binary));
        Assert.Contains("binary", e.Message);
        Assert.Contains("line 2, column 2", e.Message);

        // "é" is two bytes but one column; 0xFF can never appear in UTF-8.
        string latin = Write("l.txt", [.. Encoding.UTF8.GetBytes("ok\nédf"), 0xFF, (byte)'\n']);
        e = Assert.Throws<InvalidDataException>(() => Utf8Text.ReadFile(latin));
        Assert.Contains("not valid UTF-8: byte 0xFF at line 2, column 4", e.Message);
        Assert.DoesNotContain("\n", e.Message);

        // A truncated multi-byte sequence at the end.
        string cut = Write("c.txt", [(byte)'a', 0xC3]);
        Assert.Contains("line 1, column 2", Assert.Throws<InvalidDataException>(() => Utf8Text.ReadFile(cut)).Message);
    }
}
