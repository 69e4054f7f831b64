using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

public class TrainerTests
{
    private static Trainer Make(string text, CellKind cell, int hidden, int seqLen, int batch, string optimizer, double lr,
        double valFraction = 0, double clip = 5, double clipValue = 0, int embedding = 8)
    {
        var corpus = CharCorpus.FromText(text, valFraction, "text");
        var config = new CharLanguageModelConfig(cell, corpus.Vocabulary, embedding, hidden, 1, 0);
        var model = new CharLanguageModel(config, new Rng(3));
        var settings = new TrainingSettings
        {
            Data = "text", DataSha256 = "", Optimizer = optimizer, LearningRate = lr, SeqLen = seqLen, Batch = batch,
            Clip = clip, ClipValue = clipValue, ValFraction = valFraction,
        };
        return new Trainer(model, Trainer.CreateOptimizer(optimizer, model.Parameters(), (float)lr), settings, corpus,
            new TrainingProgress { SampleRngState = new Rng(1).State }, model.NewState(batch));
    }

    [Fact]
    public void LearnsAPeriodicText()
    {
        // "abcd" repeated: after the first character each next one is certain, so the loss must fall towards 0.
        var trainer = Make(string.Concat(Enumerable.Repeat("abcd", 60)), CellKind.Lstm, 12, 10, 4, "adam", 0.02);
        float first = trainer.Step().Loss;
        Assert.InRange(first, Math.Log(4) - 0.3, Math.Log(4) + 0.3);
        float last = 0;
        for (int i = 0; i < 150; i++) last = trainer.Step().Loss;
        Assert.True(last < 0.05, $"loss after 150 steps: {last}");
        Assert.Equal("abcdabcdab", GreedyFrom(trainer, "a", 10));
    }

    private static string GreedyFrom(Trainer trainer, string prime, int n)
    {
        var sampler = new CharLanguageModelSampler(trainer.Model, new TokenSampler(trainer.Model.Config.VocabSize, 0, 0), new Rng(0));
        return prime + sampler.Generate(prime, n - 1);
    }

    [Fact]
    public void MinCharRnnSettingsLearn()
    {
        // One stream, one-hot tanh RNN, Adagrad 0.1, element-wise clip: min-char-rnn's recipe on a short periodic text.
        var trainer = Make(string.Concat(Enumerable.Repeat("hello world ", 20)), CellKind.RnnTanh, 24, 25, 1, "adagrad", 0.1,
            clip: 0, clipValue: 5, embedding: 0);
        for (int i = 0; i < 300; i++) trainer.Step();
        Assert.True(trainer.Step().Loss < 0.3);
    }

    [Fact]
    public void StateIsCarriedAcrossChunksAndResetAtEachEpoch()
    {
        const string text = "the quick brown fox jumps over the lazy dog; THE QUICK BROWN FOX!";
        var trainer = Make(text, CellKind.Gru, 6, 4, 2, "sgd", 1e-9); // a learning rate too small to change the losses
        int chunks = trainer.ChunksPerEpoch;
        Assert.Equal(8, chunks); // (66 − 1) / 2 = 32 per stream, 8 chunks of 4
        var losses = Enumerable.Range(0, 2 * chunks).Select(_ => trainer.Step().Loss).ToArray();
        // Epoch 2 repeats epoch 1: the state was reset, not carried over from epoch 1's end.
        for (int k = 0; k < chunks; k++) Assert.Equal(losses[k], losses[chunks + k], 5);

        // Chunk k's loss equals the loss at positions [4k, 4k+4) of one forward pass over the whole streams.
        var model = trainer.Model;
        var whole = new BatchStreams(CharCorpus.FromText(text, 0, "t").Train, 2, 32);
        var x = new int[64];
        var y = new int[64];
        whole.Fill(0, x, y);
        var logits = model.Forward(x, 32, 2);
        int V = model.Config.VocabSize;
        for (int k = 0; k < chunks; k++)
        {
            double sum = 0;
            for (int i = 8 * k; i < 8 * k + 8; i++)
            {
                var row = logits.Data.AsSpan(i * V, V);
                double max = row.ToArray().Max(), z = row.ToArray().Sum(v => Math.Exp(v - max));
                sum += max + Math.Log(z) - row[y[i]];
            }
            Assert.Equal(sum / 8, losses[k], 4);
        }
    }

    [Fact]
    public void ClippingBoundsTheGradient()
    {
        var byValue = Make("abcabcabdabcabcabd", CellKind.RnnTanh, 5, 4, 2, "sgd", 1e-9, clip: 0, clipValue: 1e-3);
        byValue.Step();
        Assert.All(byValue.Model.Parameters(), p => Assert.All(p.Grad.Data, g => Assert.InRange(g, -1e-3f, 1e-3f)));

        var byNorm = Make("abcabcabdabcabcabd", CellKind.RnnTanh, 5, 4, 2, "sgd", 1e-9, clip: 1e-3);
        float before = byNorm.Step().GradNorm;
        double after = Math.Sqrt(byNorm.Model.Parameters().Sum(p => p.Grad.Data.Sum(g => (double)g * g)));
        Assert.True(before > 1e-3);
        Assert.Equal(1e-3, after, 6);
    }
}
