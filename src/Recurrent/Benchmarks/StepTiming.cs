using System.Diagnostics;

namespace Recurrent.Benchmarks;

/// <summary>Seconds per step over the timed steps: the median is the figure reported, the rest shows the spread.</summary>
public readonly record struct StepStats(int Steps, double TimedSeconds, double Median, double Mean, double Min, double Max)
{
    /// <summary>The statistics of the step times given (seconds each); throws <see cref="ArgumentException"/> when there are none.</summary>
    public static StepStats Of(IReadOnlyList<double> seconds)
    {
        if (seconds.Count == 0) throw new ArgumentException("StepStats.Of: no timed steps");
        return new(seconds.Count, seconds.Sum(), MedianOf(seconds), seconds.Average(), seconds.Min(), seconds.Max());
    }

    /// <summary>The median: the middle value, or the mean of the two middle ones for an even count.</summary>
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
    /// <summary>Untimed steps before timing, as torch_bench.py.</summary>
    public const int Warmup = 3;

    /// <summary>Runs <paramref name="warmup"/> untimed steps, then times steps one by one until both minimums are met.</summary>
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
