using System.Text.RegularExpressions;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>`recurrent train` as a new user meets it (issue 14): a configuration that cannot fit in memory is refused
/// with the figure, a short run with the default intervals shows a sample, and the closing hint is a command that runs.</summary>
public class TrainPapercutTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public void AnOptionGivenTwiceIsOneLine()
    {
        var (code, _, error) = CharLmFixture.Run("sample", "--model", _f.Path("a"), "--model", _f.Path("b"));
        Assert.Equal(2, code);
        Assert.Equal("recurrent sample: --model given twice", error.Trim().Split('\n')[0].Split(" (")[0].Trim());
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void TheEstimateCountsEveryParameterFourTimesAndGrowsWithTheChunk()
    {
        var vocabulary = Vocabulary.FromText(CharLmFixture.Text);
        foreach (var (cell, embedding, learned) in new[] { (CellKind.Lstm, 4, false), (CellKind.Gru, 0, false), (CellKind.RnnTanh, 5, false),
                     (CellKind.Leaky, 3, true), (CellKind.Leaky, 3, false) })
        {
            var config = new CharLanguageModelConfig(cell, vocabulary, embedding, 7, 3, 0, Residual: cell == CellKind.Gru)
                { Leak = learned ? Leak.Learn() : Leak.Fixed(0.5f) };
            long parameters = new CharLanguageModel(config, new Rng(1)).ParameterCount();
            Assert.Equal(4.0 * 4 * parameters, MemoryEstimate.CharLanguageModelBytes(config, 0, 0));
        }
        // The defaults on tiny-shakespeare's 65 symbols: well under a GiB; --seq-len 1000000: hundreds of GiB.
        var lstm = new CharLanguageModelConfig(CellKind.Lstm, Vocabulary.Parse(new string(Enumerable.Range(32, 65).Select(i => (char)i).ToArray())), 64, 256, 2, 0.2f);
        Assert.InRange(MemoryEstimate.CharLanguageModelBytes(lstm, 100, 32), 50e6, 1L << 30);
        Assert.True(MemoryEstimate.CharLanguageModelBytes(lstm, 1_000_000, 32) > 100.0 * (1L << 30));
    }

    [Fact]
    public void AConfigurationThatCannotFitIsRefusedWithTheFigureBeforeAnythingIsWritten()
    {
        string text = _f.Write("long.txt", string.Concat(Enumerable.Repeat(CharLmFixture.Text, 40)));
        string dir = _f.Path("huge");
        var (code, output, error) = CharLmFixture.Run("train", "--data", text, "--out", dir, "--seq-len", "1000000", "--hidden", "65536",
            "--layers", "64", "--batch", "1", "--steps", "1", "--threads", "1");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Matches(@"^recurrent train: this model needs ~[\d.]+ GiB to train with --seq-len 1000000 \(cut to \d+, the stream length\) " +
                       @"--batch 1 --hidden 65536 --layers 64, [\d.]+ GiB available; lower one of them\n$", error);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void AShortRunWithTheDefaultIntervalsSamplesAtStep100()
    {
        var (code, output, error) = CharLmFixture.Run(["train", "--data", _f.Data, "--out", _f.Path("m"), "--steps", "120",
            "--sample-length", "20", .. CharLmFixture.Tiny]);
        Assert.True(code == 0, error);
        Assert.Equal(["--- sample at step 100 ---"], Regex.Matches(output, "--- sample at step \\d+ ---").Select(m => m.Value));
    }

    [Fact]
    public void TheClosingHintIsACommandThatRuns()
    {
        string dir = _f.Path("m");
        string output = CharLmFixture.Ok(["train", "--data", _f.Data, "--out", dir, "--steps", "2", .. CharLmFixture.Tiny]);
        string hint = output.Split('\n').Single(l => l.StartsWith("sample it: ", StringComparison.Ordinal));
        bool onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "recurrent")));
        if (onPath) Assert.Equal($"sample it: recurrent sample --model {dir}", hint);
        else
        {
            // Run from this repository's build: `dotnet run` of the CLI project, whose path holds from here.
            var m = Regex.Match(hint, $"^sample it: dotnet run --project (.+) -c Release -- sample --model {Regex.Escape(dir)}$");
            Assert.True(m.Success, hint);
            Assert.True(File.Exists(Path.Combine(m.Groups[1].Value, "Recurrent.Cli.csproj")), hint);
        }
    }
}
