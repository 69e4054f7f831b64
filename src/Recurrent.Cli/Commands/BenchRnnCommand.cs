using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Recurrent.Benchmarks;
using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent bench rnn [--threads N] [--json] [--min-seconds S] [--only rows] [--breakdown]`: the measurements of
/// bench/torch_bench.py with this library (see <see cref="CharLmBench"/>): training tokens/s for four
/// char-LMs, forward-only tokens/s and batch-1 sampling chars/s for LSTM 2×512, and the peak working set of each,
/// every row in its own child process (this executable with the hidden option --child NAME). Utilization = GEMM FLOPs
/// per second over the FMA peak measured at the same thread count. --breakdown instead times the phases of the LSTM
/// 2×512 training step, or with --only of another training row or the forward pass (<see cref="StepBreakdown"/>).
/// --json prints one JSON object.
/// Hidden options for tests: --batch, --seq-len, --hidden, --sample-chars, --min-steps (smaller sizes), --peak-gflops
/// (skip measuring the peak), --child NAME (measure one row here and print its JSON object).
/// </summary>
public static class BenchRnnCommand
{
    public const int Layers = 2;

    public const string Summary = "training, forward and sampling speed and peak memory of char-LMs (torch_bench.py's rows)";

    public const string Usage = """
        usage: recurrent bench rnn [options]
          training tokens/s of four 2-layer char-LMs, forward tokens/s and batch-1 sampling chars/s of LSTM 2×512, and
          the peak memory of each, every row in its own process (bench/torch_bench.py measures PyTorch's)
          --only ROWS      rows or kinds, separated by commas: train_lstm_128, train_lstm_512, train_gru_512,
                           train_rnn_tanh_512, infer_lstm_512, sample_lstm_512; train, infer, sample (default all)
          --breakdown      time the phases of one training step instead (LSTM 2×512, or the one row of --only)
          --min-seconds S  time each row for at least S seconds (default 2)
          --threads N      GEMM threads (default: the cores)
          --json           one JSON object instead of the table
        """;

    /// <summary>One measured configuration; Kind is train, infer or sample.</summary>
    public sealed record Row(string Name, string Kind, CellKind Cell, int Hidden, string Unit);

    /// <summary>Sizes torch_bench uses; tests shrink them. Hidden, when set, replaces every row's hidden size.</summary>
    public sealed record Sizes(int Batch, int SeqLen, int? Hidden, int SampleChars, int MinSteps);

    public static readonly Row[] Rows =
    [
        new("train_lstm_128", "train", CellKind.Lstm, 128, "tokens"),
        new("train_lstm_512", "train", CellKind.Lstm, 512, "tokens"),
        new("train_gru_512", "train", CellKind.Gru, 512, "tokens"),
        new("train_rnn_tanh_512", "train", CellKind.RnnTanh, 512, "tokens"),
        new("infer_lstm_512", "infer", CellKind.Lstm, 512, "tokens"),
        new("sample_lstm_512", "sample", CellKind.Lstm, 512, "chars"),
    ];

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        bool json = args.Flag("json");
        bool breakdown = args.Flag("breakdown");
        int threads = args.Threads() ?? Environment.ProcessorCount;
        double minSeconds = args.Double("min-seconds", 2, min: 0, max: 3600);
        string? only = args.String("only");
        string? child = args.String("child");
        var sizes = new Sizes(args.Int("batch", 32, 1, 1 << 16), args.Int("seq-len", 100, 1, 1 << 16),
            args.OptionalInt("hidden", 1, 1 << 14), args.Int("sample-chars", 2000, 1, 1 << 24), args.Int("min-steps", 5, 1, 1 << 20));
        double? peak = args.Has("peak-gflops") ? args.Double("peak-gflops", 0, min: 1e-3) : null;
        args.RejectUnknown();

        if (child != null || breakdown)
        {
            var row = child == null ? null
                : Rows.FirstOrDefault(r => r.Name == child) ?? throw CliArgs.Usage($"--child: unknown row '{child}' (rows: {RowNames})");
            var trained = breakdown ? Select(only ?? "train_lstm_512") : [];
            if (breakdown && (trained.Count != 1 || trained[0].Kind == "sample"))
                throw CliArgs.Usage("--breakdown measures one training or forward row: --only " +
                    string.Join(", ", Rows.Where(r => r.Kind != "sample").Select(r => r.Name)));
            int saved = Gemm.Threads;   // these measure in this process (a test's, too): leave the setting as found
            try
            {
                if (row != null) stdout.WriteLine(BenchRnnChild.Run(row, sizes, threads, minSeconds).ToJsonString());
                else BenchRnnBreakdown.Run(trained[0], sizes, threads, minSeconds, peak ?? FmaPeak.Measure(threads), json, stdout);
            }
            finally
            {
                Gemm.Threads = saved;
            }
            return 0;
        }

        var rows = Select(only);
        double peakGflops = peak ?? FmaPeak.Measure(threads);
        if (!json)
        {
            stdout.WriteLine($"threads {threads}, FMA peak {peakGflops:F0} GFLOP/s, B={sizes.Batch}, T={sizes.SeqLen}, median of ≥{minSeconds:0.#} s after {StepTiming.Warmup} warm-up steps");
            stdout.WriteLine($"{"row",-20} {"per second",12} {"unit",-6} {"peak MiB",9} {"GFLOP/s",8} {"of peak",8} {"median ms",10} {"steps",6}");
        }
        var results = new JsonArray();
        foreach (var row in rows)
        {
            var r = RunChild(row, sizes, threads, minSeconds);
            double gflops = r["gflop_per_s"]!.GetValue<double>();
            r["utilization"] = Math.Round(gflops / peakGflops, 4);
            results.Add(r);
            if (!json)
                stdout.WriteLine($"{row.Name,-20} {r["per_second"]!.GetValue<double>(),12:N0} {row.Unit,-6} {r["peak_mib"]!.GetValue<double>(),9:F1} " +
                                 $"{gflops,8:F1} {gflops / peakGflops,8:P1} {r["median_s"]!.GetValue<double>() * 1e3,10:F2} {r["steps"]!.GetValue<int>(),6}");
        }
        if (json)
        {
            var report = new JsonObject
            {
                ["threads"] = threads,
                // The GEMM's widest vectors in this process (DOTNET_EnableAVX512=0 turns AVX-512 off): which peak applies.
                ["vector_width"] = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "avx512"
                    : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "avx2" : "128-bit",
                ["fma_peak_gflop_per_s"] = Math.Round(peakGflops, 1),
                ["min_seconds"] = minSeconds,
                ["rows"] = results,
            };
            stdout.WriteLine(report.ToJsonString());
        }
        return 0;
    }

    private static string RowNames => string.Join(", ", Rows.Select(r => r.Name));

    /// <summary>--only a,b: each word names a row or a kind (train, infer, sample); rows keep their order.</summary>
    private static List<Row> Select(string? only)
    {
        if (only == null) return [.. Rows];
        var words = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string w in words)
            if (!Rows.Any(r => r.Name == w || r.Kind == w))
                throw CliArgs.Usage($"--only: unknown row '{w}' (rows: {RowNames}; or train, infer, sample)");
        var rows = Rows.Where(r => words.Any(w => r.Name == w || r.Kind == w)).ToList();
        return rows.Count > 0 ? rows : throw CliArgs.Usage("--only names no row");
    }

    /// <summary>Runs `bench rnn --child NAME` in a new process of this executable and parses its one JSON line.</summary>
    private static JsonObject RunChild(Row row, Sizes sizes, int threads, double minSeconds)
    {
        var (file, prefix) = SelfCommand();
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string I(double v) => v.ToString(CultureInfo.InvariantCulture);
        foreach (string a in prefix) start.ArgumentList.Add(a);
        foreach (string a in (string[])["bench", "rnn", "--child", row.Name, "--threads", I(threads), "--min-seconds", I(minSeconds),
                     "--batch", I(sizes.Batch), "--seq-len", I(sizes.SeqLen), "--sample-chars", I(sizes.SampleChars),
                     "--min-steps", I(sizes.MinSteps)])
            start.ArgumentList.Add(a);
        if (sizes.Hidden is int h) { start.ArgumentList.Add("--hidden"); start.ArgumentList.Add(I(h)); }

        using var process = Process.Start(start) ?? throw new CliException($"could not start {file}");
        var stderrTask = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string errors = stderrTask.Result;
        if (process.ExitCode != 0)
        {
            string last = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            throw new CliException($"row {row.Name} failed (exit {process.ExitCode}): {last}");
        }
        return ParseChildOutput(row.Name, output);
    }

    /// <summary>A child's result: the last line it printed, which must be one JSON object (else a one-line error).</summary>
    internal static JsonObject ParseChildOutput(string rowName, string output)
    {
        string line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim()
                      ?? throw new CliException($"row {rowName} printed nothing");
        try
        {
            return JsonNode.Parse(line) as JsonObject ?? throw new CliException($"row {rowName} printed no JSON object");
        }
        catch (JsonException)
        {
            // e.g. a DOTNET_ diagnostic setting that makes the runtime write to stdout after the result
            string shown = line.Length <= 80 ? line : line[..80] + "…";
            throw new CliException($"row {rowName} printed something other than its JSON line: {shown}");
        }
    }

    /// <summary>How to start this executable again: its apphost next to the assembly, else `dotnet recurrent.dll`.</summary>
    private static (string File, string[] Prefix) SelfCommand()
    {
        string dll = typeof(BenchRnnCommand).Assembly.Location;
        string apphost = Path.ChangeExtension(dll, OperatingSystem.IsWindows() ? ".exe" : null);
        if (File.Exists(apphost)) return (apphost, []);
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return (host, [dll]);
    }
}
