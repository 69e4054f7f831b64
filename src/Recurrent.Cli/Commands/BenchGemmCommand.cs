using System.Diagnostics;
using System.Text.Json;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent bench gemm [--size N] [--threads N] [--json]`: GFLOP/s (2·m·n·k per second) of <see cref="Gemm.Multiply"/>
/// on an N³ square and on the shapes an LSTM 512 with batch 32 and 100 steps runs, in the layouts the layers use.
/// Plain output is a table; --json prints one JSON array, one object per shape. bench/numpy_gemm.py is the peer.
/// </summary>
public static class BenchGemmCommand
{
    /// <summary>One measured GEMM: C[m,n] = op(A)·op(B) with op = transpose where flagged.</summary>
    public sealed record Shape(int M, int N, int K, bool TransA, bool TransB, string Role);

    public const string Summary = "GFLOP/s of the matrix product on an N×N square and at the shapes of an LSTM 512";

    public const string Usage = """
        usage: recurrent bench gemm [options]
          GFLOP/s (2·m·n·k per second) on an N×N square and on the products an LSTM 512 with batch 32 and 100 steps
          runs, in the layouts the layers use (bench/numpy_gemm.py measures numpy's)
          --size N       side of the square product (default 1024)
          --threads N    GEMM threads (default: the cores)
          --json         one JSON array, one object per shape, instead of the table
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        int size = args.Int("size", 1024, min: 1, max: 16384);
        int threads = args.Threads() ?? Environment.ProcessorCount;
        bool json = args.Flag("json");
        // Hidden: how long to time each shape (tests shorten it).
        double minSeconds = args.Double("min-seconds", 0.3, min: 0, max: 600);
        args.RejectUnknown();

        Shape[] shapes =
        [
            new(size, size, size, false, false, "square"),
            new(32, 2048, 512, false, true, "LSTM step h·W_hhᵀ"),
            new(3200, 2048, 512, false, true, "input projection X·W_ihᵀ"),
            new(512, 2048, 3200, true, false, "weight gradient Xᵀ·dG"),
        ];
        var results = new List<Dictionary<string, object>>();
        if (!json) stdout.WriteLine($"{"m",6} {"n",6} {"k",6} {"op",6} {"threads",7} {"GFLOP/s",9}  role");
        int saved = Gemm.Threads;
        try
        {
            Gemm.Threads = threads;
            foreach (var s in shapes)
            {
                double gflops = Measure(s, minSeconds);
                results.Add(new()
                {
                    ["m"] = s.M, ["n"] = s.N, ["k"] = s.K, ["transA"] = s.TransA, ["transB"] = s.TransB,
                    ["threads"] = threads, ["gflops"] = Math.Round(gflops, 1),
                });
                if (!json)
                    stdout.WriteLine($"{s.M,6} {s.N,6} {s.K,6} {Op(s),6} {threads,7} {gflops,9:F1}  {s.Role}");
            }
        }
        finally
        {
            Gemm.Threads = saved;
        }
        if (json) stdout.WriteLine(JsonSerializer.Serialize(results));
        else stdout.WriteLine($"blocking: {Gemm.Blocking}");
        return 0;
    }

    private static string Op(Shape s) => (s.TransA ? "Aᵀ" : "A") + "·" + (s.TransB ? "Bᵀ" : "B");

    /// <summary>
    /// Best time per call over batches of calls: batches double until one lasts a fifth of minSeconds, then repeat
    /// until minSeconds have passed (at least three timed batches). The best batch is the one least disturbed by
    /// whatever else the machine runs.
    /// </summary>
    private static double Measure(Shape s, double minSeconds)
    {
        var rng = new Rng(1);
        float[] a = Random(rng, s.M * s.K), b = Random(rng, s.K * s.N), c = new float[s.M * s.N];
        int lda = s.TransA ? s.M : s.K, ldb = s.TransB ? s.K : s.N;
        void Call() => Gemm.Multiply(a, lda, s.TransA, b, ldb, s.TransB, c, s.N, s.M, s.N, s.K);

        for (int i = 0; i < 3; i++) Call(); // JIT, page faults, packing buffers
        int reps = 1, timed = 0;
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        while (timed < 3 || total.Elapsed.TotalSeconds < minSeconds)
        {
            long start = Stopwatch.GetTimestamp();
            for (int r = 0; r < reps; r++) Call();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (seconds < minSeconds / 5 && timed == 0 && seconds < 0.05) { reps *= 2; continue; }
            best = Math.Min(best, seconds / reps);
            timed++;
        }
        return 2.0 * s.M * s.N * s.K / best / 1e9;
    }

    private static float[] Random(Rng rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.Uniform(-1f, 1f);
        return x;
    }
}
