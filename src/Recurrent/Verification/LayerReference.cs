using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Verification;

/// <summary>
/// A single recurrent layer case (modes rnn_tanh, rnn_relu, lstm, gru). B = batch, T = time, I = input_size,
/// H = hidden_size, L = num_layers, D = 2 if bidirectional else 1.
/// Stored: the parameters; input [B, T, I] ([T, B, I] without batch_first); h0, c0 [L·D, B, H] (zero when absent);
/// R shaped like the output, Rh, Rc [L·D, B, H]; optionally lengths [B].
/// loss = (output·R).sum() + (h_n·Rh).sum() (+ (c_n·Rc).sum()), so Backward receives exactly R, Rh, Rc.
/// </summary>
internal static class LayerReference
{
    public static IReadOnlyDictionary<string, Tensor> Run(ReferenceCase c)
    {
        SafeTensorsFile file = c.File;
        CellKind cell = c.Mode switch
        {
            "rnn_tanh" => CellKind.RnnTanh,
            "rnn_relu" => CellKind.RnnRelu,
            "lstm" => CellKind.Lstm,
            _ => CellKind.Gru,
        };
        bool lstm = cell == CellKind.Lstm;
        int inputSize = c.PositiveInt("input_size"), hiddenSize = c.PositiveInt("hidden_size"), layers = c.PositiveInt("num_layers");
        bool bidirectional = c.Bool("bidirectional"), batchFirst = c.Bool("batch_first");
        // PyTorch's bias=False cases say so; a file that does not say has biases (as nn.RNN's default).
        bool bias = !c.File.Metadata.ContainsKey("bias") || c.Bool("bias");
        int directions = bidirectional ? 2 : 1;

        // The file's weights replace the initial ones: an Rng of their own leaves the process-wide one's stream alone.
        var layer = new RecurrentLayer(cell, inputSize, hiddenSize, layers, bidirectional, 0f, batchFirst, new Rng(0), bias: bias);
        StateDict.Load(file, layer, strict: false);

        int[] inputShape = c.ShapeOfRank("input", 3, batchFirst ? $"[B, T, {inputSize}]" : $"[T, B, {inputSize}]");
        int batch = batchFirst ? inputShape[0] : inputShape[1], steps = batchFirst ? inputShape[1] : inputShape[0];
        int[] outputShape = batchFirst ? [batch, steps, directions * hiddenSize] : [steps, batch, directions * hiddenSize];
        int[] stateShape = [layers * directions, batch, hiddenSize];

        Tensor input = file.Float("input", [.. inputShape[..2], inputSize]);
        Tensor? h0 = file.Contains("h0") ? file.Float("h0", stateShape) : null;
        Tensor? c0 = lstm && file.Contains("c0") ? file.Float("c0", stateShape) : null;
        Tensor r = file.Float("R", outputShape), rh = file.Float("Rh", stateShape);
        Tensor? rc = lstm ? file.Float("Rc", stateShape) : null;
        int[]? lengths = null;
        if (file.Contains("lengths"))
        {
            int[] shape = file.Shape("lengths");
            if (!shape.AsSpan().SequenceEqual([batch]))
                throw c.Bad($"tensor 'lengths' has shape {Tensor.Describe(shape)}, expected [{batch}]");
            lengths = file.Indices("lengths");
        }

        RecurrentOutput y = layer.Forward(input, h0, c0, lengths);
        double loss = ReferenceCase.Dot(y.Output, r) + ReferenceCase.Dot(y.HN, rh) + (lstm ? ReferenceCase.Dot(y.CN!, rc!) : 0);
        var actual = new Dictionary<string, Tensor>
        {
            ["expected.output"] = y.Output,
            ["expected.h_n"] = y.HN,
            ["expected.loss"] = new Tensor([(float)loss], 1),
        };
        if (lstm) actual["expected.c_n"] = y.CN!;

        layer.ZeroGrad();
        RecurrentGradients g = layer.Backward(r, rh, rc);
        actual["grad.input"] = g.DInput;
        if (h0 != null) actual["grad.h0"] = g.DH0;
        if (c0 != null) actual["grad.c0"] = g.DC0!;
        foreach (Parameter p in layer.Parameters()) actual["grad." + p.Name] = p.Grad;
        return actual;
    }
}
