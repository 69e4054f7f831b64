namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent analyze &lt;experiment&gt; [options]`: the lectures' experiments. The first positional word picks one;
/// each experiment is one file (Analyze*Command.cs) and one line in <see cref="Experiments"/>, and reads its common
/// options (--seed, --threads, --out, --json) through <see cref="AnalysisOptions"/>.
/// </summary>
public static class AnalyzeCommand
{
    public const string Summary = "reproduce a lecture experiment: analyze <experiment> [--out FILE] [--json]; analyze --help lists them";

    private static readonly Dictionary<string, (string Summary, Func<CliArgs, TextWriter, TextWriter, int> Run)> Experiments = new()
    {
        ["ngram"] = (AnalyzeNgramCommand.Summary, AnalyzeNgramCommand.Run),
        ["leaky"] = (AnalyzeLeakyCommand.Summary, AnalyzeLeakyCommand.Run),
        ["residual"] = (AnalyzeResidualCommand.Summary, AnalyzeResidualCommand.Run),
        ["cells"] = (AnalyzeCellsCommand.Summary, AnalyzeCellsCommand.Run),
        ["esn"] = (AnalyzeEsnCommand.Summary, AnalyzeEsnCommand.Run),
    };

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        string names = string.Join("|", Experiments.Keys);
        if (args.Positional.Count == 0)
        {
            if (!args.Flag("help")) throw CliArgs.Usage($"say which experiment: analyze <{names}> (analyze --help lists them)");
            stdout.WriteLine("usage: recurrent analyze <experiment> [options]   (analyze <experiment> --help for its options)");
            foreach (var (name, experiment) in Experiments) stdout.WriteLine($"  {name,-10} {experiment.Summary}");
            return 0;
        }
        string what = args.Positional[0];
        if (!Experiments.TryGetValue(what, out var run)) throw CliArgs.Usage($"unknown experiment '{what}' (experiments: {names})");
        if (args.Positional.Count > 1) throw CliArgs.Usage($"unexpected argument '{args.Positional[1]}'");
        return run.Run(args, stdout, stderr);
    }
}
