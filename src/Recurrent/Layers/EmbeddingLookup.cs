using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// A first recurrent layer fed by an <see cref="Embedding"/>, computed through the vocabulary instead of the tokens.
/// x_t = E[token_t], so the input projection x_t W_ihᵀ + b is row token_t of P = E W_ihᵀ + b [V, G·H]: V rows of GEMM
/// and a row copy per token instead of T·B rows of GEMM. Backward sums dA's rows by token, S[v] = Σ_{t: token_t = v} dA_t
/// [V, G·H], so that dW_ih = Σ_t dA_tᵀ x_t = Sᵀ E and the embedding's gradient Σ_{t: token_t = v} dA_t W_ih = S W_ih:
/// two V-row products where there were two T·B-row ones, and no [T, B, I] input or input gradient at all.
/// Each gate pre-activation is the same dot product as in the dense GEMM; the gradients are the same sums in another
/// order. Worth it when V is well below T·B (65 characters against 3,200
/// tokens in a char-rnn batch), so <see cref="Applies"/> asks for that.
/// </summary>
internal sealed class EmbeddingLookup : IParallelWork
{
    private Embedding? _embedding;
    private int[] _tokens = [];             // [T·B] time-major (grown: the first _count entries)
    private int _count;
    private float[] _table = [], _sums = []; // P, then S: [V, G·H]

    // The job RunPart works on: copying P's rows out to _rows, or summing _rows into S.
    private bool _gathering;
    private AlignedFloats _rows;             // the gates, or their gradient: [T·B, G·H]
    private int _width, _parts;

    public static bool Applies(int vocabulary, int rows) => (long)vocabulary * 4 <= rows;

    public Embedding Embedding => _embedding ?? throw new InvalidOperationException("EmbeddingLookup used before Set");

    /// <summary>Reads the tokens (checked by the caller), reordered to time-major when they come batch-first.</summary>
    public void Set(Embedding embedding, ReadOnlySpan<int> tokens, int steps, int batch, bool batchFirst)
    {
        _embedding = embedding;
        _count = steps * batch;
        if (_tokens.Length < _count) _tokens = new int[_count];
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++)
                _tokens[t * batch + b] = tokens[batchFirst ? b * steps + t : t * batch + b];
    }

    /// <summary>gates[r] = E[token_r] W_ihᵀ + bias for every row r of [T·B, G·H].</summary>
    public void Project(float[] weightIh, float[] bias, int gateWidth, AlignedFloats gates)
    {
        var e = Embedding;
        int vocabulary = e.NumEmbeddings, inputSize = e.EmbeddingDim;
        Resize(ref _table, vocabulary * gateWidth);
        Gemm.MultiplyAddBias(e.Weight.Value.Data, inputSize, false, weightIh, inputSize, true, bias, _table, gateWidth,
            vocabulary, gateWidth, inputSize);
        RunByColumns(gathering: true, gates, gateWidth);
    }

    /// <summary>dW_ih += Sᵀ E and the embedding's gradient += S W_ih, with S the rows of dGates [T·B, G·H] summed by token.</summary>
    public void Backward(AlignedFloats dGates, int gateWidth, float[] weightIh, float[] weightIhGrad)
    {
        var e = Embedding;
        int vocabulary = e.NumEmbeddings, inputSize = e.EmbeddingDim;
        Resize(ref _sums, vocabulary * gateWidth);
        Array.Clear(_sums);
        RunByColumns(gathering: false, dGates, gateWidth);
        Gemm.Multiply(_sums, gateWidth, true, e.Weight.Value.Data, inputSize, false, weightIhGrad, inputSize,
            gateWidth, inputSize, vocabulary, accumulate: true);
        Gemm.Multiply(_sums, gateWidth, false, weightIh, inputSize, false, e.Weight.Grad.Data, inputSize,
            vocabulary, inputSize, gateWidth, accumulate: true);
    }

    /// <summary>
    /// Copies each token's row of P into rows (gathering), or adds each row into its token's row of S, cut by columns
    /// among the threads: every element is the same copy, or the same sum in the same order, however it is cut.
    /// </summary>
    private void RunByColumns(bool gathering, AlignedFloats rows, int width)
    {
        (_gathering, _rows, _width) = (gathering, rows, width);
        _parts = Math.Min(Gemm.Threads, Math.Max(1, width / 256));
        if (_parts == 1 || !WorkerPool.TryRun(this, _parts))
            for (int p = 0; p < _parts; p++) RunPart(p);
    }

    public void RunPart(int part)
    {
        int blocks = _width / 16;
        int from = blocks * part / _parts * 16, to = part + 1 == _parts ? _width : blocks * (part + 1) / _parts * 16;
        int count = to - from;
        for (int r = 0; r < _count; r++)
        {
            Span<float> row = _rows.Slice(r * _width + from, count);
            if (_gathering) _table.AsSpan(_tokens[r] * _width + from, count).CopyTo(row);
            else
            {
                var sum = _sums.AsSpan(_tokens[r] * _width + from, count);
                Kernels.Add(sum, row, sum);
            }
        }
    }

    private static void Resize(ref float[] buffer, int length)
    {
        if (buffer.Length != length) buffer = new float[length];
    }
}
