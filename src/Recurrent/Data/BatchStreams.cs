namespace Recurrent.Data;

/// <summary>
/// char-rnn's batching for truncated backpropagation through time: the text is cut into B contiguous streams of
/// length L, stream b reading text[b·L .. (b+1)·L) and predicting each next character; chunk k of an epoch is the
/// window [k·T, k·T + T) of every stream, so the hidden state after chunk k is the right start for chunk k+1.
/// B = batch, T = seq_len (capped at L: full BPTT when it covers the stream); inputs and targets are time-major
/// [T, B] (position t·B + b), the layout the recurrent layers read without transposing.
///
/// Training (<c>padTail</c> false): L = ⌊(N−1)/B⌋ and only whole chunks are used, as char-rnn does (at most B·T
/// characters of an epoch go unused). Evaluation (<c>padTail</c> true): L = ⌈(N−1)/B⌉ and every chunk is used, the
/// positions past the end of the text padded with input 0 and target <see cref="IgnoreIndex"/>, so every character
/// after the first is predicted exactly once.
/// </summary>
public sealed class BatchStreams
{
    /// <summary>The target written at padded positions (evaluation's tail), skipped by the loss as torch's ignore_index.</summary>
    public const int IgnoreIndex = -100;

    private readonly ReadOnlyMemory<int> _tokens;

    /// <summary>B: the number of parallel streams, the batch of every chunk.</summary>
    public int Batch { get; }
    /// <summary>T: positions per chunk, the seq_len asked for capped at <see cref="StreamLength"/>.</summary>
    public int SeqLen { get; }
    /// <summary>L: characters each stream predicts over an epoch, ⌊(N−1)/B⌋ (training) or ⌈(N−1)/B⌉ (evaluation, padded).</summary>
    public int StreamLength { get; }
    /// <summary>Chunks of T positions in an epoch: ⌊L/T⌋ for training (whole chunks only), ⌈L/T⌉ for evaluation.</summary>
    public int ChunksPerEpoch { get; }
    /// <summary>Number of predicted positions in an epoch (excluding padding).</summary>
    public long TargetsPerEpoch { get; }

    /// <summary>
    /// Streams over <paramref name="tokens"/> (N ids). Throws <see cref="ArgumentOutOfRangeException"/> for batch or seqLen
    /// below 1 and <see cref="InvalidDataException"/> when the text has fewer than batch + 1 tokens.
    /// </summary>
    public BatchStreams(ReadOnlyMemory<int> tokens, int batch, int seqLen, bool padTail = false)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"batch must be at least 1 (got {batch})");
        if (seqLen < 1) throw new ArgumentOutOfRangeException(nameof(seqLen), $"seq_len must be at least 1 (got {seqLen})");
        int n = tokens.Length;
        if (n - 1 < batch)
            throw new InvalidDataException(
                $"a text of {n} characters is too short for a batch of {batch} streams (needs at least {batch + 1})");
        _tokens = tokens;
        Batch = batch;
        StreamLength = padTail ? (n - 1 + batch - 1) / batch : (n - 1) / batch;
        SeqLen = Math.Min(seqLen, StreamLength);
        ChunksPerEpoch = padTail ? (StreamLength + SeqLen - 1) / SeqLen : StreamLength / SeqLen;
        TargetsPerEpoch = padTail ? n - 1 : (long)batch * ChunksPerEpoch * SeqLen;
    }

    /// <summary>Writes chunk <paramref name="chunk"/>: inputs and targets [T, B] (column b is stream b).</summary>
    public void Fill(int chunk, Span<int> inputs, Span<int> targets) => Fill(chunk, inputs, targets, 0, Batch);

    /// <summary>Writes streams [first, first + count) of chunk <paramref name="chunk"/>: inputs and targets [T, count]
    /// (column j is stream first + j) — one rank's share of the batch in data-parallel training.</summary>
    public void Fill(int chunk, Span<int> inputs, Span<int> targets, int first, int count)
    {
        if ((uint)chunk >= (uint)ChunksPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(chunk), $"chunk {chunk} of an epoch of {ChunksPerEpoch}");
        if (first < 0 || count < 0 || first + count > Batch)
            throw new ArgumentOutOfRangeException(nameof(count), $"streams [{first}, {first + count}) of {Batch}");
        int size = count * SeqLen;
        if (inputs.Length != size || targets.Length != size)
            throw new ArgumentException($"inputs and targets must hold T·B = {size} ids");
        ReadOnlySpan<int> text = _tokens.Span;
        int last = text.Length - 1; // the last character is only ever a target
        for (int j = 0; j < count; j++)
        {
            int b = first + j;
            int start = b * StreamLength + chunk * SeqLen;
            int end = Math.Min((b + 1) * StreamLength, last); // this stream's inputs end here
            for (int t = 0; t < SeqLen; t++)
            {
                int p = start + t, i = t * count + j;
                bool real = p < end;
                inputs[i] = real ? text[p] : 0;
                targets[i] = real ? text[p + 1] : IgnoreIndex;
            }
        }
    }
}
