namespace Recurrent.Cli;

/// <summary>
/// The `recurrent` command: picks the verb and turns every failure into one line on stderr and a non-zero exit.
/// Verbs live in Commands/, one file each; this file only dispatches.
/// </summary>
public static class Cli
{
    private static readonly Dictionary<string, (string Summary, Func<CliArgs, TextWriter, TextWriter, int> Run)> Verbs = new()
    {
        ["train"] = (Commands.TrainCommand.Summary, Commands.TrainCommand.Run),
        ["sample"] = (Commands.SampleCommand.Summary, Commands.SampleCommand.Run),
        ["eval"] = (Commands.EvalCommand.Summary, Commands.EvalCommand.Run),
        ["predict"] = (Commands.PredictCommand.Summary, Commands.PredictCommand.Run),
        ["plot"] = (Commands.PlotCommand.Summary, Commands.PlotCommand.Run),
        ["verify"] = (Commands.VerifyCommand.Summary, Commands.VerifyCommand.Run),
        ["bench"] = (Commands.BenchCommand.Summary, Commands.BenchCommand.Run),
        ["analyze"] = (Commands.AnalyzeCommand.Summary, Commands.AnalyzeCommand.Run),
    };

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintUsage(stdout);
            return args.Length == 0 ? 2 : 0;
        }
        if (!Verbs.TryGetValue(args[0], out var verb))
        {
            stderr.WriteLine($"recurrent: unknown command '{args[0]}' (commands: {string.Join(", ", Verbs.Keys)})");
            return 2;
        }
        try
        {
            return verb.Run(new CliArgs(args[0], args.AsSpan(1).ToArray()), stdout, stderr);
        }
        catch (CliException e)
        {
            stderr.WriteLine($"recurrent {args[0]}: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException
                                      or ArgumentException or InvalidOperationException or FormatException)
        {
            stderr.WriteLine($"recurrent {args[0]}: {e.Message}");
            return 1;
        }
    }

    private static void PrintUsage(TextWriter stdout)
    {
        stdout.WriteLine("usage: recurrent <command> [options]");
        foreach (var (name, verb) in Verbs) stdout.WriteLine($"  {name,-8} {verb.Summary}");
    }
}

/// <summary>A failure the user caused or can fix; its message is the whole line printed.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
