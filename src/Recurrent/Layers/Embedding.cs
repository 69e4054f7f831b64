using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// torch.nn.Embedding: y[..., :] = W[token, :].  W: [num_embeddings, embedding_dim] ("weight"), tokens: any shape S
/// given flat, y: S + [dim].
/// Keeps for backward: a copy of the tokens. Owns y, resized in place to each call's shape (its array grows to the
/// largest seen), and the copy, which grows likewise. One Backward per Forward (<see cref="BackwardGuard"/>).
/// </summary>
public sealed class Embedding : IModule
{
    /// <summary>The vocabulary size: rows of the weight (torch's num_embeddings).</summary>
    public int NumEmbeddings { get; }
    /// <summary>The width of a vector (torch's embedding_dim).</summary>
    public int EmbeddingDim { get; }
    /// <summary>"weight" [num_embeddings, embedding_dim]: row i is token i's vector.</summary>
    public Parameter Weight { get; }

    private int[] _tokens = [];
    private int _count;
    private readonly Tensor _y = Tensor.Growable(0);
    private readonly BackwardGuard _guard = new();

    /// <summary>W ~ N(0, 1), PyTorch's default (from rng; an Rng from <see cref="Rng.FromGlobal"/> if null).</summary>
    public Embedding(int numEmbeddings, int embeddingDim, Rng? rng = null)
    {
        if (numEmbeddings <= 0 || embeddingDim <= 0)
            throw new ArgumentException($"Embedding: num_embeddings and embedding_dim must be positive, got {numEmbeddings} and {embeddingDim}");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        Weight = new Parameter("weight", numEmbeddings, embeddingDim);
        Init.Normal(Weight.Value, 1f, rng ?? Rng.FromGlobal());
    }

    /// <inheritdoc/>
    public IEnumerable<Parameter> Parameters()
    {
        yield return Weight;
    }

    private string Name => $"Embedding({NumEmbeddings}, {EmbeddingDim})";

    /// <summary>"Embedding(65, 64)", as PyTorch prints the module.</summary>
    public override string ToString() => Name;

    /// <summary>tokens: flat, tokens.Length = Π shape; returns y: shape + [dim] (the layer's buffer).</summary>
    public Tensor Forward(ReadOnlySpan<int> tokens, params ReadOnlySpan<int> shape)
    {
        RequireTokens(tokens, shape, $"{Name}.Forward");

        Span<int> yShape = stackalloc int[shape.Length + 1];
        shape.CopyTo(yShape);
        yShape[^1] = EmbeddingDim;
        _y.Resize(yShape);
        if (_tokens.Length < tokens.Length) _tokens = new int[tokens.Length];
        tokens.CopyTo(_tokens);
        _count = tokens.Length;
        _guard.Forward();

        int dim = EmbeddingDim;
        var w = Weight.Value.Span;
        var y = _y.Span;
        for (int i = 0; i < tokens.Length; i++) w.Slice(tokens[i] * dim, dim).CopyTo(y.Slice(i * dim, dim));
        return _y;
    }

    /// <summary>Tokens must fill the shape and lie in [0, num_embeddings); the error names the place and position.</summary>
    internal void RequireTokens(ReadOnlySpan<int> tokens, ReadOnlySpan<int> shape, string place)
    {
        long count = 1;
        foreach (int d in shape) count *= d;
        if (count != tokens.Length)
            throw new ShapeException($"{place}: {tokens.Length} tokens do not fill shape {Tensor.Describe(shape)}");
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)NumEmbeddings)
                throw new ArgumentException($"{place}: token {tokens[i]} at position {i} is outside [0, {NumEmbeddings})");
    }

    /// <summary>dy: shape + [dim]. Accumulates dW[token] += dy[position] (a token seen twice gets both rows).</summary>
    public void Backward(Tensor dy)
    {
        _guard.Backward(this);
        Tensor.RequireShape(dy, _y.Shape, $"{Name}.Backward");
        int dim = EmbeddingDim;
        var dw = Weight.Grad.Span;
        var g = dy.Span;
        for (int i = 0; i < _count; i++)
        {
            var row = dw.Slice(_tokens[i] * dim, dim);
            Kernels.Add(row, g.Slice(i * dim, dim), row);
        }
    }
}
