using System.Diagnostics;

namespace Recurrent.Benchmarks;

/// <summary>Seconds per step over the timed steps: the median is the figure reported, the rest shows the spread.</summary>
public readonly record struct StepStats(int Steps, double TimedSeconds, double Median, double Mean, double Min, double Max)
{
    public static StepStats Of(IReadOnlyList<double> seconds)
    {
        if (seconds.Count == 0) throw new ArgumentException("StepStats.Of: no timed steps");
        return new(seconds.Count, seconds.Sum(), MedianOf(seconds), seconds.Average(), seconds.Min(), seconds.Max());
    }

    public static double MedianOf(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}

/// <summary>
/// torch_bench.py's protocol: <c>warmup</c> untimed steps, then individually timed steps until at least
/// <c>minSeconds</c> of timed work and at least <c>minSteps</c> steps; the rate comes from the median step time.
/// </summary>
public static class StepTiming
{
    public const int Warmup = 3;

    public static StepStats Measure(Action step, double minSeconds, int minSteps, int warmup = Warmup)
    {
        for (int i = 0; i < warmup; i++) step();
        var times = new List<double>();
        double total = 0;
        while (total < minSeconds || times.Count < minSteps)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            times.Add(seconds);
            total += seconds;
        }
        return StepStats.Of(times);
    }
}
