namespace Recurrent.Cli.Serve;

/// <summary>
/// At most <see cref="MaxRunning"/> inferences at once and <see cref="MaxWaiting"/> more waiting their turn (first come,
/// first served); a request beyond that is turned away at once (the server answers 503) rather than queued without end.
/// </summary>
internal sealed class InferenceGate(int maxRunning, int maxWaiting)
{
    private readonly SemaphoreSlim _slots = new(maxRunning, maxRunning);
    private int _inside; // running + waiting

    public int MaxRunning { get; } = maxRunning;
    public int MaxWaiting { get; } = maxWaiting;

    /// <summary>Inferences running or waiting now.</summary>
    public int Inside => Volatile.Read(ref _inside);

    /// <summary>A slot (dispose it to free it), after waiting if need be; null when the queue is full.</summary>
    public async Task<IDisposable?> EnterAsync(CancellationToken cancel)
    {
        if (Interlocked.Increment(ref _inside) > MaxRunning + MaxWaiting)
        {
            Interlocked.Decrement(ref _inside);
            return null;
        }
        try { await _slots.WaitAsync(cancel); }
        catch
        {
            Interlocked.Decrement(ref _inside);
            throw;
        }
        return new Slot(this);
    }

    private sealed class Slot(InferenceGate gate) : IDisposable
    {
        private int _disposed;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            gate._slots.Release();
            Interlocked.Decrement(ref gate._inside);
        }
    }
}
