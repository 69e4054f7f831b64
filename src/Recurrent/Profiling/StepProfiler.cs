using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Recurrent.Profiling;

/// <summary>The phases a training step's time is attributed to (see <see cref="StepProfiler"/>).</summary>
public enum StepPhase
{
    /// <summary>The input projection X·W_ihᵀ + bias of every step at once.</summary>
    InputGemm,
    /// <summary>The forward recurrent products h_{t−1}·W_hhᵀ (and packing W_hh).</summary>
    RecurrentGemmForward,
    /// <summary>The forward cells: gate activations and the new states.</summary>
    CellsForward,
    /// <summary>The backward recurrent products dG·W_hh (and packing).</summary>
    RecurrentGemmBackward,
    /// <summary>The backward cells (and the bias gradients).</summary>
    CellsBackward,
    /// <summary>This thread waiting for the other threads' parts of a parallel time step.</summary>
    WaitForOtherParts,
    /// <summary>The weight-gradient products dGᵀX and dGᵀH.</summary>
    WeightGradientGemms,
    /// <summary>The input-gradient product dG·W_ih.</summary>
    InputGradientGemm,
    /// <summary>The embedding, the output layer and the loss.</summary>
    EmbeddingHeadLoss,
    /// <summary>Copies between batch-first and time-major layouts, and dropout.</summary>
    Layout,
    /// <summary>Zeroing the gradients, clipping and the optimizer step.</summary>
    Optimizer,
}

/// <summary>
/// Where the time of a step goes, measured in the real code: the layers and the benchmark call <see cref="Mark"/> at
/// each boundary between phases, and the time since the previous mark is added to the phase just finished. Only the
/// thread that called <see cref="Start"/> is timed: in a parallel time step it times its own part (its GEMM columns,
/// then its cells) and then the wait for the other threads' parts, so the phases add up to the step's wall time.
/// Off unless started: a mark is then one test of a static field.
/// </summary>
public static class StepProfiler
{
    /// <summary>A readable name of each <see cref="StepPhase"/>, indexed by the phase's value: what the report prints.</summary>
    public static readonly string[] PhaseNames =
    [
        "input GEMM X·W_ihᵀ + bias", "recurrent GEMMs fwd h·W_hhᵀ (+pack)", "cells fwd (gates, state)",
        "recurrent GEMMs bwd dG·W_hh (+pack)", "cells bwd (+bias grads)", "waiting for the other threads' parts",
        "weight-grad GEMMs dGᵀX, dGᵀH", "input-grad GEMM dG·W_ih", "embedding + head + loss",
        "batch_first ↔ time-major copies, dropout", "zero grad + clip + Adam",
    ];

    private static bool _enabled;
    private static int _thread;
    private static long _last;
    private static readonly long[] Ticks = new long[PhaseNames.Length];

    /// <summary>Clears the counters and starts timing the calling thread.</summary>
    public static void Start()
    {
        Array.Clear(Ticks);
        _thread = Environment.CurrentManagedThreadId;
        _last = Stopwatch.GetTimestamp();
        Volatile.Write(ref _enabled, true);
    }

    /// <summary>Stops timing; returns the seconds attributed to each phase since Start, indexed by <see cref="StepPhase"/>.</summary>
    public static double[] Stop()
    {
        Volatile.Write(ref _enabled, false);
        return Ticks.Select(t => (double)t / Stopwatch.Frequency).ToArray();
    }

    /// <summary>The time since the previous mark was spent in <paramref name="finished"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Mark(StepPhase finished)
    {
        if (_enabled) Record(finished);
    }

    private static void Record(StepPhase finished)
    {
        if (Environment.CurrentManagedThreadId != _thread) return;
        long now = Stopwatch.GetTimestamp();
        Ticks[(int)finished] += now - _last;
        _last = now;
    }
}
