using System.Diagnostics;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The worker threads spin for 5 ms after a job (so a training step's next GEMM finds them awake), then sleep: a process
/// that ran one parallel job and then waits must burn no CPU. Measured as the CPU time the pool's threads use over the
/// second after the job: a few ms (the spin), where a worker spinning forever would use about 1 s.
///
/// Per thread, from /proc/self/task (Linux; in 10 ms ticks), rather than the whole process's TotalProcessorTime:
/// inside the test host that second also holds the runtime's tiered compilation and the host's own thread-pool work,
/// 70–230 ms when measured, which has nothing to do with the pool. A program that does only this (one 256³ GEMM, or
/// one forward and backward of this test's LSTM, on 2 threads, then Thread.Sleep(1000)) measured 3–5 ms of process
/// CPU time over the second, once 18 ms (tiered compilation). Runs alone (the Gemm.Threads collection).
/// </summary>
[Collection("Gemm.Threads")]
public class WorkerPoolIdleTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(20);

    /// <summary>CPU time so far of the process's threads whose name starts with prefix (at most 15 characters: Linux's
    /// thread names are truncated there), and how many there are.</summary>
    private static (TimeSpan Cpu, int Threads) ThreadsCpu(string prefix)
    {
        long ticks = 0;
        int threads = 0;
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith(prefix, StringComparison.Ordinal)) continue;
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields from the 3rd (state) on
                ticks += long.Parse(fields[11]) + long.Parse(fields[12]);          // utime + stime: the 14th and 15th
                threads++;
            }
            catch (IOException) { } // a thread that ended meanwhile
        }
        return (TimeSpan.FromSeconds(ticks / 100.0), threads); // USER_HZ = 100 on Linux
    }

    private const string WorkerName = "recurrent-worke"; // "recurrent-worker-N", truncated

    /// <summary>CPU time the threads named prefix use over one second that starts right after <paramref name="job"/> returns.</summary>
    private static TimeSpan CpuInTheSecondAfter(Action job, string prefix)
    {
        job();
        var (before, _) = ThreadsCpu(prefix);
        Thread.Sleep(1000);
        var (after, threads) = ThreadsCpu(prefix);
        Assert.True(threads >= 1, $"no thread named {prefix}… was found, so nothing was measured");
        return after - before;
    }

    [LinuxFact]
    public void AfterOneParallelGemmTheWorkersIdle()
    {
        using var threadsScope = new GemmThreadsScope(2);
        const int n = 256; // 2²⁴ multiply-adds: well past the parallel threshold
        var rng = new Rng(1);
        var (a, b, c) = (GradCheck.RandomArray(rng, n * n), GradCheck.RandomArray(rng, n * n), new float[n * n]);

        var spent = CpuInTheSecondAfter(() => Gemm.Multiply(a, n, false, b, n, false, c, n, n, n, n), WorkerName);
        Assert.True(WorkerPool.Workers >= 1, "the GEMM ran without the worker threads, so this test measured nothing");
        Assert.True(spent < Budget, $"the workers used {spent.TotalMilliseconds:F0} ms of CPU in the idle second after one GEMM");
    }

    [LinuxFact]
    public void AfterOneTrainingStepOfARecurrentLayerOnTwoThreadsTheWorkersIdle()
    {
        using var threadsScope = new GemmThreadsScope(2);
        var rng = new Rng(2);
        var layer = new RecurrentLayer(CellKind.Lstm, 7, 136, rng: rng); // batch 16: the time loop cut into two row parts
        var x = new Tensor(GradCheck.RandomArray(rng, 5 * 16 * 7), 5, 16, 7);
        var dy = new Tensor(GradCheck.RandomArray(rng, 5 * 16 * 136), 5, 16, 136);

        var spent = CpuInTheSecondAfter(() =>
        {
            layer.Forward(x);
            layer.Backward(dy);
        }, WorkerName);
        Assert.True(spent < Budget, $"the workers used {spent.TotalMilliseconds:F0} ms of CPU in the idle second after one training step");
    }

    [LinuxFact]
    public void TheMeasurementSeesASpinningThread()
    {
        // The instrument itself: a thread spinning for 300 ms of the second is counted, as a worker that never slept would
        // be. It then waits (sleeping) until the second is measured, so that it is still there to be read.
        using var measured = new ManualResetEventSlim();
        var spinner = new Thread(() =>
        {
            var clock = Stopwatch.StartNew();
            while (clock.ElapsedMilliseconds < 300) Thread.SpinWait(100);
            measured.Wait();
        }) { Name = "idle-test-spin" };
        var spent = CpuInTheSecondAfter(spinner.Start, "idle-test-spin");
        measured.Set();
        spinner.Join();
        // On a busy machine the spinner gets only its share of a core (130 ms of the 300 seen): well above the budget.
        Assert.True(spent > 2.5 * Budget, $"a 300 ms spin was measured as {spent.TotalMilliseconds:F0} ms of CPU");
    }
}

/// <summary>A fact that reads /proc (per-thread CPU times); skipped where there is none.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "reads per-thread CPU times from /proc";
    }
}
