using System.Runtime.CompilerServices;
using System.Diagnostics;

namespace Recurrent.Tensors;

/// <summary>
/// Persistent worker threads for <see cref="Gemm"/>: part 0 of a partition runs on the caller, parts 1.. on workers.
/// Workers spin briefly after each job before sleeping, because the recurrent layers call GEMM hundreds of times per
/// step with a little pointwise work in between; a sleeping thread would add its wake-up latency to every call.
/// One parallel GEMM at a time: a caller that finds the pool busy runs its GEMM on its own thread (same result).
/// No allocation per call: the job lives in static fields.
/// </summary>
internal static unsafe class GemmThreadPool
{
    private static readonly object Gate = new();   // held by the one caller using the workers
    private static readonly object Signal = new(); // workers sleep on it
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs
    private static readonly ManualResetEventSlim Done = new(false);

    private static Thread[] _workers = [];
    private static long _generation;
    private static int _pending;
    private static GemmProblem _problem;
    private static GemmPartition _partition;
    private static bool _wide;
    private static Exception? _error;

    /// <summary>Runs every part of the partition; false (nothing done) when another caller holds the workers.</summary>
    public static bool TryRun(in GemmProblem problem, in GemmPartition partition, bool wide)
    {
        if (!Monitor.TryEnter(Gate)) return false;
        try
        {
            EnsureWorkers(partition.Parts - 1);
            _problem = problem;
            _partition = partition;
            _wide = wide;
            _error = null;
            Volatile.Write(ref _pending, partition.Parts - 1);
            lock (Signal)
            {
                _generation++;
                Monitor.PulseAll(Signal);
            }
            RunPart(0);
            WaitForWorkers();
            _problem = default; // drop the pointers: the caller's pins end when we return
            if (_error != null) throw new InvalidOperationException("a GEMM worker failed", _error);
            return true;
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private static void RunPart(int part)
    {
        var (i0, i1, j0, j1) = _partition.Part(part);
        if (i0 < i1 && j0 < j1) GemmBlocked.Run(_problem, _wide, i0, i1, j0, j1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WaitForWorkers()
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _pending) != 0)
        {
            if (Stopwatch.GetTimestamp() < deadline) { Thread.SpinWait(20); continue; }
            // A Set left over from the previous job (its last worker may signal after we saw _pending reach 0) can
            // end this wait early; the loop re-checks, and a Set that Reset swallows came after _pending hit 0.
            Done.Wait();
            Done.Reset();
        }
    }

    private static void EnsureWorkers(int count)
    {
        if (_workers.Length >= count) return;
        var grown = new Thread[count];
        Array.Copy(_workers, grown, _workers.Length);
        for (int w = _workers.Length; w < count; w++)
        {
            int part = w + 1;
            long start = _generation; // the worker's first job is the next one posted
            grown[w] = new Thread(() => WorkerLoop(part, start)) { IsBackground = true, Name = $"gemm-worker-{part}" };
            grown[w].Start();
        }
        _workers = grown;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WorkerLoop(int part, long seen)
    {
        while (true)
        {
            long generation = Volatile.Read(ref _generation);
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            while (generation == seen && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.SpinWait(20);
                generation = Volatile.Read(ref _generation);
            }
            if (generation == seen)
                lock (Signal)
                {
                    while ((generation = _generation) == seen) Monitor.Wait(Signal);
                }
            seen = generation;
            if (part >= _partition.Parts) continue; // this job needs fewer threads
            try
            {
                RunPart(part);
            }
            catch (Exception e)
            {
                _error = e;
            }
            if (Interlocked.Decrement(ref _pending) == 0) Done.Set();
        }
    }
}
