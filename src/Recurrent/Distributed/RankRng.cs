using Recurrent.Tensors;

namespace Recurrent.Distributed;

/// <summary>
/// The random stream each rank draws its dropout masks from in data-parallel training. Rank 0 keeps the model's own
/// stream, the one a checkpoint saves, so one rank is exactly the single-process run; every other rank draws from a
/// stream derived from it and its rank, so no two ranks share masks. A resumed run derives them again from the saved
/// stream: with dropout, ranks above 0 then draw other masks than the uninterrupted run would have.
/// </summary>
public static class RankRng
{
    /// <summary>The state of rank <paramref name="rank"/>'s stream derived from rank 0's <paramref name="state"/>.</summary>
    public static uint[] For(uint[] state, int rank)
    {
        if (rank == 0) return state;
        ulong hash = 14695981039346656037UL; // FNV-1a over the state's words, then the rank
        foreach (uint word in state) hash = (hash ^ word) * 1099511628211UL;
        hash = (hash ^ (uint)rank) * 1099511628211UL;
        return new Rng(hash).State;
    }
}
