using System.Text.Json;
using Recurrent.IO;
using Xunit;
using static Recurrent.Tests.CharLmFixture;

namespace Recurrent.Tests;

public class GenerateCommandTests : IDisposable
{
    private readonly Seq2SeqTaskFixture _f = new();
    public void Dispose() => _f.Dispose();

    private string Train(string name, string train, params string[] extra)
    {
        string dir = _f.Path(name);
        string dev = train == _f.GenerateTrain ? _f.GenerateDev : train;
        Ok(["train", "--task", "generate", "--train", train, "--dev", dev, "--out", dir, "--json",
            .. WordTaskFixture.With(Seq2SeqTaskFixture.TinyGenerate, extra)]);
        return dir;
    }

    [Fact]
    public void SamplesFollowTheirCondition()
    {
        string dir = _f.Path("g");
        var train = JsonDocument.Parse(Ok(["train", "--task", "generate", "--train", _f.GenerateTrain, "--dev", _f.GenerateDev,
            "--out", dir, "--json", "--epochs", "60", .. Seq2SeqTaskFixture.TinyGenerate])).RootElement;
        Assert.Equal("generate", train.GetProperty("task").GetString());
        Assert.True(train.GetProperty("best_dev_loss").GetDouble() < 1.5, train.ToString());

        foreach (var (label, own) in new (string, Func<string, bool>)[] { ("pos", Seq2SeqTaskFixture.IsPositive), ("neg", Seq2SeqTaskFixture.IsNegative) })
        {
            var lines = Ok("sample", "--model", dir, "--condition", label, "--count", "20", "--seed", "5", "--temperature", "0.5").TrimEnd('\n').Split('\n');
            Assert.Equal(20, lines.Length);
            var words = lines.SelectMany(l => l.Split(' ')).ToList();
            int mine = words.Count(own), theirs = words.Count(w => !own(w) && (Seq2SeqTaskFixture.IsPositive(w) || Seq2SeqTaskFixture.IsNegative(w)));
            Assert.True(theirs * 10 <= mine, $"{label}: {mine} of its own words, {theirs} of the other label's:\n{string.Join('\n', lines)}");
            Assert.All(lines, l => Assert.StartsWith("the film was ", l));
        }
        // The same seed draws the same texts.
        Assert.Equal(Ok("sample", "--model", dir, "--condition", "pos", "--count", "3", "--seed", "9"),
                     Ok("sample", "--model", dir, "--condition", "pos", "--count", "3", "--seed", "9"));
    }

    [Fact]
    public void TrainingInTwoRunsEqualsOneRun()
    {
        string[] common = ["--eval-every", "4", "--dropout", "0.3"];
        string whole = Train("whole", _f.GenerateTrain, ["--steps", "9", .. common]);
        string half = Train("half", _f.GenerateTrain, ["--steps", "4", .. common]);
        Ok("train", "--resume", half, "--steps", "9", "--json");
        var a = SafeTensorsFile.Read(Path.Combine(whole, "weights.safetensors"));
        var b = SafeTensorsFile.Read(Path.Combine(half, "weights.safetensors"));
        Assert.Equal(a.Names, b.Names);
        foreach (string name in a.Names) Assert.Equal(a.Float(name).Data, b.Float(name).Data);
    }

    [Fact]
    public void VectorConditionsAndBadConditionsAreOneLineErrors()
    {
        string vectors = _f.Write("vec.tsv", "0.5 1 -1\tthe cat sat\n-1 0 2\ta dog ran\n");
        string dir = Train("v", vectors, "--steps", "3");
        Assert.Equal(2, Ok("sample", "--model", dir, "--condition", "0.5 1 -1", "--count", "2").Count(c => c == '\n')); // a text may be empty

        var (code, _, error) = Run("sample", "--model", dir, "--condition", "0.5 1");
        Assert.Equal(2, code);
        Assert.Contains("--condition has 2 values; the model's conditions are vectors of 3", error);
        string labels = Train("l", _f.GenerateTrain, "--steps", "2");
        (code, _, error) = Run("sample", "--model", labels, "--condition", "meh");
        Assert.Equal(2, code);
        Assert.Contains("--condition 'meh' is not a label the model knows (neg, pos)", error);
        string wrongSize = _f.Write("vec2.tsv", "0.5 1\tthe cat\n");
        (code, _, error) = Run("train", "--resume", dir, "--train", wrongSize);
        Assert.NotEqual(0, code);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }
}
