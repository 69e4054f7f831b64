namespace Recurrent.Data;

/// <summary>
/// Lays out a batch of token-id sequences of different lengths as the recurrent layers read it: time-major [T, B],
/// tokens[t·B + b] = token t of sequence b for t &lt; lengths[b] and the pad id after it; T = the longest sequence of
/// the batch, B = the number of sequences. lengths[b] tells the model (masking, the last real step) where each ends.
/// The caller owns and reuses the buffers: <see cref="MaxLength"/> tells how large tokens must be (T·B); only the first
/// T·B tokens and B lengths are written.
/// </summary>
public static class PaddedBatch
{
    /// <summary>T: the length of the longest of the chosen sequences.</summary>
    public static int MaxLength(IReadOnlyList<int[]> sequences, ReadOnlySpan<int> indices)
    {
        int t = 0;
        foreach (int i in indices) t = Math.Max(t, sequences[i].Length);
        return t;
    }

    /// <summary>
    /// Writes sequences[indices[b]] as column b of tokens [T, B] and its length to lengths[b]; returns T. Throws
    /// ArgumentException when tokens has fewer than T·B entries or lengths fewer than B.
    /// </summary>
    public static int Fill(IReadOnlyList<int[]> sequences, ReadOnlySpan<int> indices, int[] tokens, int[] lengths, int pad = 0)
    {
        int batch = indices.Length;
        if (batch == 0) throw new ArgumentException("a batch needs at least one sequence");
        int time = MaxLength(sequences, indices);
        if ((long)time * batch > tokens.Length)
            throw new ArgumentException(
                $"tokens holds {tokens.Length} ids but B = {batch} sequences of up to T = {time} need {(long)time * batch}: " +
                "grow it to MaxLength·B");
        if (lengths.Length < batch) throw new ArgumentException($"lengths holds {lengths.Length} entries but B = {batch}");
        for (int b = 0; b < batch; b++)
        {
            int[] sequence = sequences[indices[b]];
            lengths[b] = sequence.Length;
            for (int t = 0; t < sequence.Length; t++) tokens[t * batch + b] = sequence[t];
            for (int t = sequence.Length; t < time; t++) tokens[t * batch + b] = pad;
        }
        return time;
    }

    /// <summary>The chosen sequences as a new time-major padded batch [T, B] with their lengths; 0 at padding, which is
    /// &lt;pad&gt; for words and ignored by the losses for tags and targets.</summary>
    public static (int[] Tokens, int[] Lengths, int Steps) Pad(IReadOnlyList<int[]> sequences, int[] indices)
    {
        int steps = MaxLength(sequences, indices);
        var tokens = new int[steps * indices.Length];
        var lengths = new int[indices.Length];
        Fill(sequences, indices, tokens, lengths);
        return (tokens, lengths, steps);
    }

    /// <summary>
    /// A decoder's teacher-forced batch of the chosen texts, time-major [T, B] with T = the longest text + 1: the
    /// inputs &lt;s&gt; y_0 … y_{n−1} and the targets y_0 … y_{n−1} &lt;/s&gt;, &lt;pad&gt; after both; each length is n + 1.
    /// </summary>
    public static (int[] Inputs, int[] Targets, int[] Lengths, int Steps) Shifted(IReadOnlyList<int[]> texts, ReadOnlySpan<int> indices)
    {
        int B = indices.Length, T = MaxLength(texts, indices) + 1;
        var inputs = new int[T * B];
        var targets = new int[T * B];
        var lengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            int[] y = texts[indices[b]];
            inputs[b] = WordVocabulary.StartId;
            for (int t = 0; t < y.Length; t++)
            {
                inputs[(t + 1) * B + b] = y[t];
                targets[t * B + b] = y[t];
            }
            targets[y.Length * B + b] = WordVocabulary.EndId;
            lengths[b] = y.Length + 1;
        }
        return (inputs, targets, lengths, T);
    }
}
