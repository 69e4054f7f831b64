using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// A leaky char-LM end to end: `train --cell leaky --leak ...` writes the leak into config.json and the learned leaks
/// under PyTorch-style names ("rnn.leak_l0", "rnn.leak_l1") into the weights; loading gives the same model; resume and
/// sample work; bad leaks are one-line errors; the other tasks take `--cell leaky` too.
/// </summary>
public class LeakyCharLanguageModelTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public void ALearnedLeakSavesLoadsResumesAndSamples()
    {
        string dir = _f.Train("m", "--steps", "6", "--cell", "leaky", "--leak", "learned:0.3");
        var (config, _) = Checkpoint.LoadConfig(dir);
        Assert.Equal(CellKind.Leaky, config.Cell);
        Assert.Equal(Leak.Learn(0.3f), config.Leak);
        string json = File.ReadAllText(Path.Combine(dir, "config.json"));
        Assert.Contains("\"cell\": \"leaky\"", json);
        Assert.Contains("\"leak\": 0.3", json);
        Assert.Contains("\"leak_learned\": true", json);

        var model = Checkpoint.LoadModel(dir);
        var file = SafeTensorsFile.Read(Path.Combine(dir, "weights.safetensors"));
        Assert.Equal(model.Parameters().Select(p => p.Name), file.Names);
        Assert.Contains("rnn.leak_l0", file.Names);
        Assert.Contains("rnn.leak_l1", file.Names);
        foreach (var p in model.Parameters()) Assert.Equal(file.Float(p.Name).Data, p.Value.Data);
        // Six Adam steps moved the leaks off their starting logit(0.3).
        Assert.Contains(file.Float("rnn.leak_l0").Data, u => Math.Abs(u - Leak.Logit(0.3f)) > 1e-4f);

        string resumed = CharLmFixture.Ok("train", "--resume", dir, "--steps", "9", "--json");
        Assert.Contains("\"steps\":9", resumed);
        Assert.NotEmpty(CharLmFixture.Ok("sample", "--model", dir, "--length", "12"));
        var (code, _, error) = CharLmFixture.Run("train", "--resume", dir, "--steps", "12", "--leak", "0.2");
        Assert.Equal(2, code);
        Assert.Contains("--leak cannot change", error);
    }

    [Fact]
    public void AFixedLeakKeepsNnRnnsParametersAndTheDefaultIsHalf()
    {
        string fixedDir = _f.Train("fixed", "--steps", "3", "--cell", "leaky", "--leak", "0.25");
        Assert.Equal(Leak.Fixed(0.25f), Checkpoint.LoadConfig(fixedDir).Model.Leak);
        var names = SafeTensorsFile.Read(Path.Combine(fixedDir, "weights.safetensors")).Names;
        Assert.DoesNotContain(names, n => n.Contains("leak"));
        Assert.Contains("rnn.weight_hh_l1", names);
        Assert.Equal(Leak.Default, Checkpoint.LoadConfig(_f.Train("default", "--steps", "2", "--cell", "leaky")).Model.Leak);
        // Other cells' configs carry no leak.
        Assert.DoesNotContain("leak", File.ReadAllText(Path.Combine(_f.Train("gru", "--steps", "2", "--cell", "gru"), "config.json")));
    }

    [Fact]
    public void BadLeaksAreOneLineErrors()
    {
        foreach (var (args, message) in new (string[], string)[]
        {
            (["--cell", "leaky", "--leak", "1.5"], "(0, 1]"),
            (["--cell", "leaky", "--leak", "learned:1"], "(0, 1)"),
            (["--cell", "leaky", "--leak", "slow"], "'slow'"),
            (["--cell", "gru", "--leak", "0.5"], "--cell leaky only"),
        })
        {
            var (code, _, error) = CharLmFixture.Run(["train", "--data", _f.Data, "--out", _f.Path("bad"), "--steps", "1", .. CharLmFixture.Tiny, .. args]);
            Assert.Equal(2, code);
            Assert.Contains(message, error);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
        }
        string dir = _f.Train("m", "--steps", "2", "--cell", "leaky", "--leak", "learned");
        string config = Path.Combine(dir, "config.json");
        string good = File.ReadAllText(config);
        File.WriteAllText(config, good.Replace("\"leak\": 0.5", "\"leak\": 1"));
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(dir));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("(0, 1)", e.Message);
        File.WriteAllText(config, good.Replace("\"leak_learned\": true,", "").Replace(",\n  \"leak_learned\": true", ""));
        Assert.Contains("leak_learned", Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(dir)).Message);
    }

    [Fact]
    public void ConfigRecordsRoundTripThroughJson()
    {
        var vocabulary = Data.Vocabulary.FromText("abc");
        var config = new CharLanguageModelConfig(CellKind.Leaky, vocabulary, 4, 8, 2, 0f) { Leak = Leak.Learn(0.125f) };
        var model = new CharLanguageModel(config, new Tensors.Rng(1));
        Assert.Equal(["embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "rnn.leak_l0",
                      "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1", "rnn.leak_l1", "head.weight", "head.bias"],
            model.Parameters().Select(p => p.Name));
        Assert.Equal("leaky", CharLanguageModelConfig.CellName(CellKind.Leaky));
        Assert.Equal(CellKind.Leaky, CharLanguageModelConfig.ParseCell("leaky"));
        Assert.Contains("leaky", CharLanguageModelConfig.CellNames);
    }
}

/// <summary>`--cell leaky` trains, saves, loads and evaluates (or samples) in every task that takes `--cell gru` (with the default α).</summary>
public sealed class LeakyTasksTests : IDisposable
{
    private readonly WordTaskFixture _words = new();
    private readonly Seq2SeqTaskFixture _seq = new();
    public void Dispose()
    {
        _words.Dispose();
        _seq.Dispose();
    }

    [Theory]
    [InlineData("classify")]
    [InlineData("tag")]
    [InlineData("translate")]
    [InlineData("generate")]
    public void EveryTaskTakesTheLeakyCell(string task)
    {
        var (train, dev, tiny) = task switch
        {
            "classify" => (_words.ClassifyTrain, _words.ClassifyDev, WordTaskFixture.TinyClassify),
            "tag" => (_words.TagTrain, _words.TagDev, WordTaskFixture.TinyTag),
            "translate" => (_seq.TranslateTrain, _seq.TranslateDev, Seq2SeqTaskFixture.TinyTranslate),
            _ => (_seq.GenerateTrain, _seq.GenerateDev, Seq2SeqTaskFixture.TinyGenerate),
        };
        string dir = _words.Path(task);
        CharLmFixture.Ok(["train", "--task", task, "--train", train, "--dev", dev, "--out", dir, "--json",
            .. WordTaskFixture.With(tiny, ["--steps", "2", "--cell", "leaky"])]);
        Assert.Contains("\"cell\": \"leaky\"", File.ReadAllText(Path.Combine(dir, "config.json")));
        if (task == "generate") Assert.NotEmpty(CharLmFixture.Ok("sample", "--model", dir, "--condition", "pos", "--count", "2"));
        else Assert.Contains("\"task\"", CharLmFixture.Ok("eval", "--model", dir, "--data", dev, "--json"));
    }
}
