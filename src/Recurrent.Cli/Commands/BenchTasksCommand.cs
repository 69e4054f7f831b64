using System.Text.Json.Nodes;
using Recurrent.Benchmarks;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent bench tasks [--only classify|tag|translate] [--threads N] [--min-seconds S] [--min-steps N] [--json]`: training words/s of
/// one classifier step and one BiLSTM-CRF tagger step at the shapes of <see cref="WordTaskBench"/>, and target tokens/s
/// of one translation step (<see cref="TranslateBench"/>), median step time after warm-up (bench/torch_tasks.py and
/// bench/torch_seq2seq.py `step` measure PyTorch's at the same shapes; bench/side-by-side.sh runs both).
/// </summary>
public static class BenchTasksCommand
{
    public const string Summary = "training speed of one classifier, tagger and translation step";

    public const string Usage = """
        usage: recurrent bench tasks [options]
          training words/s of one sentence-classifier step and one BiLSTM-CRF tagger step, and target tokens/s of one
          translation step (bench/torch_tasks.py and bench/torch_seq2seq.py measure PyTorch's at the same shapes)
          --only classify|tag|translate   one of them (default all)
          --min-seconds S  time each for at least S seconds (default 2)
          --min-steps N    and at least N steps (default 5; the side-by-side gives both sides the peer's 30)
          --threads N      GEMM threads (default: the cores)
          --json           one JSON object instead of the table
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        bool json = args.Flag("json");
        int threads = args.Threads() ?? Environment.ProcessorCount;
        double minSeconds = args.Double("min-seconds", 2, 0, 3600);
        int minSteps = args.Int("min-steps", 5, 1, 1 << 20);
        string only = args.Choice("only", "all", "all", "classify", "tag", "translate");
        args.RejectUnknown();

        int saved = Gemm.Threads;
        Gemm.Threads = threads;
        var rows = new JsonArray();
        try
        {
            foreach (var shape in new[] { WordTaskBench.Classify, WordTaskBench.Tag })
            {
                if (only != "all" && only != shape.Task) continue;
                var bench = new WordTaskBench(shape);
                var stats = StepTiming.Measure(() => bench.TrainStep(), minSeconds, minSteps);
                string name = "train_" + shape.Task + (shape.Crf ? "_crf" : "");
                var row = new JsonObject
                {
                    ["name"] = name,
                    ["per_second"] = Math.Round(bench.WordsPerStep / stats.Median, 1),
                    ["unit"] = "words",
                    ["ms_per_step"] = Math.Round(stats.Median * 1e3, 3),
                    ["peak_mib"] = Math.Round(BenchRnnChild.PeakMib(), 1),   // of the process so far: run one row alone for the row's own
                    ["batch"] = shape.Batch,
                    ["seq_len"] = shape.SeqLen,
                    ["vocab"] = shape.Vocab,
                    ["parameters"] = bench.Parameters,
                    ["steps"] = stats.Steps,
                    ["threads"] = threads,
                };
                rows.Add(row);
                if (!json) stdout.WriteLine($"{name,-18} {bench.WordsPerStep / stats.Median,10:N0} words/s  {stats.Median * 1e3,8:F2} ms/step  (B {shape.Batch}, T {shape.SeqLen}, V {shape.Vocab}, {bench.Parameters:N0} parameters, {threads} threads)");
            }
            if (only is "all" or "translate")
            {
                var bench = new TranslateBench();
                var stats = StepTiming.Measure(() => bench.TrainStep(), minSeconds, minSteps);
                rows.Add(new JsonObject
                {
                    ["name"] = "train_translate",
                    ["per_second"] = Math.Round(bench.TokensPerStep / stats.Median, 1),
                    ["unit"] = "target tokens",
                    ["ms_per_step"] = Math.Round(stats.Median * 1e3, 3),
                    ["peak_mib"] = Math.Round(BenchRnnChild.PeakMib(), 1),
                    ["batch"] = TranslateBench.Batch,
                    ["seq_len"] = TranslateBench.TargetSteps,
                    ["vocab"] = TranslateBench.TargetVocabulary,
                    ["parameters"] = bench.Parameters,
                    ["steps"] = stats.Steps,
                    ["threads"] = threads,
                });
                if (!json) stdout.WriteLine($"{"train_translate",-18} {bench.TokensPerStep / stats.Median,10:N0} tokens/s {stats.Median * 1e3,8:F2} ms/step  " +
                    $"(B {TranslateBench.Batch}, S {TranslateBench.SourceLength}, T {TranslateBench.TargetSteps}, V {TranslateBench.SourceVocabulary}/{TranslateBench.TargetVocabulary}, {bench.Parameters:N0} parameters, {threads} threads)");
            }
        }
        finally { Gemm.Threads = saved; }
        if (json) stdout.WriteLine(new JsonObject { ["threads"] = threads, ["rows"] = rows }.ToJsonString());
        return 0;
    }
}
