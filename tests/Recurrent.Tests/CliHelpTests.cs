using System.Reflection;
using System.Text.RegularExpressions;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// `recurrent --version`, the top-level usage, and every command's help: reached by `help VERB`, `VERB -h` and
/// `VERB --help` alike, and ending with exactly one newline.
/// </summary>
public class CliHelpTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CharLmFixture.Run(args);

    [Fact]
    public void VersionPrintsTheAssemblysInformationalVersion()
    {
        string informational = typeof(Cli.Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        string version = informational.Split('+')[0];
        Assert.Matches(new Regex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"), version);
        foreach (string word in new[] { "--version", "version" })
        {
            var (code, output, error) = Run(word);
            Assert.Equal(0, code);
            Assert.Equal($"recurrent {version}\n", output);
            Assert.Equal("", error);
        }
        var extra = Run("--version", "now");
        Assert.Equal(2, extra.Code);
        Assert.Contains("unexpected argument 'now'", extra.Err);
    }

    [Fact]
    public void UsageListsTheCommandsAndSaysHowToGetTheirHelp()
    {
        var (code, output, _) = Run();
        Assert.Equal(2, code); // no command is a usage error
        Assert.Equal(output, Run("--help").Out);
        Assert.Equal(output, Run("-h").Out);
        Assert.Equal(output, Run("help").Out);
        Assert.Equal(0, Run("help").Code);
        Assert.StartsWith("usage: recurrent COMMAND [options]\n", output);
        foreach (string verb in Cli.Cli.VerbNames) Assert.Contains($"\n  {verb} ", output);
        Assert.Contains("'recurrent COMMAND --help'", output);
        Assert.Contains("--version", output);
        AssertEndsWithOneNewline(output);

        var unknown = Run("help", "trian");
        Assert.Equal(2, unknown.Code);
        Assert.Contains("unknown command 'trian'", unknown.Err);
    }

    /// <summary>Every command and subcommand with a help text of its own.</summary>
    private static readonly string[][] Commands =
    [
        ["train"], ["train", "--task", "classify"], ["train", "--task", "tag"], ["train", "--task", "translate"], ["train", "--task", "generate"],
        ["sample"], ["eval"], ["predict"], ["plot"], ["verify"], ["bench"], ["bench", "gemm"], ["bench", "rnn"], ["bench", "tasks"], ["bench", "allreduce"], ["analyze"], ["serve"],
    ];

    public static TheoryData<string[]> HelpOf() => new(Commands);

    [Theory]
    [MemberData(nameof(HelpOf))]
    public void HelpVerbDashHAndDashDashHelpPrintTheSameHelp(string[] command)
    {
        var (code, output, error) = Run([.. command, "--help"]);
        Assert.True(code == 0, error);
        Assert.Equal("", error);
        Assert.StartsWith($"usage: recurrent {command[0]}", output);
        AssertEndsWithOneNewline(output);
        Assert.Equal((0, output, ""), Run([.. command, "-h"]));
        Assert.Equal((0, output, ""), Run(["help", .. command]));
        if (command[0] == "bench" && command.Length == 2)
        {
            Assert.StartsWith($"usage: recurrent bench {command[1]} [options]\n", output);
            Assert.Equal((0, output, ""), Run(["bench", "--help", command[1]])); // the word after --help is not its value
        }
    }

    [Fact]
    public void EveryCommandHasHelp()
    {
        Assert.All(Cli.Cli.VerbNames, verb => Assert.Contains(Commands, c => c[0] == verb));
        Assert.All(Cli.Commands.BenchCommand.Names, name => Assert.Contains(Commands, c => c is ["bench", var n] && n == name));
        var bench = Run("bench", "--help").Out;
        foreach (string name in Cli.Commands.BenchCommand.Names) Assert.Contains($"\n  {name} ", bench);
    }

    [Fact]
    public void ALoneDashHIsHelpButAValueStaysAValue()
    {
        var args = new Cli.CliArgs("sample", ["--prime", "-h", "-h"]);
        Assert.True(args.AsksForHelp);
        Assert.Equal("-h", args.String("prime"));
    }

    private static void AssertEndsWithOneNewline(string text)
    {
        Assert.EndsWith("\n", text);
        Assert.False(text.EndsWith("\n\n", StringComparison.Ordinal), "ends with a blank line");
    }
}
