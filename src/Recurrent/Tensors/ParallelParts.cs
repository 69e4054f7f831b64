namespace Recurrent.Tensors;

/// <summary>
/// The passes between the GEMMs (the loss, the bias gradients, the gradient norm) cut into parts for the worker pool.
/// At 2 threads the GEMMs run at nearly twice the speed of one, so every pass left on one thread costs its whole time
/// out of a step that is otherwise halved: the translation step spent a tenth of its 2-thread time in such passes.
/// Each caller cuts its work so that every element gets the same arithmetic in the same order however many parts
/// there are: results stay bit-identical across thread counts.
/// </summary>
internal static class ParallelParts
{
    /// <summary>Below this many floats a pass is a few microseconds, about what waking the workers costs.</summary>
    public const int MinFloats = 1 << 16;

    /// <summary>How many parts a pass over <paramref name="floats"/> floats takes: one below <see cref="MinFloats"/>,
    /// else one per GEMM thread, at most <paramref name="most"/>.</summary>
    public static int For(long floats, int most) => floats < MinFloats ? 1 : Math.Max(1, Math.Min(Gemm.Threads, most));

    /// <summary>Runs parts [0, parts) on the worker pool, or on this thread when there is one part or the pool is busy.</summary>
    public static void Run(IParallelWork work, int parts)
    {
        if (parts > 1 && WorkerPool.TryRun(work, parts)) return;
        for (int p = 0; p < parts; p++) work.RunPart(p);
    }

    /// <summary>[start, end) of part <paramref name="part"/> of <paramref name="length"/> items cut into <paramref name="parts"/>
    /// contiguous ranges, each starting on a multiple of <paramref name="unit"/>.</summary>
    public static (int Start, int End) Range(int length, int parts, int part, int unit = 1)
    {
        long units = (length + unit - 1) / unit;
        int start = (int)Math.Min(length, units * part / parts * unit);
        int end = part + 1 == parts ? length : (int)Math.Min(length, units * (part + 1) / parts * unit);
        return (start, end);
    }
}
