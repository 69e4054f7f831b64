using Recurrent.Layers;
using Recurrent.Models;

namespace Recurrent.Training;

/// <summary>
/// The memory a char-lm training run needs, estimated from its configuration before anything is allocated, so that a
/// configuration that cannot fit (`--seq-len 1000000`) is refused with the figure instead of ending in "Out of memory".
/// With V = vocabulary, E = embedding (0 = one-hot: V), H = hidden, L = layers, G = gates (LSTM 4, GRU 3, RNN and
/// leaky 1; a learned leak adds H a layer; residual connections add none),
/// T = the effective seq_len (at most the stream length), B = batch, in float32:
///   parameters   P = V·E + Σ_l G·H·(in_l + H + 2) + H·V + V, kept 4 times: value, gradient, up to two optimizer slots
///   activations  T·B·(in_0 + L·(G + 4)·H + 3·V): each layer's input, gates, states and the values its backward keeps
///                (h, c, tanh c, dropout mask), the logits, the softmax and its gradient
/// It is an estimate (buffers of the evaluation and the GEMM packing are left out): its purpose is the order of magnitude.
/// </summary>
public static class MemoryEstimate
{
    /// <summary>Bytes a char-lm with <paramref name="config"/> needs to train on chunks of T × B characters.</summary>
    public static double CharLanguageModelBytes(CharLanguageModelConfig config, long seqLen, long batch)
    {
        double v = config.VocabSize, h = config.HiddenSize, layers = config.NumLayers;
        double activations = (double)seqLen * batch * (config.InputSize + layers * (RecurrentDirection.Gates(config.Cell) + 4) * h + 3 * v);
        return 4 * (4 * CharLanguageModelParameters(config) + activations);
    }

    /// <summary>P, the parameters of a char-lm with <paramref name="config"/>, counted without building it (in double:
    /// the sizes of a corrupt config.json may overflow a long).</summary>
    public static double CharLanguageModelParameters(CharLanguageModelConfig config)
    {
        double v = config.VocabSize, h = config.HiddenSize, layers = config.NumLayers, g = RecurrentDirection.Gates(config.Cell);
        return (config.EmbeddingSize == 0 ? 0 : v * config.EmbeddingSize)
               + g * h * (config.InputSize + h + 2) + (layers - 1) * g * h * (h + h + 2) + h * v + v
               + (config.Cell == CellKind.Leaky && config.Leak.Learned ? layers * h : 0); // the leaky cell's learned α
    }

    /// <summary>The memory this process may use: the machine's, or the container's limit (cgroups), as the GC sees it.</summary>
    public static long AvailableBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>A byte count in GiB with one decimal, e.g. "1.5 GiB".</summary>
    public static string GiB(double bytes) => $"{bytes / (1L << 30):0.0} GiB";
}
