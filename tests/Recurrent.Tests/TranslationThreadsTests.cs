using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// A translation model's training step shares the passes between its GEMMs among the threads: the attention's rows,
/// the softmax cross-entropy's rows, the output bias gradient's columns, zero_grad and the gradient norm's parameters.
/// None of these cuts may change a bit: the same two steps (dropout and teacher forcing on, sources and targets of
/// different lengths, the gradient clipped) and then greedy and beam decoding give identical losses, weights,
/// gradients and translations at 1, 2 and 3 threads. The shape is just large enough for every cut to happen:
/// B·S·H = 32·8·256 attention floats, 32 rows × 700 words of logits. Sets Gemm.Threads, so it runs alone.
/// </summary>
[Collection("Gemm.Threads")]
public class TranslationThreadsTests
{
    [Fact]
    public void ThreadCountChangesNoBit()
    {
        var one = Run(threads: 1);
        Assert.Equal(one, Run(threads: 2));
        Assert.Equal(one, Run(threads: 3));
    }

    private static List<float[]> Run(int threads)
    {
        const int B = 32, S = 8, T = 7;
        using var threadsScope = new GemmThreadsScope(threads);
        static string[] Words(string prefix, int count) => Enumerable.Range(0, count).Select(i => prefix + i).ToArray();
        var config = new Seq2SeqConfig
        {
            Cell = CellKind.Gru,
            SourceVocabulary = WordVocabulary.FromList([WordVocabulary.Pad, WordVocabulary.Unknown, .. Words("s", 298)], lowercase: false),
            TargetVocabulary = WordVocabulary.FromList([WordVocabulary.Pad, WordVocabulary.Unknown, WordVocabulary.Start, WordVocabulary.End,
                .. Words("t", 696)], lowercase: false),
            EmbeddingSize = 32,
            HiddenSize = 256,
            Attention = AttentionKind.Bahdanau,
            TeacherForcing = 0.5f,
        };
        var rng = new Rng(5);
        var sources = Enumerable.Range(0, B).Select(b => Enumerable.Range(0, S - b % 4).Select(_ => 2 + rng.NextInt(298)).ToArray()).ToArray();
        var targets = Enumerable.Range(0, B).Select(b => Enumerable.Range(0, T - 1 - b % 3).Select(_ => 4 + rng.NextInt(696)).ToArray()).ToArray();
        int[] examples = Enumerable.Range(0, B).ToArray();
        var (source, lengths, steps) = PaddedBatch.Pad(sources, examples);
        var (targetIn, targetOut, _, targetSteps) = PaddedBatch.Shifted(targets, examples);

        var model = new Seq2SeqModel(config, new Rng(9));
        var adam = new Adam(model.Parameters(), 1e-3f);
        var result = new List<float[]>();
        for (int step = 0; step < 2; step++)
        {
            adam.ZeroGrad();
            float loss = model.Forward(source, lengths, steps, targetIn, targetOut, targetSteps);
            model.Backward();
            float norm = GradientClipping.Apply(adam.Parameters, clipNorm: 0.5, clipValue: 0);
            result.Add([loss, norm]);
            result.AddRange(adam.Parameters.Select(p => p.Grad.Data.ToArray()));
            adam.Step();
        }
        result.AddRange(adam.Parameters.Select(p => p.Value.Data.ToArray()));
        foreach (int beam in (int[])[1, 2])
            foreach (var translation in new Seq2SeqDecoder(model).Decode(sources, beam, B))
                result.Add([.. translation.Words.Select(w => (float)w), (float)translation.Score]);
        return result;
    }
}
