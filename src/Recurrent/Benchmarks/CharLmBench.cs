using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Profiling;
using Recurrent.Tensors;

namespace Recurrent.Benchmarks;

/// <summary>
/// The character language model bench/torch_bench.py times, built from the library's layers.
/// B = batch, T = time, V = 65 characters, E = 64, H = hidden, L = layers.
///
///   tokens [B, T] → Embedding(V, E) → RecurrentLayer(cell, E, H, L, batch_first) [B, T, H] → Linear(H, V) [B, T, V]
///   (the layer reads the embedding through its vocabulary, as every caller that hands it tokens: see EmbeddingLookup)
///   loss = mean over all B·T positions of cross-entropy(logits, next token)
///
/// <see cref="TrainStep"/> is torch_bench's step: zero the gradients, forward, loss, backward, clip the global norm to 5,
/// Adam(lr 2e-3). <see cref="Infer"/> is its forward-only pass, <see cref="Sample"/> its batch-1 generation (one token
/// at a time, each sampled token fed back, the state carried). The data are uniform random tokens, as torch_bench's.
/// Seeds as torch_bench: the model from seed 0 (embedding, recurrent layer, head in that order), data from seed 1.
/// </summary>
public sealed class CharLmBench : IModule
{
    /// <summary>torch_bench's vocabulary V and embedding width E.</summary>
    public const int Vocab = 65, EmbeddingSize = 64;
    /// <summary>torch_bench's Adam learning rate and global gradient norm clip.</summary>
    public const float LearningRate = 2e-3f, MaxNorm = 5f;

    /// <summary>The recurrent cell benchmarked.</summary>
    public CellKind Cell { get; }
    /// <summary>H: hidden size of every layer.</summary>
    public int Hidden { get; }
    /// <summary>L: stacked recurrent layers.</summary>
    public int Layers { get; }
    /// <summary>B: sequences per training batch.</summary>
    public int Batch { get; }
    /// <summary>T: steps per sequence.</summary>
    public int SeqLen { get; }

    internal Embedding Embedding { get; }
    internal RecurrentLayer Rnn { get; }
    internal Linear Head { get; }
    internal SoftmaxCrossEntropy Loss { get; } = new();
    internal Adam Optimizer { get; }
    internal int[] Inputs { get; }    // [B, T]
    internal int[] Targets { get; }   // [B, T]: the token after each input
    internal int[] InputShape { get; }

    private readonly Parameter[] _parameters;

    // Sampling: batch 1, one step at a time.
    private readonly float[] _probabilities = new float[Vocab];

    /// <summary>
    /// The model (embedding, batch-first recurrent layer, head) from <paramref name="seed"/> and a fixed batch of uniform random
    /// tokens [B, T] from <paramref name="dataSeed"/>. Throws <see cref="ArgumentException"/> for batch or seqLen ≤ 0.
    /// </summary>
    public CharLmBench(CellKind cell, int hidden, int layers = 2, int batch = 32, int seqLen = 100, ulong seed = 0, ulong dataSeed = 1)
    {
        if (batch <= 0 || seqLen <= 0) throw new ArgumentException($"CharLmBench: batch and sequence length must be positive, got {batch} and {seqLen}");
        (Cell, Hidden, Layers, Batch, SeqLen) = (cell, hidden, layers, batch, seqLen);
        var rng = new Rng(seed);
        Embedding = new Embedding(Vocab, EmbeddingSize, rng);
        Rnn = new RecurrentLayer(cell, EmbeddingSize, hidden, layers, batchFirst: true, rng: rng);
        Head = new Linear(hidden, Vocab, rng: rng);
        string rnnName = CharLanguageModelConfig.ModulePrefix(cell);
        _parameters = [.. Embedding.Prefixed("embedding."), .. Rnn.Prefixed(rnnName), .. Head.Prefixed("head.")];
        Optimizer = new Adam(_parameters, LearningRate);

        // torch_bench: data = randint(V, [B, T + 1]); x = data[:, :-1], y = data[:, 1:].
        var data = new Rng(dataSeed);
        Inputs = new int[batch * seqLen];
        Targets = new int[batch * seqLen];
        InputShape = [batch, seqLen];
        for (int b = 0; b < batch; b++)
        {
            int previous = data.NextInt(Vocab);
            for (int t = 0; t < seqLen; t++)
            {
                int next = data.NextInt(Vocab);
                Inputs[b * seqLen + t] = previous;
                Targets[b * seqLen + t] = next;
                previous = next;
            }
        }
    }

    /// <summary>"embedding.weight", the recurrent layer's (e.g. "lstm.weight_ih_l0", …), "head.weight", "head.bias".</summary>
    public IEnumerable<Parameter> Parameters() => _parameters;

    /// <summary>One training step on the fixed batch; returns the loss before the update.</summary>
    public float TrainStep()
    {
        Optimizer.ZeroGrad();
        Rnn.Training = true;
        StepProfiler.Mark(StepPhase.Optimizer);
        var y = Rnn.Forward(Embedding, Inputs, InputShape).Output;
        float loss = Loss.Forward(Head.Forward(y), Targets);
        var dy = Head.Backward(Loss.Backward());
        StepProfiler.Mark(StepPhase.EmbeddingHeadLoss);
        Rnn.Backward(dy);
        GradientClipping.ClipGlobalNorm(_parameters, MaxNorm);
        Optimizer.Step();
        StepProfiler.Mark(StepPhase.Optimizer);
        return loss;
    }

    /// <summary>Forward only (no dropout, nothing for backward is needed): logits [B, T, V] for the fixed batch.</summary>
    public Tensor Infer()
    {
        Rnn.Training = false;
        var logits = Head.Forward(Rnn.Forward(Embedding, Inputs, InputShape).Output);
        StepProfiler.Mark(StepPhase.EmbeddingHeadLoss);
        return logits;
    }

    /// <summary>
    /// Generates output.Length tokens from token 0 and a zero state: each step runs the model on one token (B = T = 1,
    /// through <see cref="RecurrentStepper"/>, as `recurrent sample` does), samples the next from softmax(logits) with
    /// rng, and feeds it back with the state carried.
    /// </summary>
    public void Sample(Span<int> output, Rng rng)
    {
        var stepper = new RecurrentStepper(Rnn.Directions, Embedding, Head, residual: false);
        int token = 0;
        for (int i = 0; i < output.Length; i++)
        {
            Kernels.SoftmaxRow(stepper.Step(token), _probabilities);
            output[i] = token = Draw(_probabilities, rng.NextFloat());
        }
    }

    /// <summary>The first index whose cumulative probability exceeds u ∈ [0, 1) (the last one if rounding leaves a gap).</summary>
    internal static int Draw(ReadOnlySpan<float> probabilities, float u)
    {
        float cumulative = 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            cumulative += probabilities[i];
            if (u < cumulative) return i;
        }
        return probabilities.Length - 1;
    }
}
