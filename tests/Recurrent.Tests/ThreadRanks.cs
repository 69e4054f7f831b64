using Recurrent.Distributed;

namespace Recurrent.Tests;

/// <summary>
/// N ranks of data-parallel training as N threads of this process, for tests without mpirun: the same collective
/// calls as <see cref="MpiCollective"/>, summed in rank order (so the results are deterministic) behind a barrier.
/// </summary>
internal sealed class ThreadRanks
{
    private readonly Barrier _barrier;
    private readonly object[] _posted;
    public int Size { get; }

    private ThreadRanks(int size)
    {
        Size = size;
        _barrier = new Barrier(size);
        _posted = new object[size];
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="size"/> threads, one per rank; returns each rank's result.</summary>
    public static T[] Run<T>(int size, Func<ICollective, T> body)
    {
        var ranks = new ThreadRanks(size);
        var results = new T[size];
        var errors = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(r => new Thread(() =>
        {
            try { results[r] = body(new RankOf(ranks, r)); }
            catch (Exception e) { errors[r] = e; ranks._barrier.Dispose(); }
        }, 16 << 20)).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        if (errors.FirstOrDefault(e => e != null) is { } error) throw new AggregateException(error);
        return results;
    }

    private sealed class RankOf(ThreadRanks ranks, int rank) : ICollective
    {
        public int Rank => rank;
        public int Size => ranks.Size;
        public void Sum(Span<float> data) => SumOf(data, (a, b) => a + b);
        public void Sum(Span<double> data) => SumOf(data, (a, b) => a + b);
        public void Sum(Span<long> data) => SumOf(data, (a, b) => a + b);

        public void Broadcast(Span<byte> data, int root)
        {
            ranks._posted[rank] = data.ToArray();
            ranks._barrier.SignalAndWait();
            ((byte[])ranks._posted[root]).CopyTo(data);
            ranks._barrier.SignalAndWait();
        }

        // Every rank posts a copy, then each sums them all in rank order into its own span.
        private void SumOf<T>(Span<T> data, Func<T, T, T> add)
        {
            ranks._posted[rank] = data.ToArray();
            ranks._barrier.SignalAndWait();
            var first = (T[])ranks._posted[0];
            for (int i = 0; i < data.Length; i++)
            {
                T sum = first[i];
                for (int r = 1; r < ranks.Size; r++) sum = add(sum, ((T[])ranks._posted[r])[i]);
                data[i] = sum;
            }
            ranks._barrier.SignalAndWait();
        }
    }
}
