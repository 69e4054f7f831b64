using Recurrent.Cli;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The command's mistakes as a new user makes them: each is one line on stderr that names what was given and what
/// would work, before anything is written.
/// </summary>
public class CliArgumentErrorTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static string Fails(int exitCode, params string[] args)
    {
        var (code, output, error) = CharLmFixture.Run(args);
        Assert.True(code == exitCode, $"exit {code}, expected {exitCode}: {error}");
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"recurrent {args[0]}: ", error);
        return error.TrimEnd('\n');
    }

    [Fact]
    public void AMisspelledRequiredOptionIsNamedBeforeTheRequirement()
    {
        string dir = _f.Train("m", "--steps", "2");
        Assert.Equal("recurrent sample: unknown option --modle (did you mean --model?)", Fails(2, "sample", "--modle", dir));
        Assert.Equal("recurrent eval: unknown option --mdoel (did you mean --model?)", Fails(2, "eval", "--mdoel", dir, "--data", _f.Data));
        Assert.Equal("recurrent eval: unknown option --dta (did you mean --data?)", Fails(2, "eval", "--model", dir, "--dta", _f.Data));
        // Nothing like it: the requirement itself.
        Assert.Contains("--model DIR is required", Fails(2, "sample", "--prime", "x"));
        // An unknown option among known ones names the closest known one.
        Assert.Equal("recurrent sample: unknown option --lenght (did you mean --length?)", Fails(2, "sample", "--model", dir, "--lenght", "5"));
        Assert.Equal("recurrent sample: unknown option --colour (see 'recurrent sample --help')", Fails(2, "sample", "--model", dir, "--colour", "red"));
    }

    [Fact]
    public void AModelThatIsAFileIsNamedAsAFile()
    {
        foreach (string verb in new[] { "sample", "eval", "plot", "predict" })
            Assert.Contains($"--model '{_f.Data}' is a file, not a directory (a directory written by 'recurrent train",
                Fails(2, verb, "--model", _f.Data, "--data", _f.Data));
        Assert.Contains($"--resume '{_f.Data}' is a file, not a directory", Fails(2, "train", "--resume", _f.Data, "--steps", "1"));
        Assert.Contains($"model directory '{_f.Path("none")}' not found", Fails(1, "sample", "--model", _f.Path("none")));
    }

    [Fact]
    public void NumbersNameTheBoundTheyBroke()
    {
        string[] train = ["train", "--data", _f.Data, "--out", _f.Path("m"), "--steps", "1"];
        Assert.EndsWith("--lr must be positive (got -1)", Fails(2, [.. train, "--lr", "-1"]));
        Assert.EndsWith("--lr must be positive (got 0)", Fails(2, [.. train, "--lr", "0"]));
        Assert.EndsWith("--lr must be at most 100 (got 1000)", Fails(2, [.. train, "--lr", "1000"]));
        Assert.EndsWith("--hidden must be at most 65536 (got 99999999999)", Fails(2, [.. train, "--hidden", "99999999999"]));
        Assert.EndsWith("--hidden must be at most 65536 (got 70000)", Fails(2, [.. train, "--hidden", "70000"]));
        Assert.EndsWith("--hidden must be between 1 and 65536 (got -99999999999)", Fails(2, [.. train, "--hidden", "-99999999999"]));
        Assert.EndsWith("--hidden must be a whole number (got '2.5')", Fails(2, [.. train, "--hidden", "2.5"]));
        Assert.EndsWith("--hidden must be a whole number (got 'many')", Fails(2, [.. train, "--hidden", "many"]));
        Assert.False(Directory.Exists(_f.Path("m")));
    }

    [Fact]
    public void ZeroStepsOrEpochsIsRefused()
    {
        string[] train = ["train", "--data", _f.Data, "--out", _f.Path("m"), .. CharLmFixture.Tiny];
        Assert.EndsWith("--steps must be at least 1 (got 0)", Fails(2, [.. train, "--steps", "0"]));
        Assert.EndsWith("--epochs must be positive (got 0)", Fails(2, [.. train, "--epochs", "0"]));
        Assert.False(Directory.Exists(_f.Path("m")));
        string dir = _f.Train("m", "--steps", "2");
        Assert.EndsWith("--steps must be at least 1 (got 0)", Fails(2, "train", "--resume", dir, "--steps", "0"));
    }

    [Fact]
    public void PlotOutThatIsADirectoryIsNamed()
    {
        string dir = _f.Train("m", "--steps", "2");
        Assert.Equal($"recurrent plot: --out '{_f.Dir}' is a directory: give a file name, such as '{Path.Combine(_f.Dir, "loss.svg")}'",
            Fails(2, "plot", "--model", dir, "--out", _f.Dir));
        Assert.Contains("the directory of --out", Fails(1, "plot", "--model", dir, "--out", _f.Path("no/such/dir/x.svg")));
    }

    [Fact]
    public void ThreadsAboveTheCoresAreCappedWithOneWarning()
    {
        int cores = Environment.ProcessorCount;
        var warnings = new StringWriter();
        var args = new CliArgs("sample", ["--threads", "999"], warnings);
        Assert.Equal(cores, args.Threads());
        Assert.Equal(cores, args.Threads());
        Assert.Equal($"recurrent sample: warning: --threads 999 is more than the {cores} cores available; using {cores}\n", warnings.ToString());

        var quiet = new StringWriter();
        Assert.Equal(1, new CliArgs("sample", ["--threads", "1"], quiet).Threads());
        Assert.Null(new CliArgs("sample", [], quiet).Threads());
        Assert.Equal("", quiet.ToString());
        Assert.Contains("--threads must be between 1 and 1024 (got 0)",
            Assert.Throws<CliException>(() => new CliArgs("sample", ["--threads", "0"]).Threads()).Message);
    }

    [Fact]
    public void EditDistanceCountsASwapAsOneEdit()
    {
        Assert.Equal(1, CliArgs.EditDistance("modle", "model"));
        Assert.Equal(1, CliArgs.EditDistance("dta", "data"));
        Assert.Equal(2, CliArgs.EditDistance("mdl", "model"));
        Assert.Equal(0, CliArgs.EditDistance("seed", "seed"));
        Assert.Equal(5, CliArgs.EditDistance("", "model"));
    }
}

/// <summary>The warning reaches stderr through the command; it sets the process-wide Gemm.Threads, so it runs alone.</summary>
[Collection("Gemm.Threads")]
public class CliThreadsWarningTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public void SampleWarnsOnceAndRuns()
    {
        using var threadsScope = new GemmThreadsScope(1);
        string dir = _f.Train("m", "--steps", "2");
        int cores = Environment.ProcessorCount;
        var (code, output, error) = CharLmFixture.Run("sample", "--model", dir, "--length", "5", "--threads", "4096", "--json");
        Assert.Contains("--threads must be at most 1024 (got 4096)", error);
        Assert.Equal(2, code);
        (code, output, error) = CharLmFixture.Run("sample", "--model", dir, "--length", "5", "--threads", (cores + 1).ToString(), "--json");
        Assert.True(code == 0, error);
        Assert.Equal($"recurrent sample: warning: --threads {cores + 1} is more than the {cores} cores available; using {cores}\n", error);
        Assert.Equal(cores, Gemm.Threads);
        Assert.Contains("\"text\"", output);
    }
}
