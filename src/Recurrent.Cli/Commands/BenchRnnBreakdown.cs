using System.Text.Json.Nodes;
using Recurrent.Benchmarks;
using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `bench rnn --breakdown`: where a training step's or forward pass's time goes (LSTM 2×512 training unless --only names
/// another row; <see cref="StepBreakdown"/>), as a table of milliseconds per step, share of the step, GFLOP/s and
/// fraction of the FMA peak per phase; or one JSON object.
/// In a parallel time step the calling thread's own part is timed (the other threads work on theirs meanwhile), so a
/// phase's GFLOP/s is the whole phase's FLOPs over that time.
/// </summary>
public static class BenchRnnBreakdown
{
    public static void Run(BenchRnnCommand.Row row, BenchRnnCommand.Sizes sizes, int threads, double minSeconds, double peakGflops, bool json, TextWriter stdout)
    {
        Gemm.Threads = threads;
        int hidden = sizes.Hidden ?? row.Hidden;
        string cell = row.Cell switch { CellKind.Lstm => "LSTM", CellKind.Gru => "GRU", CellKind.RnnTanh => "tanh-RNN", _ => row.Cell.ToString() };
        var model = new CharLmBench(row.Cell, hidden, BenchRnnCommand.Layers, sizes.Batch, sizes.SeqLen);
        bool training = row.Kind == "train";
        var result = StepBreakdown.Measure(model, minSeconds, sizes.MinSteps, training);
        string what = training ? "training step" : "forward pass";
        double step = result.Step.Median;
        var rows = result.Phases.Append(new PhaseTime("overhead (step − Σ phases)", result.Overhead, 0)).ToList();

        if (json)
        {
            var phases = new JsonArray();
            foreach (var p in rows)
            {
                var o = new JsonObject { ["name"] = p.Name, ["ms"] = Math.Round(p.Seconds * 1e3, 3), ["share"] = Math.Round(p.Seconds / step, 4) };
                if (p.Flops > 0)
                {
                    o["gflop"] = Math.Round(p.Flops / 1e9, 3);
                    o["gflop_per_s"] = Math.Round(p.Flops / p.Seconds / 1e9, 1);
                    o["utilization"] = Math.Round(p.Flops / p.Seconds / 1e9 / peakGflops, 4);
                }
                phases.Add(o);
            }
            stdout.WriteLine(new JsonObject
            {
                ["threads"] = threads, ["cell"] = cell, ["training"] = training, ["hidden"] = hidden, ["layers"] = BenchRnnCommand.Layers,
                ["batch"] = sizes.Batch, ["seq_len"] = sizes.SeqLen,
                ["step_ms"] = Math.Round(step * 1e3, 3), ["profiled_step_ms"] = Math.Round(result.Profiled.Median * 1e3, 3),
                ["steps"] = result.Step.Steps,
                ["tokens_per_s"] = Math.Round(sizes.Batch * sizes.SeqLen / step, 1),
                ["gflop_per_step"] = Math.Round(result.StepFlops / 1e9, 3),
                ["gflop_per_s"] = Math.Round(result.StepFlops / step / 1e9, 1),
                ["fma_peak_gflop_per_s"] = Math.Round(peakGflops, 1),
                ["utilization"] = Math.Round(result.StepFlops / step / 1e9 / peakGflops, 4),
                ["phases"] = phases,
            }.ToJsonString());
            return;
        }

        double gflops = result.StepFlops / step / 1e9;
        stdout.WriteLine($"{cell} {BenchRnnCommand.Layers}×{hidden} {what}, B={sizes.Batch}, T={sizes.SeqLen}, threads {threads}: " +
                         $"{step * 1e3:F1} ms (median of {result.Step.Steps}; profiled {result.Profiled.Median * 1e3:F1} ms), " +
                         $"{sizes.Batch * sizes.SeqLen / step:N0} tokens/s");
        stdout.WriteLine($"{result.StepFlops / 1e9:F2} GFLOP per step → {gflops:F1} GFLOP/s = {gflops / peakGflops:P1} of the FMA peak {peakGflops:F0} GFLOP/s");
        stdout.WriteLine($"{"phase",-44} {"ms/step",8} {"share",7} {"GFLOP",7} {"GFLOP/s",8} {"of peak",8}");
        foreach (var p in rows)
        {
            string flops = p.Flops > 0
                ? $"{p.Flops / 1e9,7:F2} {p.Flops / p.Seconds / 1e9,8:F1} {p.Flops / p.Seconds / 1e9 / peakGflops,8:P1}"
                : "";
            stdout.WriteLine($"{p.Name,-44} {p.Seconds * 1e3,8:F2} {p.Seconds / step,7:P1} {flops}".TrimEnd());
        }
    }
}
