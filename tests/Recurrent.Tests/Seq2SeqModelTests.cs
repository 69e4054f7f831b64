using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class Seq2SeqModelTests
{
    // Source words "a".."f", target words "A".."F" and "x": tiny vocabularies with every special id in use.
    private static readonly string[] SourceWords = ["a", "b", "c", "d", "e", "f"];
    private static readonly string[] TargetWords = ["A", "B", "C", "D", "E", "F", "x"];

    private static Seq2SeqConfig Config(CellKind cell, AttentionKind? attention, int hidden = 4, int embedding = 3, int layers = 1) => new()
    {
        Cell = cell,
        SourceVocabulary = WordVocabulary.Build(SourceWords, 1, lowercase: false),
        TargetVocabulary = WordVocabulary.Build(TargetWords, 1, lowercase: false, sentenceMarkers: true),
        EmbeddingSize = embedding,
        HiddenSize = hidden,
        NumLayers = layers,
        Attention = attention,
        Dropout = 0,
    };

    // Pairs as ids: sources of lengths 3, 1, 2, 4; targets of lengths 2, 3, 1, 2 (ids ≥ 4 are words).
    private static readonly int[][] Sources = [[2, 3, 4], [5], [6, 7], [3, 2, 7, 4]];
    private static readonly int[][] Targets = [[4, 5], [6, 7, 8], [9], [10, 4]];

    private static (int[] Source, int[] Lengths, int S, int[] In, int[] Out, int T) Batch(int[] examples)
    {
        int B = examples.Length, S = examples.Max(e => Sources[e].Length);
        var source = new int[S * B];
        var lengths = new int[B];
        PaddedBatch.Fill(Sources, examples, source, lengths);
        var (targetIn, targetOut, _, T) = PaddedBatch.Shifted(Targets, examples);
        return (source, lengths, S, targetIn, targetOut, T);
    }

    public static TheoryData<CellKind, AttentionKind?> Kinds() => new()
    {
        { CellKind.Gru, AttentionKind.Bahdanau }, { CellKind.Gru, AttentionKind.LuongDot }, { CellKind.Gru, AttentionKind.LuongGeneral },
        { CellKind.Gru, AttentionKind.LuongConcat }, { CellKind.Gru, null }, { CellKind.Lstm, AttentionKind.Bahdanau },
        { CellKind.RnnTanh, AttentionKind.LuongGeneral },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void WholeModelGradientsMatchFiniteDifferences(CellKind cell, AttentionKind? attention)
    {
        var model = new Seq2SeqModel(Config(cell, attention, layers: 2), new Rng(5)) { Training = false };
        var b = Batch([0, 1, 2, 3]);
        Func<double> loss = () => model.Forward(b.Source, b.Lengths, b.S, b.In, b.Out, b.T);
        loss();
        model.ZeroGrad();
        model.Backward();
        foreach (var p in model.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, (float[])p.Grad.Data.Clone(), loss);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void APairAloneEqualsInsideAPaddedBatch(CellKind cell, AttentionKind? attention)
    {
        var model = new Seq2SeqModel(Config(cell, attention), new Rng(6)) { Training = false };
        int[] all = [0, 1, 2, 3];
        var b = Batch(all);
        model.Forward(b.Source, b.Lengths, b.S, b.In, b.Out, b.T);
        double batchSum = model.LossSum;
        int N = model.LossTokens;
        model.ZeroGrad();
        model.Backward();
        var batchGrads = model.Parameters().ToDictionary(p => p.Name, p => p.Grad.Data.ToArray());

        // The loss is per target token: the batch's gradient is Σ (n_e / N) · (pair e's own gradient).
        double aloneSum = 0;
        var sum = batchGrads.ToDictionary(kv => kv.Key, kv => new double[kv.Value.Length]);
        foreach (int e in all)
        {
            var one = Batch([e]);
            model.Forward(one.Source, one.Lengths, one.S, one.In, one.Out, one.T);
            aloneSum += model.LossSum;
            model.ZeroGrad();
            model.Backward();
            foreach (var p in model.Parameters())
                for (int i = 0; i < p.Grad.Length; i++) sum[p.Name][i] += p.Grad.Data[i] * one.T / N;
        }
        Assert.Equal(batchSum, aloneSum, 4);
        foreach (var (name, g) in batchGrads)
            for (int i = 0; i < g.Length; i++) Assert.True(Math.Abs(g[i] - sum[name][i]) < 1e-5, $"{name}[{i}]: batch {g[i]}, alone {sum[name][i]}");
    }

    [Fact]
    public void ModelNamesItsParametersAsAPyTorchModuleTreeWould()
    {
        var model = new Seq2SeqModel(Config(CellKind.Gru, AttentionKind.Bahdanau), new Rng(1));
        Assert.Equal(["encoder.embedding.weight", "encoder.gru.weight_ih_l0", "encoder.gru.weight_hh_l0", "encoder.gru.bias_ih_l0",
            "encoder.gru.bias_hh_l0", "encoder.gru.weight_ih_l0_reverse", "encoder.gru.weight_hh_l0_reverse", "encoder.gru.bias_ih_l0_reverse",
            "encoder.gru.bias_hh_l0_reverse", "bridge.weight", "bridge.bias", "decoder.embedding.weight", "decoder.cell.weight_ih",
            "decoder.cell.weight_hh", "decoder.cell.bias_ih", "decoder.cell.bias_hh", "decoder.attention.query_projection.weight",
            "decoder.attention.key_projection.weight", "decoder.attention.key_projection.bias", "decoder.attention.v",
            "decoder.output.weight", "decoder.output.bias"], model.Parameters().Select(p => p.Name));
    }

    /// <summary>A model trained until it has learned the four pairs by heart.</summary>
    private static Seq2SeqModel Memorized(CellKind cell, AttentionKind? attention)
    {
        var model = new Seq2SeqModel(Config(cell, attention, hidden: 16, embedding: 8), new Rng(7));
        var adam = new Adam(model.Parameters(), 0.02f);
        var b = Batch([0, 1, 2, 3]);
        float loss = float.NaN;
        for (int step = 0; step < 300; step++)
        {
            adam.ZeroGrad();
            loss = model.Forward(b.Source, b.Lengths, b.S, b.In, b.Out, b.T);
            model.Backward();
            adam.Step();
        }
        Assert.True(loss < 0.01, $"training loss {loss} after 300 steps");
        model.Training = false;
        return model;
    }

    [Theory]
    [InlineData(CellKind.Gru, AttentionKind.Bahdanau)]
    [InlineData(CellKind.Lstm, AttentionKind.LuongGeneral)]
    [InlineData(CellKind.Gru, null)]
    public void GreedyAndBeamSearchReproduceMemorizedPairsAndScoreThemAsTheLossDoes(CellKind cell, AttentionKind? attention)
    {
        var model = Memorized(cell, attention);
        var decoder = new Seq2SeqDecoder(model);
        foreach (int beam in new[] { 1, 3 })
        {
            var outputs = decoder.Decode(Sources, beam, batch: 3, keepAttention: true);
            for (int e = 0; e < Sources.Length; e++)
            {
                Assert.Equal(Targets[e], outputs[e].Words);
                Assert.True(outputs[e].Ended);
                // The score is the mean log-probability per output token: what the teacher-forced loss gives the output.
                var one = Batch([e]);
                model.Forward(one.Source, one.Lengths, one.S, one.In, one.Out, one.T);
                Assert.Equal(-model.LossSum / one.T, outputs[e].Score, 4);
                var weights = outputs[e].Attention!;
                Assert.Equal((Targets[e].Length + 1) * Sources[e].Length, weights.Length);
                for (int t = 0; t <= Targets[e].Length; t++)
                    Assert.Equal(attention == null ? 0 : 1, weights.AsSpan(t * Sources[e].Length, Sources[e].Length).ToArray().Sum(), 4);
            }
        }
    }

    [Fact]
    public void ASentenceDecodesTheSameAloneAndInABatch()
    {
        var model = new Seq2SeqModel(Config(CellKind.Gru, AttentionKind.Bahdanau, hidden: 8, embedding: 4), new Rng(8));
        var decoder = new Seq2SeqDecoder(model);
        var together = decoder.Decode(Sources, beam: 4, batch: 4, keepAttention: true);
        for (int e = 0; e < Sources.Length; e++)
        {
            var alone = decoder.Decode([Sources[e]], beam: 4, batch: 1, keepAttention: true)[0];
            Assert.Equal(alone.Words, together[e].Words);
            Assert.Equal(alone.Score, together[e].Score, 5);
            Assert.Equal(alone.Attention!.Length, together[e].Attention!.Length);
            for (int i = 0; i < alone.Attention.Length; i++) Assert.Equal(alone.Attention[i], together[e].Attention![i], 5);
        }
    }

    [Fact]
    public void AWiderBeamNeverScoresWorseOnAMemorizedModel()
    {
        var model = Memorized(CellKind.Gru, AttentionKind.LuongDot);
        var decoder = new Seq2SeqDecoder(model);
        var greedy = decoder.Decode(Sources, 1, 4);
        var beam = decoder.Decode(Sources, 5, 4);
        for (int e = 0; e < Sources.Length; e++) Assert.True(beam[e].Score >= greedy[e].Score - 1e-6);
    }

    [Fact]
    public void TeacherForcingBelowOneStillTrainsAndIsDeterministic()
    {
        float Run()
        {
            var model = new Seq2SeqModel(Config(CellKind.Gru, AttentionKind.Bahdanau) with { TeacherForcing = 0.5f, Dropout = 0.1f }, new Rng(9));
            var b = Batch([0, 1, 2, 3]);
            var adam = new Adam(model.Parameters(), 0.01f);
            float loss = 0;
            for (int step = 0; step < 5; step++)
            {
                adam.ZeroGrad();
                loss = model.Forward(b.Source, b.Lengths, b.S, b.In, b.Out, b.T);
                model.Backward();
                adam.Step();
            }
            return loss;
        }
        float first = Run();
        Assert.True(float.IsFinite(first));
        Assert.Equal(first, Run());
    }
}
