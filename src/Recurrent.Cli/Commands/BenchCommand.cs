namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent bench &lt;what&gt; [options]`: the first positional word picks a benchmark; each benchmark is one file
/// (Bench*Command.cs) and one line in <see cref="Benchmarks"/>.
/// </summary>
public static class BenchCommand
{
    public const string Summary = "measure speed: bench gemm [--size N] | bench rnn [--only ROWS] [--breakdown] | bench tasks [--only classify|tag]; [--threads N] [--json]";

    private static readonly Dictionary<string, Func<CliArgs, TextWriter, TextWriter, int>> Benchmarks = new()
    {
        ["gemm"] = BenchGemmCommand.Run,
        ["rnn"] = BenchRnnCommand.Run,
        ["tasks"] = BenchTasksCommand.Run,
    };

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        string names = string.Join(", ", Benchmarks.Keys);
        if (args.Positional.Count == 0) throw CliArgs.Usage($"say what to measure: bench <{string.Join("|", Benchmarks.Keys)}>");
        string what = args.Positional[0];
        if (!Benchmarks.TryGetValue(what, out var run)) throw CliArgs.Usage($"unknown benchmark '{what}' (benchmarks: {names})");
        if (args.Positional.Count > 1) throw CliArgs.Usage($"unexpected argument '{args.Positional[1]}'");
        return run(args, stdout, stderr);
    }
}
