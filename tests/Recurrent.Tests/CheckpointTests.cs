using Recurrent.Data;
using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

public class CheckpointTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public void ConfigAndWeightsRoundTrip()
    {
        string dir = _f.Train("m", "--steps", "5", "--cell", "gru", "--embedding", "0", "--dropout", "0.1");
        var (config, training) = Checkpoint.LoadConfig(dir);
        Assert.Equal(CellKind.Gru, config.Cell);
        Assert.Equal(0, config.EmbeddingSize);
        Assert.Equal(0.1f, config.Dropout);
        Assert.Equal(Vocabulary.FromText(CharLmFixture.Text).AsString(), config.Vocabulary.AsString());
        Assert.Equal(Path.GetFullPath(_f.Data), training!.Data);
        Assert.Equal(5, training.MaxSteps);

        var model = Checkpoint.LoadModel(dir);
        var file = SafeTensorsFile.Read(Path.Combine(dir, "weights.safetensors"));
        Assert.Equal(model.Parameters().Select(p => p.Name), file.Names);
        Assert.StartsWith("gru.weight_ih_l0", file.Names[0]);
        foreach (var p in model.Parameters()) Assert.Equal(file.Float(p.Name).Data, p.Value.Data);
        Assert.Equal("5", file.Metadata["step"]);
    }

    [Fact]
    public void AnInterruptedSaveLeavesALoadableDirectory()
    {
        string dir = _f.Train("m", "--steps", "4");
        var weightsBefore = File.ReadAllBytes(Path.Combine(dir, "weights.safetensors"));
        // A save writes optimizer.safetensors, then weights, then config.json, each by temp file and rename. Interrupt it
        // after the first file, with a temp file of the second left behind: sampling reads the old weights, a resume the
        // new, self-consistent state.
        string other = _f.Train("other", "--steps", "9");
        File.Copy(Path.Combine(other, "optimizer.safetensors"), Path.Combine(dir, "optimizer.safetensors"), overwrite: true);
        File.WriteAllBytes(Path.Combine(dir, ".weights.safetensors.123.abc.tmp"), [1, 2, 3]);
        Assert.Equal(weightsBefore, File.ReadAllBytes(Path.Combine(dir, "weights.safetensors")));
        CharLmFixture.Ok("sample", "--model", dir, "--length", "5");
        CharLmFixture.Ok("eval", "--model", dir, "--data", _f.Data);
        string output = CharLmFixture.Ok("train", "--resume", dir, "--steps", "12", "--json");
        Assert.Contains("\"steps\":12", output);
        Assert.Contains("\"steps_this_run\":3", output);
    }

    [Fact]
    public void BadConfigurationsAreOneLineErrorsNamingTheProblem()
    {
        string dir = _f.Train("m", "--steps", "2");
        string config = Path.Combine(dir, "config.json");
        string good = File.ReadAllText(config);
        foreach (var (text, message) in new[]
        {
            ("not json", "is not valid JSON"),
            ("[1, 2]", "is not a JSON object"),
            ("{\"format\": \"something-else\"}", "is not a Recurrent model configuration"),
            (good.Replace("\"format_version\": 1", "\"format_version\": 7"), "format version 7"),
            (good.Replace("\"task\": \"char-lm\"", "\"task\": \"tagger\""), "holds a 'tagger' model, not a char-lm model"),
            (good.Replace("\"cell\": \"lstm\"", "\"cell\": \"transformer\""), "unknown cell 'transformer'"),
            (good.Replace("\"hidden_size\": 8", "\"hidden_size\": -8"), "\"hidden_size\" = -8 is out of range"),
            (good.Replace("\"hidden_size\": 8,", ""), "missing \"hidden_size\""),
            (good.Replace("\"vocabulary\": \"", "\"vocabulary\": \"@"), "\"vocab_size\" is"),
        })
        {
            File.WriteAllText(config, text);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(dir));
            Assert.Contains(message, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        // A config whose sizes do not match the weights: the tensor and both shapes are named.
        File.WriteAllText(config, good.Replace("\"hidden_size\": 8", "\"hidden_size\": 9"));
        var mismatch = Assert.ThrowsAny<Exception>(() => Checkpoint.LoadModel(dir));
        Assert.Contains("lstm.weight_ih_l0", mismatch.Message);
    }

    [Fact]
    public void TrainingStateRestoresEverythingAResumeNeeds()
    {
        var vocabulary = Vocabulary.FromText(CharLmFixture.Text);
        var config = new CharLanguageModelConfig(CellKind.Lstm, vocabulary, 3, 6, 2, 0.3f);
        var model = new CharLanguageModel(config, new Rng(2));
        var optimizer = Trainer.CreateOptimizer("adam", model.Parameters(), 0.01f);
        var carried = model.NewState(2);
        var settings = new TrainingSettings { Data = "x", DataSha256 = "y", Optimizer = "adam", LearningRate = 0.01, SeqLen = 4, Batch = 2 };
        var corpus = CharCorpus.FromText(CharLmFixture.Text, 0.1, "text");
        var trainer = new Trainer(model, optimizer, settings, corpus, new TrainingProgress { SampleRngState = new Rng(5).State }, carried);
        for (int i = 0; i < 7; i++) trainer.Step();
        trainer.Sample(10);
        string dir = _f.Path("ckpt");
        Checkpoint.Save(dir, model, settings, optimizer, trainer.Progress, carried);

        var model2 = new CharLanguageModel(config, new Rng(99));
        var optimizer2 = Trainer.CreateOptimizer("adam", model2.Parameters(), 0.01f);
        var carried2 = model2.NewState(2);
        var progress2 = Checkpoint.LoadTrainingState(dir, model2, optimizer2, carried2);
        Assert.Equal(7, progress2.Step);
        Assert.Equal(7, optimizer2.StepCount);
        Assert.Equal(trainer.Progress.SampleRngState, progress2.SampleRngState);
        Assert.Equal(model.DropoutRngState, model2.DropoutRngState);
        foreach (var (a, b) in model.Parameters().Zip(model2.Parameters())) Assert.Equal(a.Value.Data, b.Value.Data);
        foreach (var ((_, a), (_, b)) in optimizer.State().Zip(optimizer2.State())) Assert.Equal(a.Data, b.Data);
        foreach (var ((_, a), (_, b)) in carried.Named().Zip(carried2.Named())) Assert.Equal(a.Data, b.Data);

        // The next step of both is identical.
        var trainer2 = new Trainer(model2, optimizer2, settings, corpus, progress2, carried2);
        Assert.Equal(trainer.Step().Loss, trainer2.Step().Loss);

        // State from another optimizer is refused with a clear message.
        var wrongKind = Assert.ThrowsAny<Exception>(() => Checkpoint.LoadTrainingState(dir, model2, new Optimizers.RmsProp(model2.Parameters(), 0.1f, momentum: 0.9f), carried2));
        Assert.Contains("optimizer.safetensors", wrongKind.Message);
    }
}
