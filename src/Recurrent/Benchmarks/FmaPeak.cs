using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Benchmarks;

/// <summary>
/// The machine's float32 FMA ceiling in GFLOP/s (an FMA counts 2), measured as bench/fma_peak.c does: each thread runs
/// 12 independent FMA chains on Vector512 (Vector256 where 512-bit vectors are not accelerated), enough to cover the
/// FMA latency on both pipes. Utilization figures divide by it. Best of a few rounds, so other load lowers it little.
/// </summary>
public static class FmaPeak
{
    private const int Chains = 12;

    /// <summary>
    /// GFLOP/s of <paramref name="threads"/> threads running FMA chains: the best round of those run over at least
    /// <paramref name="seconds"/> (three rounds at least). Throws <see cref="ArgumentOutOfRangeException"/> for threads below 1.
    /// </summary>
    public static double Measure(int threads, double seconds = 0.3)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "FmaPeak.Measure: threads must be ≥ 1");
        bool wide = Vector512.IsHardwareAccelerated;
        int lanes = wide ? Vector512<float>.Count : Vector256<float>.Count;
        long iterations = 1 << 16;
        // Calibrate: grow the per-thread work until one round takes a tenth of the budget.
        while (Round(threads, iterations, wide) < seconds / 10 && iterations < 1L << 40) iterations *= 2;
        double best = double.MaxValue;
        var clock = Stopwatch.StartNew();
        for (int round = 0; round < 3 || clock.Elapsed.TotalSeconds < seconds; round++)
            best = Math.Min(best, Round(threads, iterations, wide));
        return threads * (double)iterations * Chains * lanes * 2 / best / 1e9;
    }

    /// <summary>Wall seconds for every thread to run its chains once through.</summary>
    private static double Round(int threads, long iterations, bool wide)
    {
        using var start = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            float seed = 1f + 0.01f * t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                Sink(wide ? Chains512(iterations, seed) : Chains256(iterations, seed));
            });
            workers[t].Start();
        }
        start.SignalAndWait();
        long begin = Stopwatch.GetTimestamp();
        foreach (var w in workers) w.Join();
        return Stopwatch.GetElapsedTime(begin).TotalSeconds;
    }

    private static float _sink;
    private static void Sink(float value) => _sink += value;  // keeps the chains' result alive

    // Every chain starts from its own value, so the compiler cannot fold them into one (see bench/fma_peak.c).
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains512(long iterations, float seed)
    {
        var m = Vector512.Create(0.9999999f);
        var b = Vector512.Create(1e-7f);
        Vector512<float> x0 = Vector512.Create(seed), x1 = Vector512.Create(seed + 0.001f), x2 = Vector512.Create(seed + 0.002f),
            x3 = Vector512.Create(seed + 0.003f), x4 = Vector512.Create(seed + 0.004f), x5 = Vector512.Create(seed + 0.005f),
            x6 = Vector512.Create(seed + 0.006f), x7 = Vector512.Create(seed + 0.007f), x8 = Vector512.Create(seed + 0.008f),
            x9 = Vector512.Create(seed + 0.009f), x10 = Vector512.Create(seed + 0.010f), x11 = Vector512.Create(seed + 0.011f);
        for (long i = 0; i < iterations; i++)
        {
            x0 = Vector512.FusedMultiplyAdd(x0, m, b); x1 = Vector512.FusedMultiplyAdd(x1, m, b);
            x2 = Vector512.FusedMultiplyAdd(x2, m, b); x3 = Vector512.FusedMultiplyAdd(x3, m, b);
            x4 = Vector512.FusedMultiplyAdd(x4, m, b); x5 = Vector512.FusedMultiplyAdd(x5, m, b);
            x6 = Vector512.FusedMultiplyAdd(x6, m, b); x7 = Vector512.FusedMultiplyAdd(x7, m, b);
            x8 = Vector512.FusedMultiplyAdd(x8, m, b); x9 = Vector512.FusedMultiplyAdd(x9, m, b);
            x10 = Vector512.FusedMultiplyAdd(x10, m, b); x11 = Vector512.FusedMultiplyAdd(x11, m, b);
        }
        return Vector512.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Chains256(long iterations, float seed)
    {
        var m = Vector256.Create(0.9999999f);
        var b = Vector256.Create(1e-7f);
        Vector256<float> x0 = Vector256.Create(seed), x1 = Vector256.Create(seed + 0.001f), x2 = Vector256.Create(seed + 0.002f),
            x3 = Vector256.Create(seed + 0.003f), x4 = Vector256.Create(seed + 0.004f), x5 = Vector256.Create(seed + 0.005f),
            x6 = Vector256.Create(seed + 0.006f), x7 = Vector256.Create(seed + 0.007f), x8 = Vector256.Create(seed + 0.008f),
            x9 = Vector256.Create(seed + 0.009f), x10 = Vector256.Create(seed + 0.010f), x11 = Vector256.Create(seed + 0.011f);
        for (long i = 0; i < iterations; i++)
        {
            x0 = Vector256.FusedMultiplyAdd(x0, m, b); x1 = Vector256.FusedMultiplyAdd(x1, m, b);
            x2 = Vector256.FusedMultiplyAdd(x2, m, b); x3 = Vector256.FusedMultiplyAdd(x3, m, b);
            x4 = Vector256.FusedMultiplyAdd(x4, m, b); x5 = Vector256.FusedMultiplyAdd(x5, m, b);
            x6 = Vector256.FusedMultiplyAdd(x6, m, b); x7 = Vector256.FusedMultiplyAdd(x7, m, b);
            x8 = Vector256.FusedMultiplyAdd(x8, m, b); x9 = Vector256.FusedMultiplyAdd(x9, m, b);
            x10 = Vector256.FusedMultiplyAdd(x10, m, b); x11 = Vector256.FusedMultiplyAdd(x11, m, b);
        }
        return Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }
}
