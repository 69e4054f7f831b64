using System.Globalization;
using System.Text.Json.Nodes;
using Recurrent.Benchmarks;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>
/// One row of `bench rnn`, measured in the process that prints it (the parent runs each row in a fresh child process so
/// the peak working set is that row's alone, as torch_bench.py does with ru_maxrss).
/// </summary>
public static class BenchRnnChild
{
    /// <summary>Measures the row and returns its JSON object (everything but the utilization, which needs the peak).</summary>
    public static JsonObject Run(BenchRnnCommand.Row row, BenchRnnCommand.Sizes sizes, int threads, double minSeconds)
    {
        Gemm.Threads = threads;
        int hidden = sizes.Hidden ?? row.Hidden;
        var model = new CharLmBench(row.Cell, hidden, BenchRnnCommand.Layers, sizes.Batch, sizes.SeqLen);
        var losses = new List<float>();
        Action step;
        double units, flops;
        switch (row.Kind)
        {
            case "train":
                step = () => losses.Add(model.TrainStep());
                (units, flops) = (sizes.Batch * sizes.SeqLen, StepFlops.TrainingStep(model));
                break;
            case "infer":
                step = () => model.Infer();
                (units, flops) = (sizes.Batch * sizes.SeqLen, StepFlops.Forward(model));
                break;
            default:
                var tokens = new int[sizes.SampleChars];
                var rng = new Rng(2);   // torch_bench's sampling generator seed
                step = () => model.Sample(tokens, rng);
                (units, flops) = (sizes.SampleChars, sizes.SampleChars * StepFlops.SampledToken(model));
                break;
        }
        int collections = GC.CollectionCount(0);
        var stats = StepTiming.Measure(step, minSeconds, sizes.MinSteps);
        collections = GC.CollectionCount(0) - collections;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        step();   // one more, untimed, to count what a step allocates (the hot path should allocate next to nothing)
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;

        var result = new JsonObject
        {
            ["name"] = row.Name,
            ["per_second"] = Math.Round(units / stats.Median, 1),
            ["unit"] = row.Unit,
            ["peak_mib"] = Math.Round(PeakMib(), 1),
            ["threads"] = threads,
            ["gflop_per_s"] = Math.Round(flops / stats.Median / 1e9, 2),
            ["gflop_per_step"] = Math.Round(flops / 1e9, 4),
            ["median_s"] = stats.Median,
            ["mean_s"] = stats.Mean,
            ["min_s"] = stats.Min,
            ["max_s"] = stats.Max,
            ["steps"] = stats.Steps,
            ["timed_seconds"] = Math.Round(stats.TimedSeconds, 3),
            ["cell"] = row.Cell.ToString().ToLowerInvariant(),
            ["hidden"] = hidden,
            ["layers"] = BenchRnnCommand.Layers,
            ["batch"] = row.Kind == "sample" ? 1 : sizes.Batch,
            ["seq_len"] = row.Kind == "sample" ? sizes.SampleChars : sizes.SeqLen,
            ["allocated_bytes_per_step"] = allocated,
            ["gc_collections"] = collections,
        };
        if (losses.Count > 0)
        {
            // Every step's loss, warm-up included: two runs with the same seed and threads must print the same values.
            result["train_steps"] = losses.Count;   // warm-up, timed and the counting step
            result["loss_first"] = losses[0];
            result["loss_last"] = losses[^1];
        }
        return result;
    }

    /// <summary>The peak resident set (VmHWM in /proc/self/status) in MiB, or the runtime's figure off Linux.</summary>
    public static double PeakMib()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (string line in File.ReadLines(status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return double.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024; // kB
        return System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
