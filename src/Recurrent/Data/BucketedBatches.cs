using Recurrent.Tensors;

namespace Recurrent.Data;

/// <summary>
/// Batches of example indices for variable-length examples (sentences), grouped so that the examples of a batch have
/// similar lengths and padding them to the longest wastes little work. N = examples, B = batch size; an epoch has
/// ⌈N / B⌉ batches and uses every example exactly once.
///
/// The order of an epoch is a pure function of (seed, epoch), so a run resumed at any step sees exactly the batches the
/// uninterrupted run would have:
///   1. shuffle 0..N−1 with an <see cref="Rng"/> seeded from (seed, epoch) (Fisher–Yates);
///   2. cut the shuffled list into chunks of <see cref="ChunkBatches"/>·B examples and sort each chunk by length
///      (ties keep their shuffled order);
///   3. cut each sorted chunk into batches of B (chunks hold whole batches, so only the last chunk's last batch can
///      be shorter: one batch an epoch);
///   4. shuffle the order of the batches with the same Rng.
/// Sorting within chunks rather than over the whole set keeps batches random (which examples meet in a batch changes
/// every epoch) while their lengths are close: with 50·B examples per chunk, neighbours in length order differ little.
/// The current epoch's batches are cached, so asking for one batch per step costs a copy of B indices.
/// </summary>
public sealed class BucketedBatches
{
    /// <summary>Batches per sorted chunk: each chunk of 50·B shuffled examples is sorted by length before being cut into batches.</summary>
    public const int ChunkBatches = 50;

    private readonly int[] _lengths;
    private readonly int _batchSize;
    private readonly ulong _seed;
    private readonly int[] _order;      // the cached epoch's example indices, batch after batch in length-sorted order
    private readonly int[] _batchStart; // _batchStart[k] = where in _order the k-th batch of the epoch starts
    private readonly long[] _keys;      // sort keys (length, position), reused
    private long _cachedEpoch = -1;

    /// <summary>
    /// Batches over examples of the given lengths, shuffled from <paramref name="seed"/> (each epoch from a seed derived from it).
    /// Throws <see cref="ArgumentException"/> for no examples or a negative length, <see cref="ArgumentOutOfRangeException"/>
    /// for a batch size below 1.
    /// </summary>
    public BucketedBatches(int[] lengths, int batchSize, ulong seed)
    {
        if (lengths.Length == 0) throw new ArgumentException("no examples to batch");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size must be at least 1 (got {batchSize})");
        foreach (int n in lengths) if (n < 0) throw new ArgumentException($"a length is negative ({n})");
        _lengths = (int[])lengths.Clone();
        _batchSize = batchSize;
        _seed = seed;
        _order = new int[lengths.Length];
        _keys = new long[lengths.Length];
        BatchesPerEpoch = BatchesFor(lengths.Length, batchSize);
        _batchStart = new int[BatchesPerEpoch];
    }

    /// <summary>Number of examples batched.</summary>
    public int Examples => _lengths.Length;
    /// <summary>B: examples per batch (the epoch's last batch may hold fewer).</summary>
    public int BatchSize => _batchSize;
    /// <summary>⌈Examples / BatchSize⌉ (see <see cref="BatchesFor"/>).</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>⌈examples / batchSize⌉: the batches of an epoch (the last may be short).</summary>
    public static int BatchesFor(int examples, int batchSize) => (examples + batchSize - 1) / batchSize;

    /// <summary>The example indices of batch <paramref name="index"/> of <paramref name="epoch"/> (a new array, sorted by length).</summary>
    public int[] Batch(long epoch, int index)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), $"epoch {epoch} is negative");
        if ((uint)index >= (uint)BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(index), $"batch {index} of an epoch of {BatchesPerEpoch}");
        if (epoch != _cachedEpoch) Arrange(epoch);
        int start = _batchStart[index];
        return _order.AsSpan(start, Math.Min(_batchSize, _order.Length - start)).ToArray();
    }

    private void Arrange(long epoch)
    {
        int n = _order.Length;
        var rng = new Rng(EpochSeed(_seed, epoch));
        for (int i = 0; i < n; i++) _order[i] = i;
        Shuffle(_order, rng);

        // Sort each chunk by (length, shuffled position): the position makes every key distinct, so the order does
        // not depend on the sort algorithm's handling of ties.
        for (int i = 0; i < n; i++) _keys[i] = ((long)_lengths[_order[i]] << 32) | (uint)i;
        int chunk = ChunkBatches * _batchSize;
        for (int c = 0; c < n; c += chunk)
        {
            int size = Math.Min(chunk, n - c);
            Array.Sort(_keys, _order, c, size);
        }

        for (int k = 0; k < _batchStart.Length; k++) _batchStart[k] = k * _batchSize;
        Shuffle(_batchStart, rng);
        _cachedEpoch = epoch;
    }

    /// <summary>Fisher–Yates: every permutation equally likely.</summary>
    private static void Shuffle(int[] a, Rng rng)
    {
        for (int i = a.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (a[i], a[j]) = (a[j], a[i]);
        }
    }

    /// <summary>The seed of an epoch's Rng: the run's seed scrambled (splitmix64's finalizer), then the epoch mixed in.</summary>
    private static ulong EpochSeed(ulong seed, long epoch)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (z ^ (z >> 31)) ^ (ulong)epoch;
    }

    /// <summary>
    /// Batches for evaluation: every example exactly once, in order of length (ties by index), cut into batches of
    /// <paramref name="batchSize"/> (the last may be shorter). Sorting the whole set gives the least padding there is;
    /// results must be put back by example index, since batch order is not file order.
    /// </summary>
    public static int[][] Sequential(int[] lengths, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size must be at least 1 (got {batchSize})");
        int[] order = Enumerable.Range(0, lengths.Length).ToArray();
        long[] keys = new long[lengths.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            if (lengths[i] < 0) throw new ArgumentException($"a length is negative ({lengths[i]})");
            keys[i] = ((long)lengths[i] << 32) | (uint)i;
        }
        Array.Sort(keys, order);
        return order.Chunk(batchSize).ToArray();
    }
}
