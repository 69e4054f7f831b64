using System.Text.Json;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

public class MinCharRnnTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    // Lopsided, so the summed loss's gradient of the output bias passes ±5 and the clip acts.
    private static readonly string Text = string.Concat(Enumerable.Repeat("aaab aab abaa aaaab ", 30));
    // 20 steps: long enough for the clip to act many times, short enough that float32 rounding and ε (both ~1e-5 here)
    // are not yet amplified by the chaotic dynamics of a training run (by 60 steps they are, to ~1e-2).
    private const int T = 25, Steps = 20;

    /// <summary>The parameters after <see cref="Steps"/> steps of Adagrad 0.1 on the mean loss (scale 1) or the summed
    /// loss (scale T), each gradient element clipped to ±clip.</summary>
    private static float[][] Train(float scale, float clip)
    {
        var corpus = CharCorpus.FromText(Text, 0, "t");
        var model = new CharLanguageModel(new CharLanguageModelConfig(CellKind.RnnTanh, corpus.Vocabulary, 0, 8, 1, 0), new Rng(5));
        MinCharRnn.InitNormal(model.Parameters(), 0.3, new Rng(6)); // large enough weights for a lively start
        var optimizer = new Adagrad(model.Parameters(), 0.1f, eps: 1e-8f);
        var streams = new BatchStreams(corpus.Train, 1, T);
        var (x, y) = (new int[T], new int[T]);
        var state = model.NewState(1);
        for (int step = 0; step < Steps; step++)
        {
            int chunk = step % streams.ChunksPerEpoch;
            if (chunk == 0) state.Reset(); // the gist wraps and zeroes h
            streams.Fill(chunk, x, y);
            model.Forward(x, T, 1, state);
            model.Loss(y);
            optimizer.ZeroGrad();
            model.Backward();
            foreach (var p in model.Parameters()) Kernels.Scale(p.Grad.Span, scale);
            GradientClipping.ClipValue(model.Parameters(), clip);
            optimizer.Step();
        }
        return model.Parameters().Select(p => p.Value.Span.ToArray()).ToArray();
    }

    private static double MaxDifference(float[][] a, float[][] b) =>
        a.Zip(b).Max(pair => pair.First.Zip(pair.Second).Max(v => Math.Abs(v.First - v.Second)));

    [Fact]
    public void AdagradIgnoresTheLossScaleButTheElementwiseClipMustScaleWithIt()
    {
        var summed = Train(T, 5);                                      // the gist: summed loss, clip ±5
        var mean = Train(1, (float)MinCharRnn.ClipValue(T, 1));        // the preset: mean loss, clip ±5/T
        Assert.True(MaxDifference(summed, mean) < 1e-4, $"summed vs mean: {MaxDifference(summed, mean)}");
        // Unclipped, the scale is invisible to Adagrad too.
        Assert.True(MaxDifference(Train(T, 1e9f), Train(1, 1e9f)) < 1e-4);
        // ±5 on the mean loss is ±125 on the summed one: a different run.
        Assert.True(MaxDifference(summed, Train(1, 5)) > 2e-3, $"clip ±5 on the mean: {MaxDifference(summed, Train(1, 5))}");
        Assert.Equal(0.2, MinCharRnn.ClipValue(25, 1), 12);
    }

    [Fact]
    public void InitializationIsNormalWeightsAndZeroBiases()
    {
        var corpus = CharCorpus.FromText(Text, 0, "t");
        var model = new CharLanguageModel(new CharLanguageModelConfig(CellKind.RnnTanh, corpus.Vocabulary, 0, 100, 1, 0), new Rng(1));
        MinCharRnn.InitNormal(model.Parameters(), 0.01, new Rng(2));
        foreach (var p in model.Parameters())
        {
            float[] v = p.Value.Span.ToArray();
            if (p.Name.Contains("bias")) Assert.All(v, x => Assert.Equal(0f, x));
            else if (v.Length >= 400)
            {
                double mean = v.Average(x => (double)x), std = Math.Sqrt(v.Average(x => (x - mean) * (double)(x - mean)));
                Assert.InRange(mean, -0.002, 0.002);
                Assert.InRange(std, 0.009, 0.011);
            }
        }
        Assert.Throws<ArgumentException>(() => MinCharRnn.InitNormal(model.Parameters(), 0, new Rng(2)));
    }

    [Fact]
    public void FirstCharactersCountsCodePointsAndAPassOverAHundredThousandIsTheGistsWindows()
    {
        Assert.Equal("ab😀", MinCharRnn.FirstCharacters("ab😀cd", 3));
        Assert.Equal("ab", MinCharRnn.FirstCharacters("ab", 10));
        // The gist walks p = 0, 25, ... while p + 26 < 100,000: 3,999 windows before it wraps and zeroes h.
        int gist = 0;
        for (int p = 0; p + T + 1 < MinCharRnn.Characters; p += T) gist++;
        Assert.Equal(gist, new BatchStreams(new int[MinCharRnn.Characters], 1, T).ChunksPerEpoch);
    }

    [Fact]
    public void SmoothedLossFollowsTheGistsRecurrence()
    {
        var corpus = CharCorpus.FromText(Text, 0, "t");
        var model = new CharLanguageModel(new CharLanguageModelConfig(CellKind.RnnTanh, corpus.Vocabulary, 0, 8, 1, 0), new Rng(5));
        var settings = new TrainingSettings { Data = "t", DataSha256 = "", Optimizer = "adagrad", LearningRate = 0.1, SeqLen = T, Batch = 1, ClipValue = 0.2 };
        var trainer = new Trainer(model, Trainer.CreateOptimizer("adagrad", model.Parameters(), 0.1f), settings, corpus,
            new TrainingProgress { SampleRngState = new Rng(1).State }, model.NewState(1));
        var smoothed = new SmoothedLossTrainer(trainer);
        double expected = Math.Log(corpus.Vocabulary.Count) * T;
        Assert.Equal(expected, smoothed.SmoothLoss, 12);
        for (int i = 0; i < 5; i++)
        {
            float loss = smoothed.Step().Loss;
            expected = expected * 0.999 + loss * (double)T * 0.001;
        }
        Assert.Equal(expected, smoothed.SmoothLoss, 9);
        Assert.Equal(5, trainer.Progress.Step);
    }

    [Fact]
    public void ThePresetReadsTheFirstCharactersInitializesLikeTheGistAndReportsTheSmoothedLoss()
    {
        string dir = _f.Path("m");
        using var doc = JsonDocument.Parse(CharLmFixture.Ok("train", "--preset", "min-char-rnn", "--data", _f.Data, "--out", dir,
            "--max-chars", "101", "--steps", "8", "--threads", "1", "--json"));
        var r = doc.RootElement;
        // 101 characters, no validation split: 100 predicted in 4 windows of 25, so 8 steps are 2 passes.
        Assert.Equal(2.0, r.GetProperty("epochs").GetDouble(), 9);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("val_loss").ValueKind);
        double smooth = r.GetProperty("smooth_loss").GetDouble();
        int V = Vocabulary.FromText(MinCharRnn.FirstCharacters(CharLmFixture.Text, 101)).Count;
        // Started at T·ln V, 8 steps with weight 0.001 each move it by little, but they move it.
        Assert.InRange(Math.Abs(smooth - T * Math.Log(V)), 1e-6, 0.02 * T * Math.Log(V));
        var (config, training) = Checkpoint.LoadConfig(dir);
        Assert.Equal(V, config.VocabSize);
        Assert.Equal((101, 0.01, 0.0), (training!.MaxChars, training.InitStd, training.ValFraction));

        // A resume reads the same 101 characters.
        using var resumed = JsonDocument.Parse(CharLmFixture.Ok("train", "--resume", dir, "--steps", "12", "--json"));
        Assert.Equal(3.0, resumed.RootElement.GetProperty("epochs").GetDouble(), 9);

        // The initialization: one step at a learning rate too small to move anything leaves biases 0, weights small.
        string init = _f.Path("init");
        CharLmFixture.Ok("train", "--preset", "min-char-rnn", "--data", _f.Data, "--out", init, "--steps", "1", "--lr", "1e-30", "--json");
        var model = Checkpoint.LoadModel(init);
        Assert.All(model.Parameters().Where(p => p.Name.Contains("bias")), p => Assert.All(p.Value.Span.ToArray(), x => Assert.True(Math.Abs(x) < 1e-20f)));
        Assert.All(model.Parameters().Where(p => p.Name.Contains("weight")), p => Assert.True(p.Value.Span.ToArray().Max(Math.Abs) < 0.06f));
        // Without the preset neither option is on, and the JSON has no smoothed loss.
        string plain = _f.Train("plain", "--steps", "1");
        Assert.Null(Checkpoint.LoadConfig(plain).Training!.MaxChars);
        using var plainJson = JsonDocument.Parse(CharLmFixture.Ok("train", "--resume", plain, "--steps", "2", "--json"));
        Assert.False(plainJson.RootElement.TryGetProperty("smooth_loss", out _));
    }
}
