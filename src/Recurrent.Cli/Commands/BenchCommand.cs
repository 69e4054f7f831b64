namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent bench &lt;what&gt; [options]`: the first positional word picks a benchmark; each benchmark is one file
/// (Bench*Command.cs) and one line in <see cref="Benchmarks"/>.
/// </summary>
public static class BenchCommand
{
    public const string Summary = "measure speed: bench gemm [--size N] | bench rnn [--only ROWS] [--breakdown] | bench tasks [--only classify|tag] | mpirun -np N recurrent bench allreduce; [--threads N] [--json]";

    private static readonly Dictionary<string, (string Summary, string Usage, Func<CliArgs, TextWriter, TextWriter, int> Run)> Benchmarks = new()
    {
        ["gemm"] = (BenchGemmCommand.Summary, BenchGemmCommand.Usage, BenchGemmCommand.Run),
        ["rnn"] = (BenchRnnCommand.Summary, BenchRnnCommand.Usage, BenchRnnCommand.Run),
        ["tasks"] = (BenchTasksCommand.Summary, BenchTasksCommand.Usage, BenchTasksCommand.Run),
        ["allreduce"] = (BenchAllreduceCommand.Summary, BenchAllreduceCommand.Usage, BenchAllreduceCommand.Run),
    };

    /// <summary>The benchmarks, in the order the usage lists them.</summary>
    internal static IEnumerable<string> Names => Benchmarks.Keys;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        string names = string.Join(", ", Benchmarks.Keys);
        bool help = args.Flag("help"); // first: "bench --help gemm" gives "gemm" back to the positional words
        if (args.Positional.Count == 0)
        {
            if (!help) throw CliArgs.Usage($"say what to measure: bench <{string.Join("|", Benchmarks.Keys)}> (bench --help lists them)");
            stdout.WriteLine("usage: recurrent bench BENCHMARK [options]   (bench BENCHMARK --help for its options)");
            foreach (var (name, benchmark) in Benchmarks) stdout.WriteLine($"  {name,-9} {benchmark.Summary}");
            return 0;
        }
        string what = args.Positional[0];
        if (!Benchmarks.TryGetValue(what, out var run)) throw CliArgs.Usage($"unknown benchmark '{what}' (benchmarks: {names})");
        if (args.Positional.Count > 1) throw CliArgs.Usage($"unexpected argument '{args.Positional[1]}'");
        if (help) { stdout.Write(run.Usage); return 0; }
        return run.Run(args, stdout, stderr);
    }
}
