using System.Text.Json;
using Recurrent.IO;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>
/// The options every `analyze` experiment takes, and how each ends: --seed S (default 1), --threads N (default: the
/// cores), --out FILE (the figure; a default name in the working directory) and --json (one JSON object on stdout
/// instead of the table). Read the experiment's own options first, then <see cref="Read"/> (it rejects unknown ones).
/// </summary>
internal sealed class AnalysisOptions
{
    public int Seed { get; private init; }
    public int Threads { get; private init; }
    public string Out { get; private init; } = "";
    public bool Json { get; private init; }

    /// <summary>Reads the common options, sets the GEMM threads and rejects any option the experiment did not read.</summary>
    public static AnalysisOptions Read(CliArgs args, string defaultOut)
    {
        bool json = args.Flag("json");
        var options = new AnalysisOptions
        {
            Json = json,
            Seed = args.Int("seed", 1, min: 0),
            Threads = args.Threads() ?? Environment.ProcessorCount,
            Out = args.OutputFile("out", defaultOut),
        };
        if (args.Positional.Count > 1) throw CliArgs.Usage($"unexpected argument '{args.Positional[1]}'");
        args.RejectUnknown();
        Gemm.Threads = options.Threads;
        return options;
    }

    /// <summary>A progress line on stderr (stdout stays the table or the JSON object).</summary>
    public static void Progress(TextWriter stderr, string line) => stderr.WriteLine(line);

    /// <summary>Writes the figure (atomically), then prints the table and the figure's path, or the JSON object.</summary>
    /// <param name="table">lines already aligned; the first is the header.</param>
    public void Finish(TextWriter stdout, IEnumerable<string> table, Action<Utf8JsonWriter> json, string figure)
    {
        AtomicFile.WriteAllText(Out, figure);
        if (Json) { TrainCommand.WriteJson(stdout, json); return; }
        foreach (string line in table) stdout.WriteLine(line);
        stdout.WriteLine($"wrote {Out}");
    }
}
