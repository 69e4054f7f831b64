using System.Text;
using Recurrent.Layers;
using Recurrent.Training;

namespace Recurrent.Distributed;

/// <summary>
/// Checks, when data-parallel training starts, that every rank is about to run the same training: the same data
/// files (by SHA-256), batch, seed and step, and the same weights. Ranks on several machines read their own copies of
/// the data and the model directory; a copy that differs would train silently wrong, so it is refused on every rank
/// with one line naming what differs.
/// </summary>
public static class SameRun
{
    /// <summary>Compares this rank's run with rank 0's (a collective: every rank calls it). Throws
    /// <see cref="InvalidDataException"/> on every rank when any rank differs.</summary>
    public static void Require(ICollective group, TrainingSettings settings, IModule model, TrainingProgress progress)
    {
        if (group.Size == 1) return;
        double weights = 0;
        foreach (var p in model.Parameters())
            foreach (float w in p.Value.Span) weights += w;
        string[] mine =
        [
            $"training data sha256 {settings.DataSha256}", $"dev data sha256 {settings.DevSha256 ?? "none"}",
            $"batch {settings.Batch}", $"seed {settings.Seed}", $"step {progress.Step}",
            $"weights summing to {weights:R}",
        ];
        var all = group.AllGather(Encoding.UTF8.GetBytes(string.Join('\n', mine)))
            .Select(bytes => Encoding.UTF8.GetString(bytes).Split('\n')).ToArray();
        for (int rank = 1; rank < all.Length; rank++)
            for (int i = 0; i < mine.Length; i++)
                if (all[rank][i] != all[0][i])
                    throw new InvalidDataException($"rank {rank} is not running what rank 0 runs: its {all[rank][i]}, rank 0's {all[0][i]} " +
                                                   "(every rank must read the same data files and model directory)");
    }
}
