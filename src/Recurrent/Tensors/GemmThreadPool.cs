using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Recurrent.Tensors;

/// <summary>
/// Persistent worker threads for <see cref="Gemm"/>. The caller and the workers claim the parts of a partition from
/// a shared ticket counter, so a worker the OS has not scheduled yet (the machine is busy) delays nothing: the caller
/// simply takes its part too. Workers spin briefly after each job before sleeping, because the recurrent layers call
/// GEMM hundreds of times per step with a little pointwise work in between, and a sleeping thread's wake-up latency
/// would land on every call. One parallel GEMM at a time: a caller that finds the pool busy runs its GEMM on its own
/// thread (same result, bit for bit). No allocation per call: the job lives in static fields.
/// </summary>
internal static unsafe class GemmThreadPool
{
    private static readonly object Gate = new();   // held by the one caller using the workers
    private static readonly object Signal = new(); // sleeping workers wait on it
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs
    private static readonly ManualResetEventSlim Done = new(false);

    private static Thread[] _workers = [];
    private static long _generation;  // bumped (under Signal) to wake workers for a new job
    private static long _job;         // generation of the job the fields below describe
    private static long _tickets;     // (job << 32) | parts claimed so far; reset when a job is posted
    private static int _remaining;    // parts of the current job not finished yet
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
            long job = _job + 1;
            _problem = problem;
            _partition = partition;
            _wide = wide;
            _error = null;
            _remaining = partition.Parts;
            Volatile.Write(ref _job, job);
            Interlocked.Exchange(ref _tickets, job << 32); // publishes the fields above to whoever claims a ticket
            lock (Signal)
            {
                _generation = job;
                Monitor.PulseAll(Signal);
            }
            ClaimParts();
            WaitForParts();
            _problem = default; // drop the pointers: the caller's pins end when we return
            if (_error != null) throw new InvalidOperationException("a GEMM worker failed", _error);
            return true;
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    /// <summary>
    /// Takes parts of the current job until none is left. A ticket from an older job (a worker that woke late) or
    /// past the last part is not a part; a valid claim keeps its job current, since the job cannot finish without it.
    /// </summary>
    private static void ClaimParts()
    {
        while (true)
        {
            long ticket = Interlocked.Increment(ref _tickets);
            int part = (int)(ticket & 0xFFFFFFFF) - 1;
            if (ticket >> 32 != Volatile.Read(ref _job) || part >= _partition.Parts) return;
            try
            {
                var (i0, i1, j0, j1) = _partition.Part(part);
                if (i0 < i1 && j0 < j1) Gemm.RunRectangle(_problem, _wide, i0, i1, j0, j1);
            }
            catch (Exception e)
            {
                _error = e;
            }
            if (Interlocked.Decrement(ref _remaining) == 0) Done.Set();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WaitForParts()
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _remaining) != 0)
        {
            if (Stopwatch.GetTimestamp() < deadline) { Thread.SpinWait(20); continue; }
            // A Set left over from the previous job (its last part may signal after we saw _remaining reach 0) can
            // end this wait early; the loop re-checks, and a Set that Reset swallows came after _remaining hit 0.
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
            long seen = _generation; // the worker's first job is the next one posted
            grown[w] = new Thread(() => WorkerLoop(seen)) { IsBackground = true, Name = $"gemm-worker-{w + 1}" };
            grown[w].Start();
        }
        _workers = grown;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WorkerLoop(long seen)
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
            ClaimParts();
        }
    }
}
