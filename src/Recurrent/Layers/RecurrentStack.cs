using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// num_layers recurrent layers chained, each reading dropout(the layer below), as torch.nn.LSTM(num_layers, dropout)
/// computes them — but with every dropout mask drawn from one Rng the model owns, so a checkpoint that saves that Rng's
/// state makes a resumed run draw the masks the uninterrupted run would have (RecurrentLayer's own inter-layer dropout
/// draws from its construction Rng, which a checkpoint does not hold).
/// T = time, B = batch, I = input size, H = hidden size, D = 2 if bidirectional else 1; time-major.
///   h⁰ = RNN₀(x), hᵏ = RNNₖ(dropout(hᵏ⁻¹)):  x [T, B, I] → h [T, B, D·H], zero past each sequence's length
///   residual: hᵏ = RNNₖ(dropout(hᵏ⁻¹)) + hᵏ⁻¹ for k ≥ 1 (the layer below before dropout; see <see cref="RecurrentLayer"/>
///   for why), so backward ∂hᵏ⁻¹ = dropout'(∂xₖ) + ∂hᵏ
/// Parameters are named as one multi-layer PyTorch module's ("weight_ih_l1_reverse", ...), under the given prefix,
/// with or without residual.
/// Keeps for backward: what each layer and dropout keeps; with residual, each sum hᵏ (k ≥ 1) and its gradient are
/// buffers of the stack (resized in place, grown to the largest shape seen).
/// </summary>
public sealed class RecurrentStack : IModule
{
    private readonly RecurrentLayer[] _layers;
    private readonly Dropout[] _dropouts;   // [L − 1]: before layer k + 1
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _sums, _sumGrads;   // [L] with residual (index k ≥ 1 used): hᵏ and ∂hᵏ⁻¹, [T, B, D·H]

    /// <summary>The width of the top layer's output: D·H.</summary>
    public int OutputSize { get; }
    /// <summary>Layers k ≥ 1 add the layer below's output (before dropout) to their own.</summary>
    public bool Residual { get; }

    /// <param name="rng">initializes the weights (layer by layer, PyTorch's U(±1/√H)) and is kept to draw the masks.</param>
    /// <param name="cell">the cell of every layer.</param>
    /// <param name="inputSize">I: the first layer's input width.</param>
    /// <param name="hiddenSize">H per direction.</param>
    /// <param name="numLayers">L.</param>
    /// <param name="bidirectional">each layer also runs backwards in time (output width 2H).</param>
    /// <param name="dropout">dropout on the input of layers k ≥ 1 while training.</param>
    /// <param name="prefix">the parameter names' prefix, e.g. "lstm.".</param>
    /// <param name="residual">layers k ≥ 1 add the layer below's output to their own.</param>
    public RecurrentStack(CellKind cell, int inputSize, int hiddenSize, int numLayers, bool bidirectional, float dropout,
        string prefix, Rng rng, bool residual = false)
    {
        Residual = residual;
        int D = bidirectional ? 2 : 1;
        OutputSize = D * hiddenSize;
        _layers = new RecurrentLayer[numLayers];
        for (int k = 0; k < numLayers; k++)
            _layers[k] = new RecurrentLayer(cell, k == 0 ? inputSize : OutputSize, hiddenSize, numLayers: 1, bidirectional, rng: rng);
        _dropouts = Enumerable.Range(0, numLayers - 1).Select(_ => new Dropout(dropout, rng)).ToArray();
        _sums = Enumerable.Range(0, residual ? numLayers : 0).Select(_ => Tensor.Growable(0)).ToArray();
        _sumGrads = Enumerable.Range(0, residual ? numLayers : 0).Select(_ => Tensor.Growable(0)).ToArray();
        // Layer k's own "weight_ih_l0(_reverse)" is the stack's "weight_ih_lk(_reverse)".
        _parameters = Enumerable.Range(0, numLayers).SelectMany(k => _layers[k].Parameters().Select(p =>
            new Parameter(prefix + p.Name.Replace("_l0", $"_l{k}"), p.Value, p.Grad))).ToArray();
    }

    /// <summary>Every layer's parameters, renamed to their place in the stack: the prefix, then "weight_ih_l{k}" and so on.</summary>
    public IEnumerable<Parameter> Parameters() => _parameters;

    /// <summary>Turns the dropout between layers on (training) or off (evaluation).</summary>
    public bool Training
    {
        set { foreach (var d in _dropouts) d.Training = value; }
    }

    /// <param name="x">[T, B, I].</param>
    /// <param name="lengths">[B] real lengths, or null when all are T.</param>
    /// <returns>[T, B, D·H] (the top layer's buffer).</returns>
    public Tensor Forward(Tensor x, int[]? lengths)
    {
        for (int k = 0; k < _layers.Length; k++)
        {
            var output = _layers[k].Forward(k == 0 ? x : _dropouts[k - 1].Forward(x), lengths: lengths);
            if (Residual && k > 0)
            {
                _sums[k].Resize(output.Output.Shape);
                Kernels.Add(output.Output.Span, x.Span, _sums[k].Span);
                x = _sums[k];
            }
            else x = output.Output;
            TopFinalHidden = output.HN;
        }
        return x;
    }

    /// <summary>[D, B, H]: the top layer's state after each sequence's last real step (forward, then reverse), as of the
    /// last Forward; an encoder–decoder's bridge reads it.</summary>
    public Tensor TopFinalHidden { get; private set; } = new(0);

    /// <summary>dOutput [T, B, D·H] (and dTopFinalHidden [D, B, H], or null) → dx [T, B, I]; accumulates every layer's
    /// parameter gradients.</summary>
    public Tensor Backward(Tensor dOutput, Tensor? dTopFinalHidden = null)
    {
        var d = dOutput; // ∂hᵏ
        for (int k = _layers.Length - 1; k >= 0; k--)
        {
            var dInput = _layers[k].Backward(d, k == _layers.Length - 1 ? dTopFinalHidden : null).DInput;
            if (k == 0) return dInput;
            var dBelow = _dropouts[k - 1].Backward(dInput);
            if (!Residual) { d = dBelow; continue; }
            _sumGrads[k].Resize(dBelow.Shape);
            Kernels.Add(dBelow.Span, d.Span, _sumGrads[k].Span);
            d = _sumGrads[k];
        }
        return d;
    }
}
