using System.Globalization;
using System.Text.Json;
using Recurrent.Data;
using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Reliability drill (issue 14): a loss that becomes NaN or infinite stops training with one line naming the step, the
/// model directory keeping its last checkpoint (no bad weight is written); --skip-nonfinite skips such steps (no
/// optimizer step) and counts them. Forced two ways: a hook that poisons one step's carried state with NaN (the step
/// is known), and through the command with a learning rate that makes the weights overflow.
/// </summary>
public class NonFiniteLossTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    /// <summary>A char-lm trainer whose step <see cref="PoisonStep"/> starts from a NaN state: its loss is NaN.</summary>
    private sealed class PoisonedTrainer(Trainer inner, long poisonStep) : ITaskTrainer
    {
        public long PoisonStep => poisonStep;
        public ITaskModel Model => inner.Model;
        public Optimizers.Optimizer Optimizer => inner.Optimizer;
        public TrainingSettings Settings => inner.Settings;
        public TrainingProgress Progress => inner.Progress;
        public long StepsPerEpoch => inner.StepsPerEpoch;
        public bool HasValidation => inner.HasValidation;
        public ValidationResult Validate() => inner.Validate();
        public IEnumerable<(string Name, Tensor Value)> ExtraState() => inner.ExtraState();

        public StepResult Step()
        {
            if (inner.Progress.Step + 1 == poisonStep) inner.Carried.H[0].Data.AsSpan().Fill(float.NaN);
            return inner.Step();
        }
    }

    private PoisonedTrainer Make(long poisonStep, long maxSteps)
    {
        // 283 characters, 10% held out: 3 streams of 84, seq 8 → 10 steps an epoch; step 13 is mid-epoch (not reset).
        var corpus = CharCorpus.FromText(CharLmFixture.Text, 0.1, "text");
        var config = new CharLanguageModelConfig(CellKind.Lstm, corpus.Vocabulary, 4, 8, 1, 0);
        var model = new CharLanguageModel(config, new Rng(3));
        var settings = new TrainingSettings
        {
            Data = "text", DataSha256 = "", Optimizer = "adam", LearningRate = 0.01, SeqLen = 8, Batch = 3, Clip = 5,
            MaxSteps = maxSteps, CheckpointEvery = 5, LogEvery = 1, EvalEvery = 0,
        };
        var trainer = new Trainer(model, Trainer.CreateOptimizer(settings, model.Parameters()), settings, corpus,
            new TrainingProgress { SampleRngState = new Rng(1).State }, model.NewState(3));
        return new PoisonedTrainer(trainer, poisonStep);
    }

    private static void AssertFinite(string weightsFile)
    {
        var file = SafeTensorsFile.Read(weightsFile);
        foreach (string name in file.Names)
            Assert.True(file.Float(name).Data.All(float.IsFinite), $"{name} in {weightsFile} is not finite");
    }

    private static long StepOf(string file) =>
        long.Parse(SafeTensorsFile.Read(file).Metadata["step"], CultureInfo.InvariantCulture);

    [Fact]
    public void ANaNLossStopsNamingTheStepAndKeepsTheLastCheckpoint()
    {
        string dir = _f.Path("stop");
        Directory.CreateDirectory(dir);
        var trainer = Make(poisonStep: 13, maxSteps: 20);
        var e = Assert.Throws<NonFiniteLossException>(() => new TrainingRun(trainer, dir).Run(new NullObserver()));
        Assert.Equal("step 13: the loss is NaN; training stopped, the last checkpoint (step 10) is kept " +
                     "(--skip-nonfinite skips such steps instead; a lower --lr or a --clip may avoid them)", e.Message);
        Assert.Equal((13, 10), (e.Step, e.LastCheckpoint));
        Assert.Equal(10, StepOf(Path.Combine(dir, Checkpoint.StateFile)));
        Assert.Equal(10, StepOf(Path.Combine(dir, Checkpoint.WeightsFile)));
        AssertFinite(Path.Combine(dir, Checkpoint.WeightsFile));
        // The step changed no weight: the model in memory is still finite too.
        Assert.All(trainer.Model.Parameters(), p => Assert.True(p.Value.Data.All(float.IsFinite), p.Name));
    }

    [Fact]
    public void SkipNonFiniteSkipsTheStepCountsItAndTrainsOn()
    {
        string dir = _f.Path("skip");
        Directory.CreateDirectory(dir);
        var trainer = Make(poisonStep: 13, maxSteps: 20);
        var result = new TrainingRun(trainer, dir) { SkipNonFinite = true }.Run(new NullObserver());
        Assert.Equal((20L, 1L), (result.Steps, result.SkippedNonFinite));
        Assert.True(double.IsFinite(result.TrainLoss));
        Assert.Equal(19, trainer.Optimizer.StepCount); // no optimizer step for the skipped one
        AssertFinite(Path.Combine(dir, Checkpoint.WeightsFile));

        var log = TrainLog.Read(Path.Combine(dir, Checkpoint.LogFile));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), log.Select(l => l.Step));
        Assert.True(double.IsNaN(log[12].TrainLoss));   // step 13's own line: no loss (null in the file)
        Assert.All(log.Where(l => l.Step != 13), l => Assert.True(double.IsFinite(l.TrainLoss), $"step {l.Step}"));
        Assert.Equal(Enumerable.Repeat(0L, 12).Concat(Enumerable.Repeat(1L, 8)), log.Select(l => l.SkippedNonFinite));
        Assert.Contains("\"skipped_nonfinite\":1", File.ReadAllLines(Path.Combine(dir, Checkpoint.LogFile))[12]);
    }

    // The command: SGD at lr 100 on a ReLU RNN without clipping overflows within a few steps.
    private static readonly string[] Diverging =
        ["--cell", "rnn-relu", "--optimizer", "sgd", "--lr", "100", "--clip", "0", "--layers", "1", "--steps", "30",
         "--checkpoint-every", "1", "--log-every", "1"];

    [Fact]
    public void TheCommandStopsWithOneLineAndExitsNonZero()
    {
        string dir = _f.Path("cli");
        var (code, stdout, stderr) = CharLmFixture.Run(["train", "--data", _f.Data, "--out", dir, "--json", .. WordTaskFixture.With(CharLmFixture.Tiny, Diverging)]);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var match = System.Text.RegularExpressions.Regex.Match(stderr,
            @"^recurrent train: step (\d+): the (loss|gradient norm) is (NaN|∞|-∞|Infinity|-Infinity); training stopped, the last checkpoint \(step (\d+)\) is kept .*\n$");
        Assert.True(match.Success, stderr);
        long step = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), kept = long.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture);
        Assert.Equal(step - 1, kept); // checkpointed every step: the one before
        Assert.Equal(kept, StepOf(Path.Combine(dir, Checkpoint.StateFile)));
        AssertFinite(Path.Combine(dir, Checkpoint.WeightsFile));
        CharLmFixture.Ok("sample", "--model", dir, "--length", "10", "--json", "--threads", "1");
    }

    [Fact]
    public void TheCommandWithSkipNonFiniteFinishesAndReportsTheCount()
    {
        string dir = _f.Path("cli-skip");
        string output = CharLmFixture.Ok(["train", "--data", _f.Data, "--out", dir, "--json", "--skip-nonfinite", .. WordTaskFixture.With(CharLmFixture.Tiny, Diverging)]);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(30, doc.RootElement.GetProperty("steps").GetInt64());
        long skipped = doc.RootElement.GetProperty("skipped_nonfinite").GetInt64();
        Assert.InRange(skipped, 1, 29);
        Assert.Equal(skipped, TrainLog.Read(Path.Combine(dir, Checkpoint.LogFile)).Last().SkippedNonFinite);
        AssertFinite(Path.Combine(dir, Checkpoint.WeightsFile));
    }

    private sealed class NullObserver : ITrainingObserver;
}
