using Recurrent.Data;
using Recurrent.Distributed;
using Recurrent.Metrics;
using Recurrent.Models;

namespace Recurrent.Training;

/// <summary>
/// The loss of a model over a whole text, carrying the state through it: the text is cut into B contiguous streams
/// (padded at the end, see <see cref="BatchStreams"/>), each read in chunks of T from a zero state, so every character
/// after the first is predicted exactly once, from up to a whole stream of context. B = 1 reads the text as one stream.
/// </summary>
public static class Evaluator
{
    /// <summary>In data-parallel training <paramref name="group"/> holds the ranks: each reads its share of the streams
    /// and the sums are reduced, so every rank returns the same mean.</summary>
    /// <returns>the mean loss in nats/char over the N − 1 predicted characters.</returns>
    public static double MeanLoss(CharLanguageModel model, ReadOnlyMemory<int> tokens, int batch, int seqLen, ICollective? group = null)
    {
        group ??= SingleProcess.Instance;
        if (tokens.Length < 2) throw new InvalidDataException($"a text of {tokens.Length} character(s) has nothing to predict");
        batch = Math.Min(batch, tokens.Length - 1); // never a stream of padding only
        var streams = new BatchStreams(tokens, batch, seqLen, padTail: true);
        var (first, B) = group.Share(streams.Batch);
        int T = streams.SeqLen;
        var inputs = new int[T * B];
        var targets = new int[T * B];
        var state = model.NewState(B);
        var mean = new LossMean();
        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            for (int chunk = 0; chunk < streams.ChunksPerEpoch && B > 0; chunk++)
            {
                streams.Fill(chunk, inputs, targets, first, B);
                model.Forward(inputs, T, B, state);
                model.Loss(targets);
                if (model.LossCount > 0) mean.Add(model.LossSum / model.LossCount, model.LossCount);
            }
        }
        finally { model.Training = wasTraining; }
        if (group.Size == 1) return mean.Mean;
        Span<double> sums = [mean.Sum, mean.Count];
        group.Sum(sums);
        return sums[1] == 0 ? double.NaN : sums[0] / sums[1];
    }
}
