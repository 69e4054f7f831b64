using System.Diagnostics;
using Recurrent.Profiling;

namespace Recurrent.Benchmarks;

/// <summary>One phase of a training step: median seconds per step and the GEMM FLOPs it does (0 for elementwise work).</summary>
public readonly record struct PhaseTime(string Name, double Seconds, double Flops);

/// <summary>Where a training step's time goes: the phases, and the unprofiled step they are measured against.</summary>
/// <param name="Step">the <see cref="CharLmBench.TrainStep"/> with the profiler off.</param>
/// <param name="Profiled">the same step with the profiler on, whose phases are reported.</param>
/// <param name="StepFlops">GEMM FLOPs of one step.</param>
/// <param name="Phases">each <see cref="Profiling.StepPhase"/>'s time and FLOPs, in phase order.</param>
public sealed record StepBreakdown(IReadOnlyList<PhaseTime> Phases, StepStats Step, StepStats Profiled, double StepFlops)
{
    /// <summary>Step.Median − Σ phases: what the profiler's marks cost, plus noise.</summary>
    public double Overhead => Step.Median - Phases.Sum(p => p.Seconds);

    /// <summary>
    /// Alternates plain and profiled training steps of the model (or forward passes, when not training; after
    /// <see cref="StepTiming.Warmup"/> of each) until minSeconds of timed work and minSteps of each; every phase's
    /// figure is its median over the profiled steps. The phases are those of <see cref="StepProfiler"/>, timed in the
    /// real layers.
    /// </summary>
    public static StepBreakdown Measure(CharLmBench model, double minSeconds, int minSteps, bool training = true)
    {
        Action step = training ? () => model.TrainStep() : () => model.Infer();
        for (int i = 0; i < 2 * StepTiming.Warmup; i++) step();
        var plain = new List<double>();
        var profiled = new List<double>();
        var phases = StepProfiler.PhaseNames.Select(_ => new List<double>()).ToArray();
        double total = 0;
        while (total < minSeconds || plain.Count < minSteps)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            plain.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            StepProfiler.Start();
            step();
            double[] seconds = StepProfiler.Stop();
            profiled.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            for (int p = 0; p < seconds.Length; p++) phases[p].Add(seconds[p]);
            total += plain[^1] + profiled[^1];
        }
        var flops = Benchmarks.StepFlops.Of(model.Cell, CharLmBench.EmbeddingSize, model.Hidden, model.Layers, model.Batch, model.SeqLen,
            CharLmBench.Vocab, embedded: true);
        var phaseFlops = new double[phases.Length];
        phaseFlops[(int)StepPhase.InputGemm] = flops.InputProjection;
        phaseFlops[(int)StepPhase.RecurrentGemmForward] = flops.RecurrentForward;
        phaseFlops[(int)StepPhase.EmbeddingHeadLoss] = training ? flops.Head : flops.Head / 3;
        if (training)
        {
            phaseFlops[(int)StepPhase.RecurrentGemmBackward] = flops.RecurrentBackward;
            phaseFlops[(int)StepPhase.WeightGradientGemms] = flops.WeightGradients;
            phaseFlops[(int)StepPhase.InputGradientGemm] = flops.InputGradients;
        }
        var result = phases.Select((p, i) => new PhaseTime(StepProfiler.PhaseNames[i], StepStats.MedianOf(p), phaseFlops[i])).ToArray();
        return new StepBreakdown(result, StepStats.Of(plain), StepStats.Of(profiled), training ? flops.Training : flops.Forward);
    }
}
