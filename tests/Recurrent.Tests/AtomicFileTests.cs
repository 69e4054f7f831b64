using Recurrent.IO;
using Xunit;

namespace Recurrent.Tests;

public class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("recurrent-atomic-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WritesNewFileAndReplacesOldOne_LeavingNoTemporaries()
    {
        string path = Path.Combine(_dir, "config.json");
        AtomicFile.WriteAllText(path, "first ü");
        Assert.Equal("first ü", File.ReadAllText(path));
        Assert.Equal(8, new FileInfo(path).Length); // UTF-8, no byte-order mark
        AtomicFile.Write(path, s => s.Write("second"u8));
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir));
    }

    [Fact]
    public void WriterThatThrowsLeavesOldFileIntactAndNoTemporary()
    {
        string path = Path.Combine(_dir, "weights.safetensors");
        AtomicFile.WriteAllText(path, "old content");
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100_000]); // partly written when it fails
            throw new InvalidOperationException("disk full, say");
        }));
        Assert.Equal("disk full, say", e.Message);
        Assert.Equal("old content", File.ReadAllText(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir));
    }

    [Fact]
    public void WriterThatThrowsOnFreshPathCreatesNothing()
    {
        string path = Path.Combine(_dir, "new.txt");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, _ => throw new IOException("boom")));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void MissingDirectoryIsAnIOError() =>
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAllText(Path.Combine(_dir, "no", "such", "x.txt"), "x"));
}
