using Recurrent.Data;
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
    /// <returns>the mean loss in nats/char over the N − 1 predicted characters.</returns>
    public static double MeanLoss(CharLanguageModel model, ReadOnlyMemory<int> tokens, int batch, int seqLen)
    {
        if (tokens.Length < 2) throw new InvalidDataException($"a text of {tokens.Length} character(s) has nothing to predict");
        batch = Math.Min(batch, tokens.Length - 1); // never a stream of padding only
        var streams = new BatchStreams(tokens, batch, seqLen, padTail: true);
        int B = streams.Batch, T = streams.SeqLen;
        var inputs = new int[T * B];
        var targets = new int[T * B];
        var state = model.NewState(B);
        var mean = new LossMean();
        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            for (int chunk = 0; chunk < streams.ChunksPerEpoch; chunk++)
            {
                streams.Fill(chunk, inputs, targets);
                model.Forward(inputs, T, B, state);
                model.Loss(targets);
                if (model.LossCount > 0) mean.Add(model.LossSum / model.LossCount, model.LossCount);
            }
        }
        finally { model.Training = wasTraining; }
        return mean.Mean;
    }
}
