using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;

namespace Recurrent.Analysis;

/// <summary>
/// What every unit of a trained char-LM holds at every character of a text, for looking for interpretable cells
/// (Karpathy, Johnson &amp; Fei-Fei 2015). N = characters, L = layers, H = hidden size, U = L·H units; unit u is
/// layer u / H, index u mod H, named "layer:index" with layers counted from 0 as in the parameter names (weight_hh_l0).
///
///   LSTM:     a_t = tanh(c_t), per layer   (c_t the cell state after reading character t)
///   GRU, RNN: a_t = h_t, per layer
///
/// tanh(c) rather than c: it is what the cell hands on (h_t = o_t ⊙ tanh(c_t)), it is what the paper colours, and it is
/// bounded in (−1, 1) like the GRU's and the tanh RNN's h, so every unit shares one colour scale; raw c is unbounded,
/// and a counting cell's c keeps growing, so its colours and its correlations would depend on how long the text is.
/// (The ReLU RNN's h is unbounded too: <see cref="Bounded"/> is false for it and the page scales each unit by its
/// largest |a|.)
///
/// The model reads the text as one stream with batch 1, its state carried from character to character as sampling
/// does, through its own <see cref="CharLanguageModel.Forward"/> one character at a time: the layers keep the per-step
/// cell states only inside themselves, while the carried <see cref="RecurrentState"/> is, after each step, exactly
/// (h_t, c_t) of every layer. Dropout is off while reading.
/// Values [U, N] unit-major: each unit's series is contiguous for the correlations and for the page.
/// </summary>
public sealed class CellActivations
{
    /// <summary>L: the model's recurrent layers.</summary>
    public int Layers { get; }
    /// <summary>H: units per layer.</summary>
    public int Hidden { get; }
    /// <summary>U = L·H: every unit, layer-major (unit j of layer l is l·H + j).</summary>
    public int Units => Layers * Hidden;
    /// <summary>N: characters read.</summary>
    public int Length { get; }
    /// <summary>"tanh(c)" for an LSTM, "h" otherwise.</summary>
    public string Quantity { get; }
    /// <summary>Whether every activation lies in [−1, 1] (all but the ReLU RNN).</summary>
    public bool Bounded { get; }
    /// <summary>[U, N]: unit u's activation after character t at u·N + t.</summary>
    public float[] Values { get; }

    /// <summary>
    /// Wraps recorded activations, <paramref name="values"/> [U, N] unit-major. Throws <see cref="ArgumentException"/> for no
    /// layer, unit or character, and <see cref="ShapeException"/> when values is not U·N long.
    /// </summary>
    public CellActivations(int layers, int hidden, int length, string quantity, bool bounded, float[] values)
    {
        if (layers < 1 || hidden < 1) throw new ArgumentException($"CellActivations: need at least one layer and one unit (got {layers} × {hidden})");
        if (length < 1) throw new ArgumentException($"CellActivations: need at least one character (got {length})");
        if (values.Length != (long)layers * hidden * length)
            throw new ShapeException($"CellActivations: [U, N] = [{layers * hidden}, {length}] needs {layers * hidden * length} values, got {values.Length}");
        (Layers, Hidden, Length, Quantity, Bounded, Values) = (layers, hidden, length, quantity, bounded, values);
    }

    /// <summary>Unit u's activations over the text [N].</summary>
    public ReadOnlySpan<float> Unit(int unit) =>
        (uint)unit < (uint)Units ? Values.AsSpan(unit * Length, Length)
            : throw new ArgumentOutOfRangeException(nameof(unit), $"unit {unit} is outside the {Units} units");

    /// <summary>"layer:index" of unit u, e.g. "1:137".</summary>
    public string Name(int unit) => $"{unit / Hidden}:{unit % Hidden}";

    /// <summary>The unit named "layer:index"; an ArgumentException naming the text when it is malformed or out of range.</summary>
    public int Parse(string name) => Parse(name, Layers, Hidden);

    /// <summary>The unit named "layer:index" in a model of <paramref name="layers"/> × <paramref name="hidden"/> units.</summary>
    public static int Parse(string name, int layers, int hidden)
    {
        int colon = name.IndexOf(':');
        if (colon < 0 || !int.TryParse(name.AsSpan(0, colon), System.Globalization.NumberStyles.None, null, out int layer)
                      || !int.TryParse(name.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out int index))
            throw new ArgumentException($"cell '{name}' is not layer:unit (e.g. 1:137)");
        if (layer >= layers || index >= hidden)
            throw new ArgumentException($"cell '{name}' is outside the model's {layers} layers × {hidden} units (layers count from 0)");
        return layer * hidden + index;
    }

    /// <summary>
    /// Reads <paramref name="tokens"/> (ids in the model's vocabulary) from a zero state and records every unit after
    /// every character. <paramref name="progress"/> is called with the characters read so far every 1000 characters.
    /// </summary>
    public static CellActivations Record(CharLanguageModel model, ReadOnlySpan<int> tokens, Action<int>? progress = null)
    {
        var config = model.Config;
        int N = tokens.Length, L = config.NumLayers, H = config.HiddenSize;
        if (N == 0) throw new ArgumentException("CellActivations.Record: the text is empty");
        bool lstm = config.Cell == CellKind.Lstm;
        var values = new float[(long)L * H * N];
        var state = model.NewState(1);
        var one = new int[1];
        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            for (int t = 0; t < N; t++)
            {
                one[0] = tokens[t];
                model.Forward(one, 1, 1, state);
                for (int k = 0; k < L; k++)
                {
                    // [1, 1, H]: the state after character t; a unit's series is strided by N in values.
                    ReadOnlySpan<float> s = lstm ? state.C![k].Span : state.H[k].Span;
                    int row = k * H;
                    for (int j = 0; j < H; j++) values[(long)(row + j) * N + t] = lstm ? MathF.Tanh(s[j]) : s[j];
                }
                if (progress != null && (t + 1) % 1000 == 0) progress(t + 1);
            }
        }
        finally { model.Training = wasTraining; }
        return new CellActivations(L, H, N, lstm ? "tanh(c)" : "h", config.Cell != CellKind.RnnRelu, values);
    }
}
