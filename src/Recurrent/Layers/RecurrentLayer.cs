using Recurrent.Tensors;

namespace Recurrent.Layers;

public enum CellKind { RnnTanh, RnnRelu, Lstm, Gru }

/// <summary>What a recurrent layer's Forward returns; the tensors belong to the layer and change at its next call.</summary>
/// <param name="Output">[T, B, D·H], or [B, T, D·H] when batch_first; zero past each sequence's length.</param>
/// <param name="HN">[L·D, B, H]: the state after each sequence's last real step (row k·D + direction).</param>
/// <param name="CN">[L·D, B, H] for LSTM, else null.</param>
public readonly record struct RecurrentOutput(Tensor Output, Tensor HN, Tensor? CN);

/// <summary>What Backward returns: gradients of the loss with respect to the inputs of Forward.</summary>
public readonly record struct RecurrentGradients(Tensor DInput, Tensor DH0, Tensor? DC0);

/// <summary>
/// torch.nn.RNN / LSTM / GRU. API SKETCH: the implementation is in progress.
/// </summary>
public sealed class RecurrentLayer : IModule
{
    public CellKind Cell { get; }
    public int InputSize { get; }
    public int HiddenSize { get; }
    public int NumLayers { get; }
    public bool Bidirectional { get; }
    public int NumDirections => Bidirectional ? 2 : 1;
    public float Dropout { get; }
    public bool BatchFirst { get; }
    /// <summary>Dropout between layers applies only while training.</summary>
    public bool Training { get; set; } = true;

    public RecurrentLayer(CellKind cell, int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false,
        float dropout = 0f, bool batchFirst = false, Rng? rng = null)
    {
        Cell = cell; InputSize = inputSize; HiddenSize = hiddenSize; NumLayers = numLayers;
        Bidirectional = bidirectional; Dropout = dropout; BatchFirst = batchFirst;
        throw new NotImplementedException();
    }

    public IEnumerable<Parameter> Parameters() => throw new NotImplementedException();

    public RecurrentOutput Forward(Tensor input, Tensor? h0 = null, Tensor? c0 = null, int[]? lengths = null)
        => throw new NotImplementedException();

    public RecurrentGradients Backward(Tensor? dOutput, Tensor? dhN = null, Tensor? dcN = null)
        => throw new NotImplementedException();
}
