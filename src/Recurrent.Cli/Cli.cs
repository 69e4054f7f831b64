using System.Reflection;

namespace Recurrent.Cli;

/// <summary>
/// The `recurrent` command: picks the verb and turns every failure into one line on stderr and a non-zero exit.
/// Verbs live in Commands/, one file each; this file only dispatches, answers `--version` and `help VERB`, and ends
/// every help text with a newline.
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
        ["serve"] = (Commands.ServeCommand.Summary, Commands.ServeCommand.Run),
    };

    /// <summary>The verbs, in the order the usage lists them.</summary>
    internal static IEnumerable<string> VerbNames => Verbs.Keys;

    /// <summary>"0.1.0": the informational version the package was built with, less any "+commit" suffix.</summary>
    public static string Version
    {
        get
        {
            var assembly = typeof(Cli).Assembly;
            string version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                             ?? assembly.GetName().Version?.ToString(3) ?? "unknown";
            int plus = version.IndexOf('+');
            return plus >= 0 ? version[..plus] : version;
        }
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args is ["-h" or "--help" or "help"])
        {
            PrintUsage(stdout);
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] is "--version" or "version")
        {
            if (args.Length > 1) { stderr.WriteLine($"recurrent: unexpected argument '{args[1]}' after {args[0]}"); return 2; }
            stdout.WriteLine($"recurrent {Version}");
            return 0;
        }
        if (args[0] is "help" or "-h" or "--help") args = [.. args[1..], "--help"]; // help VERB [...] is VERB [...] --help
        if (!Verbs.TryGetValue(args[0], out var verb))
        {
            stderr.WriteLine($"recurrent: unknown command '{args[0]}' (commands: {string.Join(", ", Verbs.Keys)}; 'recurrent --help' lists them)");
            return 2;
        }
        // Under mpirun every rank runs this; rank 0 alone prints, the others' errors name their rank.
        (stdout, stderr) = Commands.DataParallel.Writers(stdout, stderr);
        try
        {
            // Inside the try: parsing the options can refuse them already (an option given twice).
            var cliArgs = new CliArgs(args[0], args.AsSpan(1).ToArray(), stderr);
            if (cliArgs.AsksForHelp) stdout = new HelpWriter(stdout);
            return verb.Run(cliArgs, stdout, stderr);
        }
        catch (CliException e)
        {
            stderr.WriteLine($"recurrent {args[0]}: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException
                                      or ArgumentException or InvalidOperationException or FormatException
                                      or Distributed.MpiException)
        {
            stderr.WriteLine($"recurrent {args[0]}: {e.Message}");
            return 1;
        }
        finally
        {
            (stdout as HelpWriter)?.EndLine();
        }
    }

    private static void PrintUsage(TextWriter stdout)
    {
        stdout.WriteLine("usage: recurrent COMMAND [options]");
        foreach (var (name, verb) in Verbs) stdout.WriteLine($"  {name,-8} {verb.Summary}");
        stdout.WriteLine("'recurrent COMMAND --help' (or 'recurrent help COMMAND') shows a command's options; " +
                         "'recurrent --version' prints the version.");
    }

    /// <summary>
    /// stdout while a command prints its help: passes everything through and remembers the last character, so that
    /// <see cref="EndLine"/> can end the text with a newline whatever the command wrote (usage strings are raw string
    /// literals, which end without one).
    /// </summary>
    private sealed class HelpWriter(TextWriter inner) : TextWriter
    {
        private char _last = '\n';
        public override System.Text.Encoding Encoding => inner.Encoding;
        public override void Write(char value) { inner.Write(value); _last = value; }
        public override void Write(string? value)
        {
            if (string.IsNullOrEmpty(value)) return;
            inner.Write(value);
            _last = value[^1];
        }
        public override void Write(char[] buffer, int index, int count)
        {
            if (count == 0) return;
            inner.Write(buffer, index, count);
            _last = buffer[index + count - 1];
        }
        public override void Flush() => inner.Flush();
        public void EndLine() { if (_last != '\n') inner.WriteLine(); inner.Flush(); }
    }
}

/// <summary>A failure the user caused or can fix; its message is the whole line printed.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
