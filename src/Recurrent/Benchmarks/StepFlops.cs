using Recurrent.Layers;

namespace Recurrent.Benchmarks;

/// <summary>
/// Floating-point operations of the char-LM's matrix products, counted as 2·m·n·k per GEMM (the elementwise work is
/// left out, as usual). G = gates (LSTM 4, GRU 3, RNN 1), I_k = layer k's input width (E, then H), N = B·T rows, V = vocabulary.
///   per layer, forward:  input projection 2·N·GH·I_k, recurrent T·2·B·GH·H
///   per layer, backward: recurrent T·2·B·H·GH, dW_ih 2·GH·I_k·N, dW_hh 2·GH·H·N, dX 2·N·I_k·GH
///   head: forward 2·N·V·H, backward dW 2·V·H·N and dX 2·N·H·V
/// For LSTM 2×512, B = 32, T = 100 a training step is 63.6 GFLOP, the figure bench/README.md quotes.
/// A first layer that reads its embedding through the vocabulary (<see cref="EmbeddingLookup"/>) does V rows of each of
/// its three input-side products instead of N: 2·V·GH·I each (dW_ih = SᵀE and the embedding's gradient S·W_ih are
/// counted with the input gradients, where the layer computes them). <see cref="CharLmBench"/> counts it so: 61.1 GFLOP
/// for that LSTM step, the products it actually runs.
/// </summary>
public static class StepFlops
{
    /// <summary>The floating-point operations of one step by kind of product (a multiply-add counts 2).</summary>
    /// <param name="InputProjection">X·W_ihᵀ of every layer (V rows of it for a first layer reading through the lookup).</param>
    /// <param name="RecurrentForward">h·W_hhᵀ over the T steps of every layer.</param>
    /// <param name="RecurrentBackward">dG·W_hh over the T steps of every layer.</param>
    /// <param name="WeightGradients">dW_ih = dGᵀX and dW_hh = dGᵀH.</param>
    /// <param name="InputGradients">dX = dG·W_ih (and the embedding's gradient through the lookup).</param>
    /// <param name="Head">the output layer's forward and its two backward products, 3·2·N·V·H.</param>
    public readonly record struct Parts(double InputProjection, double RecurrentForward, double RecurrentBackward,
        double WeightGradients, double InputGradients, double Head)
    {
        /// <summary>The forward pass: input projections, recurrent products and the head's forward third.</summary>
        public double Forward => InputProjection + RecurrentForward + Head / 3;
        /// <summary>A whole training step: every part.</summary>
        public double Training => InputProjection + RecurrentForward + RecurrentBackward + WeightGradients + InputGradients + Head;
    }

    /// <param name="embedded">the first layer reads an embedding (tokens in, vocabulary V), through the lookup where it applies.</param>
    /// <summary>The FLOPs of one step of a stacked recurrent layer with a vocabulary-sized output layer.</summary>
    /// <param name="cell">the cell (its gate count G sets the width GH).</param>
    /// <param name="input">I: the first layer's input width.</param>
    /// <param name="hidden">H: every layer's hidden size.</param>
    /// <param name="layers">L: stacked layers.</param>
    /// <param name="batch">B.</param>
    /// <param name="seqLen">T.</param>
    /// <param name="vocab">V: the output layer's width (and the vocabulary the lookup reads).</param>
    public static Parts Of(CellKind cell, int input, int hidden, int layers, int batch, int seqLen, int vocab, bool embedded = false)
    {
        double GH = RecurrentDirection.Gates(cell) * (double)hidden, H = hidden, N = (double)batch * seqLen, B = batch, T = seqLen;
        double inputProjection = 0, recurrent = 0, weights = 0, inputGrads = 0;
        for (int k = 0; k < layers; k++)
        {
            double I = k == 0 ? input : hidden;
            recurrent += T * 2 * B * GH * H;
            weights += 2 * GH * H * N;
            if (k == 0 && embedded && EmbeddingLookup.Applies(vocab, batch * seqLen))
            {
                inputProjection += 2 * vocab * GH * I;
                inputGrads += 2 * 2 * vocab * GH * I;
                continue;
            }
            inputProjection += 2 * N * GH * I;
            weights += 2 * GH * I * N;
            inputGrads += 2 * N * I * GH;
        }
        return new Parts(inputProjection, recurrent, recurrent, weights, inputGrads, 3 * 2 * N * vocab * H);
    }

    /// <summary>A training step of the <see cref="CharLmBench"/> model.</summary>
    public static double TrainingStep(CharLmBench m) =>
        Of(m.Cell, CharLmBench.EmbeddingSize, m.Hidden, m.Layers, m.Batch, m.SeqLen, CharLmBench.Vocab, embedded: true).Training;

    /// <summary>Its forward pass over the [B, T] batch.</summary>
    public static double Forward(CharLmBench m) =>
        Of(m.Cell, CharLmBench.EmbeddingSize, m.Hidden, m.Layers, m.Batch, m.SeqLen, CharLmBench.Vocab, embedded: true).Forward;

    /// <summary>One sampled token (B = T = 1).</summary>
    public static double SampledToken(CharLmBench m) =>
        Of(m.Cell, CharLmBench.EmbeddingSize, m.Hidden, m.Layers, 1, 1, CharLmBench.Vocab, embedded: true).Forward;
}
