using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Distributed;

/// <summary>
/// Sums the gradients of a step over the ranks, as PyTorch's DistributedDataParallel does: the parameters are cut
/// into buckets of about <see cref="DefaultBucketFloats"/> floats (or as many as asked), in reverse order (the output
/// layer first, the embedding last: the order backward finishes them in), and each bucket is one all-reduce of a flat
/// buffer. Each rank's
/// gradient is of its own share's mean loss; scaled by the share's fraction of the global batch's loss terms before
/// the sum, it becomes the gradient of the global batch's mean loss, the one a single process computes.
///
/// With <see cref="Overlap"/> a thread of its own reduces a bucket as soon as backward has finished all of its
/// parameters (models that say so through <see cref="IGradientHooks"/>; the rest are finished when backward returns),
/// while the main thread goes on with the layers below. It reduces the buckets strictly in order, so every rank makes
/// the same MPI calls in the same order, and the sums — and so the weights — are the same bits with overlap and
/// without. The main thread makes no MPI call while a step's buckets are in flight (MPI_THREAD_SERIALIZED).
/// </summary>
public sealed class GradientReducer : IDisposable
{
    /// <summary>The default bucket size, 1 Mi floats (4 MiB): large enough that an all-reduce is bandwidth-bound, small
    /// enough that the output layer's bucket starts while the layers below are still in backward.</summary>
    public const int DefaultBucketFloats = 1 << 20;

    private readonly ICollective _group;
    private readonly Bucket[] _buckets;
    private readonly Dictionary<Tensor, (int Bucket, int Slot)> _where = new(ReferenceEqualityComparer.Instance);
    private readonly Thread? _thread;
    private readonly object _gate = new();
    private int _readyUpTo;   // buckets [0, _readyUpTo) may be reduced (overlap)
    private int _reducedUpTo; // buckets [0, _reducedUpTo) are reduced (overlap)
    private bool _stopping;
    private Exception? _error;
    private float _scale = 1;

    /// <summary>Reduce buckets on a thread of their own while backward goes on.</summary>
    public bool Overlap { get; }
    /// <summary>The number of buckets.</summary>
    public int Buckets => _buckets.Length;

    /// <summary>Buckets over <paramref name="parameters"/> (the optimizer's, in its order) for <paramref name="group"/>.</summary>
    public GradientReducer(ICollective group, IReadOnlyList<Parameter> parameters, bool overlap = false,
        int bucketFloats = DefaultBucketFloats)
    {
        if (bucketFloats < 1) throw new ArgumentOutOfRangeException(nameof(bucketFloats), $"a bucket must hold at least 1 float (got {bucketFloats})");
        _group = group;
        Overlap = overlap && group.Size > 1;
        var buckets = new List<Bucket>();
        var current = new List<Tensor>();
        long floats = 0;
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            var grad = parameters[i].Grad;
            if (current.Count > 0 && floats + grad.Length > bucketFloats)
            {
                buckets.Add(new Bucket([.. current]));
                current.Clear();
                floats = 0;
            }
            current.Add(grad);
            floats += grad.Length;
        }
        if (current.Count > 0) buckets.Add(new Bucket([.. current]));
        _buckets = [.. buckets];
        for (int b = 0; b < _buckets.Length; b++)
            for (int s = 0; s < _buckets[b].Grads.Length; s++) _where[_buckets[b].Grads[s]] = (b, s);
        if (Overlap)
        {
            _thread = new Thread(ReduceLoop) { IsBackground = true, Name = "gradient all-reduce" };
            _thread.Start();
        }
    }

    /// <summary>
    /// Starts a step whose local gradients are of a mean over <paramref name="localTerms"/> loss terms of the global
    /// batch's <paramref name="globalTerms"/>: they are scaled by localTerms / globalTerms before the sum.
    /// </summary>
    public void Begin(long localTerms, long globalTerms)
    {
        if (globalTerms <= 0) throw new ArgumentOutOfRangeException(nameof(globalTerms), $"the global batch has {globalTerms} loss terms");
        _scale = (float)((double)localTerms / globalTerms);
        foreach (var bucket in _buckets) bucket.Reset();
        lock (_gate) { _readyUpTo = 0; _reducedUpTo = 0; }
    }

    /// <summary>Backward has finished these parameters' gradients for this step (see <see cref="IGradientHooks"/>).</summary>
    public void Ready(IModule module)
    {
        if (!Overlap) return;
        foreach (var p in module.Parameters())
            if (_where.TryGetValue(p.Grad, out var at)) _buckets[at.Bucket].MarkReady(at.Slot);
        Publish();
    }

    /// <summary>Backward is done: reduces what is left and waits for every bucket, after which every rank holds the
    /// same summed gradients.</summary>
    public void Finish()
    {
        if (!Overlap)
        {
            if (_group.Size > 1) foreach (var bucket in _buckets) bucket.Reduce(_group, _scale);
        }
        else
        {
            foreach (var bucket in _buckets) bucket.MarkAllReady();
            Publish();
            lock (_gate)
            {
                while (_reducedUpTo < _buckets.Length && _error == null) Monitor.Wait(_gate);
                if (_error != null) throw new MpiException($"the gradient all-reduce failed: {_error.Message}");
            }
        }
    }

    // Lets the reducing thread take every bucket, in order, whose parameters are all finished.
    private void Publish()
    {
        lock (_gate)
        {
            int ready = _readyUpTo;
            while (ready < _buckets.Length && _buckets[ready].AllReady) ready++;
            if (ready == _readyUpTo) return;
            _readyUpTo = ready;
            Monitor.PulseAll(_gate);
        }
    }

    private void ReduceLoop()
    {
        while (true)
        {
            int next;
            lock (_gate)
            {
                while (!_stopping && _reducedUpTo >= _readyUpTo) Monitor.Wait(_gate);
                if (_stopping) return;
                next = _reducedUpTo;
            }
            try { _buckets[next].Reduce(_group, _scale); }
            catch (Exception e)
            {
                lock (_gate) { _error = e; Monitor.PulseAll(_gate); }
                return;
            }
            lock (_gate) { _reducedUpTo = next + 1; Monitor.PulseAll(_gate); }
        }
    }

    /// <summary>Stops the reducing thread.</summary>
    public void Dispose()
    {
        lock (_gate) { _stopping = true; Monitor.PulseAll(_gate); }
        _thread?.Join();
    }

    /// <summary>Some parameters' gradients, reduced as one flat buffer.</summary>
    private sealed class Bucket(Tensor[] grads)
    {
        public readonly Tensor[] Grads = grads;
        private float[]? _flat; // allocated by the first Reduce: one process never needs it
        private readonly bool[] _ready = new bool[grads.Length];
        private int _readyCount;

        public bool AllReady => Volatile.Read(ref _readyCount) == _ready.Length;

        public void Reset() { Array.Clear(_ready); _readyCount = 0; }

        public void MarkReady(int slot)
        {
            if (_ready[slot]) return;
            _ready[slot] = true;
            _readyCount++;
        }

        public void MarkAllReady()
        {
            for (int s = 0; s < _ready.Length; s++) MarkReady(s);
        }

        // scale·grad into the flat buffer, the sum over the ranks, back into the gradients.
        public void Reduce(ICollective group, float scale)
        {
            _flat ??= new float[Grads.Sum(g => g.Length)];
            int offset = 0;
            foreach (var g in Grads)
            {
                var span = _flat.AsSpan(offset, g.Length);
                g.Span.CopyTo(span);
                if (scale != 1) Kernels.Scale(span, scale);
                offset += g.Length;
            }
            group.Sum(_flat);
            offset = 0;
            foreach (var g in Grads)
            {
                _flat.AsSpan(offset, g.Length).CopyTo(g.Span);
                offset += g.Length;
            }
        }
    }
}

/// <summary>
/// A model whose backward says when it has finished a part's gradients for the step (a layer used once per step,
/// after its weight gradients are summed), so a <see cref="GradientReducer"/> can start summing them over the ranks
/// while backward goes on below. Parts it never names are finished when backward returns.
/// </summary>
public interface IGradientHooks
{
    /// <summary>Called from Backward with each finished part; null (the default) costs nothing.</summary>
    Action<IModule>? GradientsReady { get; set; }
}
