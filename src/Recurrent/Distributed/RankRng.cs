using Recurrent.Tensors;

namespace Recurrent.Distributed;

/// <summary>
/// The random stream each rank draws its dropout masks from in data-parallel training. Rank 0 keeps the model's own
/// stream, so one rank is exactly the single-process run; every other rank starts from a stream derived from it and
/// its rank, so no two ranks share masks. A checkpoint saves every rank's stream, and a run resumed on as many ranks
/// continues each one where it stopped; a rank the saving run did not have derives its stream anew.
/// </summary>
public static class RankRng
{
    /// <summary>Rank <paramref name="rank"/>'s stream: the one a checkpoint saved for it (<paramref name="saved"/>, the
    /// streams of ranks 1, 2, …), else one derived from rank 0's <paramref name="state"/>.</summary>
    public static uint[] For(uint[] state, uint[][] saved, int rank) =>
        rank > 0 && rank <= saved.Length ? saved[rank - 1] : For(state, rank);

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
