using System.Text;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Every bad input to `recurrent train` is one line on stderr and a non-zero exit, and an existing model directory given
/// as --out (even with --force, which would replace it) is left byte for byte as it was.
/// </summary>
public class TrainBadInputTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private void AssertFailsAndChangesNothing(string[] args, string expected, int exitCode = -1)
    {
        string existing = _f.Path("existing");
        if (!Directory.Exists(existing)) _f.Train("existing", "--steps", "2");
        var before = CharLmFixture.Snapshot(existing);
        // --steps: a command that wrongly succeeds must not train for the default ten minutes.
        var (code, output, error) = CharLmFixture.Run(["train", .. args, "--out", existing, "--force", "--steps", "1"]);
        Assert.NotEqual(0, code);
        if (exitCode >= 0) Assert.Equal(exitCode, code);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("recurrent train: ", error);
        Assert.Contains(expected, error);
        var after = CharLmFixture.Snapshot(existing);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (file, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[file]), $"{file} changed");
    }

    [Fact]
    public void MissingEmptyBinaryAndNonUtf8Data()
    {
        AssertFailsAndChangesNothing(["--data", _f.Path("missing.txt")], "not found");
        AssertFailsAndChangesNothing(["--data", _f.WriteBytes("empty.txt", [])], "is empty");
        AssertFailsAndChangesNothing(["--data", _f.WriteBytes("b.bin", [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00])], "looks binary: NUL byte at line 1, column 7");
        AssertFailsAndChangesNothing(["--data", _f.WriteBytes("latin1.txt", [.. Encoding.ASCII.GetBytes("Caf"), 0xE9, (byte)'\n'])],
            "not valid UTF-8: byte 0xE9 at line 1, column 4");
        AssertFailsAndChangesNothing(["--data", _f.Dir], "is a directory");
    }

    [Fact]
    public void TextTooShortForOneBatch()
    {
        AssertFailsAndChangesNothing(["--data", _f.Write("short.txt", "To be, or not to be"), "--val-fraction", "0", "--batch", "32"],
            "too short for --batch 32");
        AssertFailsAndChangesNothing(["--data", _f.Write("short2.txt", "To be, or not to be"), "--val-fraction", "0.05"], "too short to validate");
    }

    [Fact]
    public void NonsensicalFlags()
    {
        string[] data = ["--data", _f.Data];
        AssertFailsAndChangesNothing([.. data, "--hidden", "-3"], "--hidden must be between 1", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--layers", "0"], "--layers", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--embedding", "-1"], "--embedding", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--cell", "transformer"], "--cell must be one of lstm, gru, rnn, rnn-relu", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--dropout", "1.5"], "--dropout", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--lr", "-0.1"], "--lr", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--optimizer", "lbfgs"], "--optimizer must be one of", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--seq-len", "abc"], "--seq-len must be a whole number", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--time", "soon"], "--time", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--hiddne", "8"], "unknown option --hiddne", exitCode: 2);
        AssertFailsAndChangesNothing([.. data, "--val-fraction", "1"], "--val-fraction", exitCode: 2);
    }

    [Fact]
    public void AnExistingModelIsNotReplacedWithoutForce()
    {
        string dir = _f.Train("m", "--steps", "2");
        var before = CharLmFixture.Snapshot(dir);
        var (code, _, error) = CharLmFixture.Run(["train", "--data", _f.Data, "--out", dir, "--steps", "2", .. CharLmFixture.Tiny]);
        Assert.Equal(1, code);
        Assert.Contains("already holds a model; continue it with --resume", error);
        Assert.Equal(before.Keys.Order(), CharLmFixture.Snapshot(dir).Keys.Order());
        // With --force it is replaced by a new model.
        CharLmFixture.Ok(["train", "--data", _f.Data, "--out", dir, "--steps", "3", "--force", "--json", .. CharLmFixture.Tiny]);
        Assert.Equal(3, Training.TrainLog.Read(Path.Combine(dir, "log.jsonl"))[^1].Step);
    }

    [Fact]
    public void CorruptOrForeignModelDirectoriesCannotBeResumed()
    {
        string dir = _f.Train("m", "--steps", "2");
        var (code, _, error) = CharLmFixture.Run("train", "--resume", _f.Path("nowhere"));
        Assert.Equal(1, code);
        Assert.Contains("not found", error);

        Directory.CreateDirectory(_f.Path("foreign"));
        File.WriteAllText(_f.Path("foreign/readme.txt"), "hello");
        (code, _, error) = CharLmFixture.Run("train", "--resume", _f.Path("foreign"));
        Assert.Contains("is not a model directory", error);

        // A resume reads optimizer.safetensors: a truncated one is named, and the directory is left as it was.
        var state = Path.Combine(dir, "optimizer.safetensors");
        File.WriteAllBytes(state, File.ReadAllBytes(state)[..100]);
        var before = CharLmFixture.Snapshot(dir);
        (code, var output, error) = CharLmFixture.Run("train", "--resume", dir, "--steps", "4");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("optimizer.safetensors", error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        foreach (var (file, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"{file} changed");

        // Model and optimization are fixed once the model exists; the text must be the same.
        string good = _f.Train("good", "--steps", "2");
        (code, _, error) = CharLmFixture.Run("train", "--resume", good, "--hidden", "32");
        Assert.Equal(2, code);
        Assert.Contains("--hidden cannot change when resuming", error);
        (code, _, error) = CharLmFixture.Run("train", "--resume", good, "--data", _f.Write("other.txt", CharLmFixture.Text + "x"), "--steps", "4");
        Assert.Equal(1, code);
        Assert.Contains("is not the text the model", error);
    }
}
