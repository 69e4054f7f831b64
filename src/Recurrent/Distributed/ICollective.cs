namespace Recurrent.Distributed;

/// <summary>
/// The ranks of a data-parallel job as training sees them: who this process is, and the collective operations it
/// needs. Every rank must make the same calls in the same order (MPI's rule for collectives). One process is the
/// group of one, <see cref="SingleProcess"/>, whose operations change nothing: the training code has one path for
/// both.
/// </summary>
public interface ICollective
{
    /// <summary>This process's rank, 0 ≤ Rank &lt; Size; rank 0 prints, logs and writes checkpoints.</summary>
    int Rank { get; }
    /// <summary>The number of ranks.</summary>
    int Size { get; }
    /// <summary>Replaces <paramref name="data"/> on every rank by its sum over the ranks.</summary>
    void Sum(Span<float> data);
    /// <inheritdoc cref="Sum(Span{float})"/>
    void Sum(Span<double> data);
    /// <inheritdoc cref="Sum(Span{float})"/>
    void Sum(Span<long> data);
    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="data"/> to every rank (equal lengths everywhere).</summary>
    void Broadcast(Span<byte> data, int root);
}

/// <summary>The group of one process: nothing to exchange.</summary>
public sealed class SingleProcess : ICollective
{
    /// <summary>The one instance.</summary>
    public static readonly SingleProcess Instance = new();
    private SingleProcess() { }
    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int Size => 1;
    /// <inheritdoc/>
    public void Sum(Span<float> data) { }
    /// <inheritdoc/>
    public void Sum(Span<double> data) { }
    /// <inheritdoc/>
    public void Sum(Span<long> data) { }
    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root) { }
}

/// <summary>What the collectives give beyond the primitives.</summary>
public static class CollectiveExtensions
{
    /// <summary>Rank 0 prints, logs, samples and writes the model directory.</summary>
    public static bool IsRoot(this ICollective group) => group.Rank == 0;

    /// <summary>
    /// This rank's part of <paramref name="count"/> items split into Size contiguous parts as equal as they can be
    /// (the first count mod Size parts one larger): [Start, Start + Length).
    /// </summary>
    public static (int Start, int Length) Share(this ICollective group, int count) => Share(count, group.Rank, group.Size);

    /// <inheritdoc cref="Share(ICollective, int)"/>
    public static (int Start, int Length) Share(int count, int rank, int size)
    {
        int baseLength = count / size, extra = count % size;
        return (rank * baseLength + Math.Min(rank, extra), baseLength + (rank < extra ? 1 : 0));
    }

    /// <summary>This rank's items of a sequence dealt out round-robin (item i to rank i mod Size): the evaluation
    /// batches, each rank scoring its own.</summary>
    public static IEnumerable<T> Mine<T>(this ICollective group, IEnumerable<T> items) =>
        group.Size == 1 ? items : items.Where((_, i) => i % group.Size == group.Rank);

    /// <summary>These values summed over the ranks, in place; returns the array.</summary>
    public static double[] Sum(this ICollective group, params double[] values)
    {
        group.Sum(values.AsSpan());
        return values;
    }

    /// <summary>Every rank's byte arrays, in rank order, on every rank (one broadcast per rank: for checkpoints, not
    /// for every step).</summary>
    public static byte[][] AllGather(this ICollective group, byte[] mine)
    {
        var all = new byte[group.Size][];
        Span<byte> length = stackalloc byte[sizeof(int)];
        for (int root = 0; root < group.Size; root++)
        {
            BitConverter.TryWriteBytes(length, mine.Length);
            group.Broadcast(length, root);
            var data = root == group.Rank ? mine : new byte[BitConverter.ToInt32(length)];
            group.Broadcast(data, root);
            all[root] = data;
        }
        return all;
    }
}
