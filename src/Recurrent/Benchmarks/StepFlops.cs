using Recurrent.Layers;

namespace Recurrent.Benchmarks;

/// <summary>
/// Floating-point operations of the char-LM's matrix products, counted as 2·m·n·k per GEMM (the elementwise work is
/// left out, as usual). G = gates (LSTM 4, GRU 3, RNN 1), I_k = layer k's input width (E, then H), N = B·T rows, V = vocabulary.
///   per layer, forward:  input projection 2·N·GH·I_k, recurrent T·2·B·GH·H
///   per layer, backward: recurrent T·2·B·H·GH, dW_ih 2·GH·I_k·N, dW_hh 2·GH·H·N, dX 2·N·I_k·GH
///   head: forward 2·N·V·H, backward dW 2·V·H·N and dX 2·N·H·V
/// For LSTM 2×512, B = 32, T = 100 a training step is 63.6 GFLOP, the figure ../shared/bench/README.md quotes.
/// </summary>
public static class StepFlops
{
    public readonly record struct Parts(double InputProjection, double RecurrentForward, double RecurrentBackward,
        double WeightGradients, double InputGradients, double Head)
    {
        public double Forward => InputProjection + RecurrentForward + Head / 3;
        public double Training => InputProjection + RecurrentForward + RecurrentBackward + WeightGradients + InputGradients + Head;
    }

    public static Parts Of(CellKind cell, int input, int hidden, int layers, int batch, int seqLen, int vocab)
    {
        double GH = RecurrentDirection.Gates(cell) * (double)hidden, H = hidden, N = (double)batch * seqLen, B = batch, T = seqLen;
        double inputProjection = 0, recurrent = 0, weights = 0, inputGrads = 0;
        for (int k = 0; k < layers; k++)
        {
            double I = k == 0 ? input : hidden;
            inputProjection += 2 * N * GH * I;
            recurrent += T * 2 * B * GH * H;
            weights += 2 * GH * I * N + 2 * GH * H * N;
            inputGrads += 2 * N * I * GH;
        }
        return new Parts(inputProjection, recurrent, recurrent, weights, inputGrads, 3 * 2 * N * vocab * H);
    }

    /// <summary>A training step of the <see cref="CharLmBench"/> model.</summary>
    public static double TrainingStep(CharLmBench m) =>
        Of(m.Cell, CharLmBench.EmbeddingSize, m.Hidden, m.Layers, m.Batch, m.SeqLen, CharLmBench.Vocab).Training;

    /// <summary>Its forward pass over the [B, T] batch.</summary>
    public static double Forward(CharLmBench m) =>
        Of(m.Cell, CharLmBench.EmbeddingSize, m.Hidden, m.Layers, m.Batch, m.SeqLen, CharLmBench.Vocab).Forward;

    /// <summary>One sampled token (B = T = 1).</summary>
    public static double SampledToken(CharLmBench m) =>
        Of(m.Cell, CharLmBench.EmbeddingSize, m.Hidden, m.Layers, 1, 1, CharLmBench.Vocab).Forward;
}
