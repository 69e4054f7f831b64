using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>Work cut into parts that can run on any thread in any order, all at once.</summary>
internal interface IParallelWork
{
    void RunPart(int part);
}

/// <summary>
/// Persistent worker threads for <see cref="Gemm"/> and the recurrent layers' time steps. The caller and the workers
/// claim the parts of a job from a shared ticket counter, so a worker the OS has not scheduled yet (the machine is
/// busy) delays nothing: the caller simply takes its part too. One job at a time: a caller that finds the pool busy
/// runs the parts on its own thread (same result, bit for bit). No allocation per call: the job lives in static
/// fields. A part that starts parallel work of its own runs it on its own thread (the nested call finds the pool busy).
///
/// Workers spin for 5 ms after each job before sleeping, so they stay awake through a training step's
/// single-threaded stretches (dropout masks, copies between layers: a fraction of a millisecond) and a layer's next
/// job finds them spinning. A woken thread is placed by the OS, sometimes on the caller's own core (seen once on this VM); spinners
/// yield the core every 20 µs so that case costs a time slice at most. Side by side with the former 200 µs
/// Thread.SpinWait loop these measured the same, fast or slow with the host (LSTM 2×128 moves by ±30 % from one
/// minute to the next on this VM): they are precautions, not measured gains. Past the spin the workers sleep, so a
/// process that ran one parallel job and then waits costs no CPU (measured in WorkerPoolIdleTests: a few ms in the
/// second after the job, the spin's 5 ms per worker at most).
///
/// A job can also be posted (<see cref="TryPost"/>): the workers start on it while its caller goes on with work of its
/// own, whose parallel calls meanwhile run on the caller's thread (the pool is busy), and <see cref="Finish"/> takes
/// what is left. That fills a core the caller's own work would leave half idle.
/// </summary>
internal static class WorkerPool
{
    private static readonly object Gate = new();   // held by the one caller using the workers
    private static readonly object Signal = new(); // sleeping workers wait on it
    private static readonly long SpinTicks = Stopwatch.Frequency / 200; // 5 ms
    private static readonly long YieldTicks = Stopwatch.Frequency / 50000; // 20 µs
    private static readonly ManualResetEventSlim Done = new(false);

    private static Thread[] _workers = [];
    private static long _generation;  // bumped (under Signal) to wake workers for a new job
    private static long _job;         // generation of the job the fields below describe
    private static long _tickets;     // (job << 32) | parts claimed so far; reset when a job is posted
    private static int _remaining;    // parts of the current job not finished yet
    private static IParallelWork? _work;
    private static int _parts;
    private static Exception? _error;
    private static bool _busy;        // the Gate's holder has a job out: a call re-entering from its thread runs alone
    private static bool _posted;      // that job was posted by TryPost and runs until its caller's Finish

    /// <summary>Worker threads started so far (they live as long as the process; tests check that a job used them).</summary>
    internal static int Workers => Volatile.Read(ref _workers).Length;

    /// <summary>Runs parts [0, parts) of the work; false (nothing done) when another caller holds the workers.</summary>
    public static bool TryRun(IParallelWork work, int parts)
    {
        if (!Monitor.TryEnter(Gate)) return false;
        // The Gate is re-entrant: the thread holding it may call again, from a part it runs or under a posted job.
        bool mine = !_busy;
        try
        {
            if (!mine) return false;
            _busy = true;
            EnsureWorkers(parts - 1);
            Publish(work, parts);
            Complete();
            return true;
        }
        finally
        {
            if (mine) _busy = false;
            Monitor.Exit(Gate);
        }
    }

    /// <summary>
    /// Starts parts [0, parts) of the work on up to <paramref name="workers"/> worker threads and returns at once,
    /// keeping the pool; the caller must then call <see cref="Finish"/> (in a finally: the pool stays taken until it
    /// does). False, with nothing started, when <paramref name="workers"/> is 0 or the pool is busy.
    /// </summary>
    public static bool TryPost(IParallelWork work, int parts, int workers)
    {
        if (workers < 1 || !Monitor.TryEnter(Gate)) return false;
        if (_busy)
        {
            Monitor.Exit(Gate);
            return false;
        }
        _busy = _posted = true;
        try
        {
            EnsureWorkers(workers);
            Publish(work, parts);
        }
        catch
        {
            _busy = _posted = false;
            Monitor.Exit(Gate);
            throw;
        }
        return true;
    }

    /// <summary>Runs the parts of the job this thread posted that no worker has claimed, waits for the others, and frees the pool.</summary>
    public static void Finish()
    {
        if (!Monitor.IsEntered(Gate) || !_posted) throw new InvalidOperationException("WorkerPool.Finish: this thread has no posted job");
        try
        {
            Complete();
        }
        finally
        {
            _busy = _posted = false;
            Monitor.Exit(Gate);
        }
    }

    /// <summary>Makes the work the current job and wakes the workers (the caller holds the Gate).</summary>
    private static void Publish(IParallelWork work, int parts)
    {
        long job = _job + 1;
        _work = work;
        _parts = parts;
        _error = null;
        _remaining = parts;
        Volatile.Write(ref _job, job);
        Interlocked.Exchange(ref _tickets, job << 32); // publishes the fields above to whoever claims a ticket
        lock (Signal)
        {
            _generation = job;
            Monitor.PulseAll(Signal);
        }
    }

    /// <summary>Takes the current job's unclaimed parts, waits for the rest, and reports a worker's failure.</summary>
    private static void Complete()
    {
        ClaimParts();
        WaitForParts();
        _work = null; // a GEMM's pointers are pinned only until we return
        if (_error != null) throw new InvalidOperationException("a worker thread failed", _error);
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
            if (ticket >> 32 != Volatile.Read(ref _job) || part >= _parts) return;
            try
            {
                _work!.RunPart(part);
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
        long now = Stopwatch.GetTimestamp(), deadline = now + SpinTicks, nextYield = now + YieldTicks;
        while (Volatile.Read(ref _remaining) != 0)
        {
            now = Stopwatch.GetTimestamp();
            if (now < deadline)
            {
                Spin(now, ref nextYield);
                continue;
            }
            // A Set left over from the previous job (its last part may signal after we saw _remaining reach 0) can
            // end this wait early; the loop re-checks, and a Set that Reset swallows came after _remaining hit 0.
            Done.Wait();
            Done.Reset();
        }
    }

    /// <summary>
    /// One turn of a spin loop: the x86 PAUSE instruction, and every 20 µs a yield of the core. PAUSE rather than
    /// Thread.SpinWait, whose length is calibrated once per process: a spin whose cost is the same in every process.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spin(long now, ref long nextYield)
    {
        if (now >= nextYield)
        {
            Thread.Yield();
            nextYield = now + YieldTicks;
        }
        else if (X86Base.IsSupported) X86Base.Pause();
        else Thread.SpinWait(1);
    }

    private static void EnsureWorkers(int count)
    {
        if (_workers.Length >= count) return;
        var grown = new Thread[count];
        Array.Copy(_workers, grown, _workers.Length);
        for (int w = _workers.Length; w < count; w++)
        {
            long seen = _generation; // the worker's first job is the next one posted
            grown[w] = new Thread(() => WorkerLoop(seen)) { IsBackground = true, Name = $"recurrent-worker-{w + 1}" };
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
            long now = Stopwatch.GetTimestamp(), deadline = now + SpinTicks, nextYield = now + YieldTicks;
            while (generation == seen && (now = Stopwatch.GetTimestamp()) < deadline)
            {
                Spin(now, ref nextYield);
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
