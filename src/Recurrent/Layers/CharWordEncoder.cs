using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// Character-level word features (Lample et al. 2016): each word's characters go through a character embedding and a
/// one-layer bidirectional LSTM, and the word's features are the two directions' final states.
/// N = words, C = numChars, E_c = charEmbedding, H_c = charHidden, n_w = length of word w, L = max_w n_w.
///
///   e_{w,t} = E[c_{w,t}]                                  E [C, E_c] ("char_embedding.weight")
///   h→_{w,t} = LSTM→(e_{w,t}, h→_{w,t−1}), t = 0 … n_w − 1;  h←_{w,t} = LSTM←(e_{w,t}, h←_{w,t+1}), t = n_w − 1 … 0
///   y_w = [h→_{w,n_w−1}; h←_{w,0}]                        y [N, 2·H_c]
///
/// The words are padded with id 0 to L characters, time-major [L, N], and run as one batch with lengths n_w, so padding
/// never reaches a word's states (PyTorch's pack_padded_sequence). y is the LSTM's h_n [2, N, H_c] laid out per word.
/// The LSTM reads the embedding through
/// <see cref="RecurrentLayer.Forward(Embedding, ReadOnlySpan{int}, int[], Tensor, Tensor, int[])"/>, which also hands
/// the embedding its gradient in Backward.
/// Parameters are PyTorch's names for an nn.Embedding + nn.LSTM(bidirectional=True) pair of submodules named
/// char_embedding and char_lstm. Owns y and its buffers, resized in place to each call's N and L (the tokens' array grows
/// to the largest L·N seen; the lengths' is made anew when N changes, since the LSTM takes exactly N).
/// </summary>
public sealed class CharWordEncoder : IModule
{
    /// <summary>The character vocabulary size: rows of the character embedding.</summary>
    public int NumChars { get; }
    /// <summary>The width of a character embedding: the LSTM's input size.</summary>
    public int CharEmbedding { get; }
    /// <summary>H_c: the hidden size of each direction of the character LSTM.</summary>
    public int CharHidden { get; }
    /// <summary>The width of a word's features: 2·H_c (forward direction's final state, then the reverse's).</summary>
    public int OutputSize => 2 * CharHidden;

    private readonly Embedding _embedding;
    private readonly RecurrentLayer _lstm;

    private int _words = -1;
    private readonly BackwardGuard _guard = new();
    private int[] _tokens = [];              // [L, N] time-major character ids, 0 past each word (grown: the first L·N)
    private int[] _lengths = [];             // [N]
    private readonly int[] _shape = new int[2];
    private readonly Tensor _y = Tensor.Growable(0), _dhN = Tensor.Growable(0);

    /// <summary>E ~ N(0, 1), then the LSTM's weights ~ U(±1/√H_c), PyTorch's defaults, from rng (an Rng from <see cref="Rng.FromGlobal"/> if null).</summary>
    public CharWordEncoder(int numChars, int charEmbedding, int charHidden, Rng? rng = null)
    {
        if (numChars <= 0 || charEmbedding <= 0 || charHidden <= 0)
            throw new ArgumentException($"CharWordEncoder: num_chars, char_embedding and char_hidden must be positive, got {numChars}, {charEmbedding} and {charHidden}");
        NumChars = numChars;
        CharEmbedding = charEmbedding;
        CharHidden = charHidden;
        rng ??= Rng.FromGlobal();
        _embedding = new Embedding(numChars, charEmbedding, rng);
        _lstm = new RecurrentLayer(CellKind.Lstm, charEmbedding, charHidden, bidirectional: true, rng: rng);
    }

    /// <summary>"CharWordEncoder(num_chars, char_embedding, char_hidden)".</summary>
    public override string ToString() => $"CharWordEncoder({NumChars}, {CharEmbedding}, {CharHidden})";

    /// <summary>"char_embedding.weight", then the character LSTM's as "char_lstm.weight_ih_l0", … (both directions).</summary>
    public IEnumerable<Parameter> Parameters() =>
        _embedding.Prefixed("char_embedding.").Concat(_lstm.Prefixed("char_lstm."));

    /// <summary>
    /// words: the character ids of N words (each non-empty, ids in [0, numChars)) → y [N, 2·H_c], forward direction's
    /// features then the reverse's (the layer's buffer, overwritten by the next call).
    /// </summary>
    public Tensor Forward(IReadOnlyList<int[]> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        int N = words.Count, L = 0;
        if (N == 0) throw new ArgumentException($"{this}.Forward: no words");
        for (int w = 0; w < N; w++)
        {
            var word = words[w] ?? throw new ArgumentException($"{this}.Forward: word {w} is null");
            if (word.Length == 0) throw new ArgumentException($"{this}.Forward: word {w} has no characters");
            for (int t = 0; t < word.Length; t++)
                if ((uint)word[t] >= (uint)NumChars)
                    throw new ArgumentException($"{this}.Forward: word {w} has character id {word[t]} at position {t}, outside [0, {NumChars})");
            L = Math.Max(L, word.Length);
        }

        // The layer checks that the tokens fill [L, N], so it gets the first L·N; and that there are N lengths exactly,
        // so that array is kept while N repeats rather than grown.
        if (_tokens.Length < L * N) _tokens = new int[L * N];
        if (N != _words)
        {
            _words = N;
            _lengths = new int[N];
            _y.Resize(N, OutputSize);
            _dhN.Resize(2, N, CharHidden);
        }
        for (int w = 0; w < N; w++)
        {
            var word = words[w];
            _lengths[w] = word.Length;
            for (int t = 0; t < L; t++) _tokens[t * N + w] = t < word.Length ? word[t] : 0;
        }
        (_shape[0], _shape[1]) = (L, N);
        _guard.Forward();

        var hN = _lstm.Forward(_embedding, _tokens.AsSpan(0, L * N), _shape, lengths: _lengths).HN;
        // h_n [2, N, H_c] (row 0 forward, 1 reverse) → y [N, 2·H_c].
        int H = CharHidden;
        ReadOnlySpan<float> h = hN.Span;
        Span<float> y = _y.Span;
        for (int w = 0; w < N; w++)
        {
            h.Slice(w * H, H).CopyTo(y.Slice(w * 2 * H, H));
            h.Slice((N + w) * H, H).CopyTo(y.Slice(w * 2 * H + H, H));
        }
        return _y;
    }

    /// <summary>dy [N, 2·H_c] → accumulates the character embedding's and the LSTM's parameter gradients.</summary>
    public void Backward(Tensor dy)
    {
        ArgumentNullException.ThrowIfNull(dy);
        _guard.Backward(this);
        Tensor.RequireShape(dy, _y.Shape, $"{this}.Backward");
        int N = _words, H = CharHidden;
        ReadOnlySpan<float> g = dy.Span;
        Span<float> dhN = _dhN.Span;
        for (int w = 0; w < N; w++)
        {
            g.Slice(w * 2 * H, H).CopyTo(dhN.Slice(w * H, H));
            g.Slice(w * 2 * H + H, H).CopyTo(dhN.Slice((N + w) * H, H));
        }
        // After a Forward from tokens the layer adds the input's gradient to the embedding's itself (DInput is empty).
        _lstm.Backward(null, _dhN);
    }
}
