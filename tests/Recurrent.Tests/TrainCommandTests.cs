using System.Text;
using System.Text.Json;
using Recurrent.Cli;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>A temporary directory with a small text, and the `recurrent` entry point run in-process.</summary>
public sealed class CharLmFixture : IDisposable
{
    public const string Text = """
        First Citizen:
        Before we proceed any further, hear me speak.

        All:
        Speak, speak.

        First Citizen:
        You are all resolved rather to die than to famish?

        All:
        Resolved. resolved.

        First Citizen:
        First, you know Caius Marcius is chief enemy to the people.

        All:
        We know't, we know't.

        """;

    public string Dir { get; } = Directory.CreateTempSubdirectory("charlm").FullName;
    public string Data { get; }

    /// <summary>Flags of a tiny, fast model: the tests run hundreds of steps in well under a second.</summary>
    public static readonly string[] Tiny =
        ["--hidden", "8", "--layers", "2", "--embedding", "4", "--seq-len", "8", "--batch", "3", "--seed", "7", "--threads", "1"];

    public CharLmFixture()
    {
        Data = Write("text.txt", Text);
    }

    public string Path(string name) => System.IO.Path.Combine(Dir, name);

    public string Write(string name, string text)
    {
        File.WriteAllText(Path(name), text, new UTF8Encoding(false));
        return Path(name);
    }

    public string WriteBytes(string name, byte[] bytes)
    {
        File.WriteAllBytes(Path(name), bytes);
        return Path(name);
    }

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cli.Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs a command that must succeed and returns its stdout.</summary>
    public static string Ok(params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.True(code == 0, $"exit {code}: {error}");
        return output;
    }

    /// <summary>Trains a tiny model into a new directory and returns the directory; <paramref name="extra"/> overrides <see cref="Tiny"/>.</summary>
    public string Train(string name, params string[] extra)
    {
        string dir = Path(name);
        var tiny = new List<string>();
        for (int i = 0; i < Tiny.Length; i += 2)
            if (!extra.Contains(Tiny[i])) tiny.AddRange([Tiny[i], Tiny[i + 1]]);
        Ok(["train", "--data", Data, "--out", dir, "--json", .. tiny, .. extra]);
        return dir;
    }

    /// <summary>
    /// Trains <paramref name="steps"/> steps into "whole", and half as many into "split" that it then resumes to the
    /// same total, with the same flags: the two logs must tell one history. Returns the directories and their logs.
    /// </summary>
    public (string Whole, string Split, List<TrainLogEntry> WholeLog, List<TrainLogEntry> SplitLog) TrainWholeAndResumed(
        int steps, params string[] flags)
    {
        string whole = Train("whole", ["--steps", $"{steps}", .. flags]);
        string split = Train("split", ["--steps", $"{steps / 2}", .. flags]);
        Ok("train", "--resume", split, "--steps", $"{steps}", "--json", "--threads", "1");
        return (whole, split, TrainLog.Read(System.IO.Path.Combine(whole, "log.jsonl")), TrainLog.Read(System.IO.Path.Combine(split, "log.jsonl")));
    }

    /// <summary>Every file under a directory with its bytes, to prove a failed command changed nothing.</summary>
    public static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

    public void Dispose() => Directory.Delete(Dir, true);
}

public class TrainCommandTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public void JsonReportsEveryFieldAndTheDirectoryHoldsTheModel()
    {
        string dir = _f.Path("m");
        var (code, output, error) = CharLmFixture.Run(["train", "--data", _f.Data, "--out", dir, "--steps", "12", "--eval-every", "5",
            "--sample-every", "4", "--json", .. CharLmFixture.Tiny]);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Single(output.TrimEnd('\n').Split('\n')); // only the JSON object, no progress or samples

        using var doc = JsonDocument.Parse(output);
        var r = doc.RootElement;
        Assert.Equal(12, r.GetProperty("steps").GetInt64());
        // 283 characters, 90% = 255 for training: B = 3 streams of 84, T = 8 -> 10 steps per epoch.
        Assert.Equal(1.2, r.GetProperty("epochs").GetDouble(), 6);
        double train = r.GetProperty("train_loss").GetDouble(), val = r.GetProperty("val_loss").GetDouble();
        Assert.InRange(train, 1.0, Math.Log(40) + 0.5);
        Assert.InRange(val, 1.0, Math.Log(40) + 0.5);
        Assert.Equal(val / Math.Log(2), r.GetProperty("val_bits_per_char").GetDouble(), 9);
        Assert.True(r.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.True(r.GetProperty("seconds").GetDouble() > 0);
        int V = Recurrent.Data.Vocabulary.FromText(CharLmFixture.Text).Count;
        // embedding V·4, LSTM l0 4·8·(4+8+2), l1 4·8·(8+8+2), head 8·V + V
        Assert.Equal(V * 4 + 32 * 14 + 32 * 18 + 9 * V, r.GetProperty("parameters").GetInt64());

        foreach (string file in new[] { "config.json", "weights.safetensors", "optimizer.safetensors", "log.jsonl", "best/config.json", "best/weights.safetensors" })
            Assert.True(File.Exists(Path.Combine(dir, file)), file);
        var log = TrainLog.Read(Path.Combine(dir, "log.jsonl"));
        Assert.Equal(new long[] { 5, 10, 12 }, log.Select(e => e.Step)); // log every 10, plus evaluations and the end
        Assert.All(log, e => Assert.NotNull(e.ValLoss));
        Assert.Equal(val, log[^1].ValLoss!.Value, 9);
    }

    [Fact]
    public void ProgressAndSamplesArePrintedWithoutJson()
    {
        string dir = _f.Path("m");
        var (code, output, error) = CharLmFixture.Run(["train", "--data", _f.Data, "--out", dir, "--steps", "8", "--sample-every", "4",
            "--sample-length", "30", "--log-every", "4", .. CharLmFixture.Tiny]);
        Assert.Equal(0, code);
        Assert.Contains("--- sample at step 4 ---", output);
        Assert.Contains("--- sample at step 8 ---", output);
        Assert.Contains("done: step 8", output);
        Assert.Contains("step 4 | epoch 0.40 | loss", error);
        Assert.Contains("tok/s", error);
    }

    [Fact]
    public void TwoHundredStepsEqualAHundredPlusResumePlusAHundred()
    {
        // Two layers with dropout (masks from the saved RNG), an LSTM carrying state across chunks and epochs
        // (seq 7: 12 steps per epoch, so step 100 is mid-epoch), Adam moments, samples drawn in one run and not the
        // other: all must continue exactly.
        string[] model = ["--seq-len", "7", "--dropout", "0.2", "--log-every", "1", "--eval-every", "50", "--checkpoint-every", "30"];
        string whole = _f.Train("whole", ["--steps", "200", .. model]);
        string split = _f.Train("split", ["--steps", "100", "--sample-every", "7", .. model]);
        CharLmFixture.Ok("train", "--resume", split, "--steps", "200", "--json", "--threads", "1");

        var a = TrainLog.Read(Path.Combine(whole, "log.jsonl"));
        var b = TrainLog.Read(Path.Combine(split, "log.jsonl"));
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), a.Select(e => e.Step));
        Assert.Equal(a.Select(e => e.Step), b.Select(e => e.Step));
        for (int i = 0; i < a.Count; i++)
            Assert.True(Math.Abs(a[i].TrainLoss - b[i].TrainLoss) <= 1e-6, $"step {a[i].Step}: {a[i].TrainLoss} vs {b[i].TrainLoss}");
        var wa = IO.SafeTensorsFile.Read(Path.Combine(whole, "weights.safetensors"));
        var wb = IO.SafeTensorsFile.Read(Path.Combine(split, "weights.safetensors"));
        foreach (string name in wa.Names)
        {
            float[] x = wa.Float(name).Data, y = wb.Float(name).Data;
            for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-6, $"{name}[{i}]: {x[i]} vs {y[i]}");
        }
    }

    [Fact]
    public void StepScheduleWithWarmupIsLoggedAndContinuesExactlyOnResume()
    {
        // seq 7 over this text: 11 steps an epoch. Warm-up over 3 steps, then halve after every epoch from the first.
        string[] model = ["--seq-len", "7", "--log-every", "1", "--lr", "0.004", "--schedule", "step", "--lr-decay", "0.5",
            "--lr-decay-after", "1", "--warmup", "3", "--weight-decay", "0.01"];
        var (whole, _, a, b) = _f.TrainWholeAndResumed(40, model);
        double Lr(long step) => a.Single(e => e.Step == step).LearningRate;
        Assert.Equal(0.004 / 3, Lr(1), 6);
        Assert.Equal(0.004, Lr(11), 6);     // step 11 starts at epoch 10/11: no decay yet
        Assert.Equal(0.002, Lr(12), 6);     // step 12 starts epoch 1
        Assert.Equal(0.001, Lr(23), 6);
        Assert.Equal(a.Select(e => (e.Step, e.TrainLoss, e.LearningRate)), b.Select(e => (e.Step, e.TrainLoss, e.LearningRate)));
        var config = File.ReadAllText(Path.Combine(whole, "config.json"));
        Assert.Contains("\"lr_schedule\":\"step\"", config.Replace(" ", ""));
        Assert.Contains("\"weight_decay\":0.01", config.Replace(" ", ""));
    }

    [Fact]
    public void CosineScheduleAnnealsToItsFloorByTheLimit()
    {
        string dir = _f.Train("cos", "--steps", "30", "--log-every", "1", "--lr", "0.01", "--schedule", "cosine", "--min-lr", "0.1");
        var log = TrainLog.Read(Path.Combine(dir, "log.jsonl"));
        Assert.Equal(0.01, log[0].LearningRate, 6);
        for (int i = 1; i < log.Count; i++) Assert.True(log[i].LearningRate < log[i - 1].LearningRate);
        // The step taken from 29 steps done: p = 29/30.
        Assert.Equal(0.01 * (0.1 + 0.9 * (1 + Math.Cos(Math.PI * 29 / 30)) / 2), log[^1].LearningRate, 6);
    }

    [Fact]
    public void ResumeTrainsUpToTheNewTotal_IntoAnotherDirectoryToo()
    {
        string first = _f.Train("first", "--steps", "6", "--log-every", "2");
        string second = _f.Path("second");
        string output = CharLmFixture.Ok("train", "--resume", first, "--out", second, "--steps", "10", "--json");
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(10, doc.RootElement.GetProperty("steps").GetInt64());
        Assert.Equal(4, doc.RootElement.GetProperty("steps_this_run").GetInt64());
        Assert.Equal(new long[] { 2, 4, 6, 8, 10 }, TrainLog.Read(Path.Combine(second, "log.jsonl")).Select(e => e.Step));
        Assert.Equal(new long[] { 2, 4, 6 }, TrainLog.Read(Path.Combine(first, "log.jsonl")).Select(e => e.Step));

        // Already at the limit: nothing to train, still a report.
        output = CharLmFixture.Ok("train", "--resume", second, "--json");
        using var again = JsonDocument.Parse(output);
        Assert.Equal(0, again.RootElement.GetProperty("steps_this_run").GetInt64());
        Assert.Equal(10, again.RootElement.GetProperty("steps").GetInt64());
    }

    [Fact]
    public void EpochsLimitCountsWholePassesOverTheText()
    {
        string output = CharLmFixture.Ok(["train", "--data", _f.Data, "--out", _f.Path("m"), "--epochs", "2", "--json", .. CharLmFixture.Tiny]);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(20, doc.RootElement.GetProperty("steps").GetInt64());
        Assert.Equal(2.0, doc.RootElement.GetProperty("epochs").GetDouble());
    }

    [Fact]
    public void WithoutValidationThereIsNoValLossAndNoBest()
    {
        string dir = _f.Train("m", "--steps", "5", "--val-fraction", "0", "--eval-every", "2");
        string output = CharLmFixture.Ok("train", "--resume", dir, "--steps", "6", "--json");
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("val_loss").ValueKind);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("val_bits_per_char").ValueKind);
        Assert.False(Directory.Exists(Path.Combine(dir, "best")));
        Assert.All(TrainLog.Read(Path.Combine(dir, "log.jsonl")), e => Assert.Null(e.ValLoss));
    }

    [Fact]
    public void TimeLimitIsTheModelsTotalTrainingTime()
    {
        string output = CharLmFixture.Ok(["train", "--data", _f.Data, "--out", _f.Path("m"), "--time", "0.3s", "--json", .. CharLmFixture.Tiny]);
        using var doc = JsonDocument.Parse(output);
        Assert.True(doc.RootElement.GetProperty("steps").GetInt64() > 0);
        double seconds = doc.RootElement.GetProperty("seconds").GetDouble();
        Assert.InRange(seconds, 0.3, 10);
        // Resuming with a limit already reached trains nothing.
        output = CharLmFixture.Ok("train", "--resume", _f.Path("m"), "--time", "0.2s", "--json");
        using var again = JsonDocument.Parse(output);
        Assert.Equal(0, again.RootElement.GetProperty("steps_this_run").GetInt64());
    }

    [Fact]
    public void MinCharRnnPresetIsKarpathysSetup()
    {
        string dir = _f.Path("m");
        CharLmFixture.Ok("train", "--preset", "min-char-rnn", "--data", _f.Data, "--out", dir, "--steps", "3", "--json");
        var (model, training) = Checkpoint.LoadConfig(dir);
        Assert.Equal(Layers.CellKind.RnnTanh, model.Cell);
        Assert.Equal((0, 100, 1, 0f), (model.EmbeddingSize, model.HiddenSize, model.NumLayers, model.Dropout));
        Assert.NotNull(training);
        // Clip ±5 on the gist's summed loss is ±5/25 on the mean (see MinCharRnnTests).
        Assert.Equal((25, 1, "adagrad", 0.1, 0.0, 0.2), (training.SeqLen, training.Batch, training.Optimizer, training.LearningRate, training.Clip, training.ClipValue));
        Assert.Equal("min-char-rnn", training.Preset);
        // Explicit flags override the preset.
        CharLmFixture.Ok("train", "--preset", "min-char-rnn", "--hidden", "12", "--data", _f.Data, "--out", _f.Path("m2"), "--steps", "1", "--json");
        Assert.Equal(12, Checkpoint.LoadConfig(_f.Path("m2")).Model.HiddenSize);
    }

    [Fact]
    public void DurationsParse()
    {
        Assert.Equal(600, Cli.Commands.TrainCommand.ParseDuration("10m"));
        Assert.Equal(90, Cli.Commands.TrainCommand.ParseDuration("90"));
        Assert.Equal(5400, Cli.Commands.TrainCommand.ParseDuration("1h30m"));
        Assert.Equal(1.5, Cli.Commands.TrainCommand.ParseDuration("1.5s"));
        Assert.Throws<CliException>(() => Cli.Commands.TrainCommand.ParseDuration("10x"));
        Assert.Throws<CliException>(() => Cli.Commands.TrainCommand.ParseDuration("m"));
    }
}
