using Recurrent.Cli;
using Xunit;

namespace Recurrent.Tests;

public class CliArgsTests
{
    [Fact]
    public void ReadsValuesFlagsAndPositionals()
    {
        var args = new CliArgs("x", ["a", "--size", "12", "--rate=0.5", "--json", "b", "--neg", "-3", "--quiet"]);
        Assert.True(args.Flag("json"));
        Assert.True(args.Flag("quiet"));
        Assert.Equal(12, args.Int("size", 0));
        Assert.Equal(0.5, args.Double("rate", 0));
        Assert.Equal(-3, args.Int("neg", 0));
        Assert.Equal(new[] { "a", "b" }, args.Positional);
        args.RejectUnknown();
    }

    [Fact]
    public void ErrorsNameTheOption()
    {
        Assert.Contains("--size must be a whole number", Assert.Throws<CliException>(() => new CliArgs("x", ["--size", "big"]).Int("size", 0)).Message);
        Assert.Contains("--size must be at least 1", Assert.Throws<CliException>(() => new CliArgs("x", ["--size", "0"]).Int("size", 0, min: 1)).Message);
        Assert.Contains("--json takes no value", Assert.Throws<CliException>(() => new CliArgs("x", ["--json=yes"]).Flag("json")).Message);
        Assert.Contains("given twice", Assert.Throws<CliException>(() => new CliArgs("x", ["--a", "1", "--a", "2"])).Message);
        Assert.Contains("must be one of lstm, gru", Assert.Throws<CliException>(() => new CliArgs("x", ["--cell", "tree"]).Choice("cell", "lstm", "lstm", "gru")).Message);
        var unknown = new CliArgs("train", ["--sise", "3"]);
        var e = Assert.Throws<CliException>(unknown.RejectUnknown);
        Assert.Contains("unknown option --sise", e.Message);
        Assert.Equal(2, e.ExitCode);
    }
}
