using System.Text.Json;
using System.Xml.Linq;
using Recurrent.IO;
using Xunit;
using static Recurrent.Tests.CharLmFixture;

namespace Recurrent.Tests;

public class TranslateCommandTests : IDisposable
{
    private readonly Seq2SeqTaskFixture _f = new();
    public void Dispose() => _f.Dispose();

    private string Train(string name, params string[] extra)
    {
        string dir = _f.Path(name);
        Ok(["train", "--task", "translate", "--train", _f.TranslateTrain, "--dev", _f.TranslateDev, "--out", dir, "--json",
            .. WordTaskFixture.With(Seq2SeqTaskFixture.TinyTranslate, extra)]);
        return dir;
    }

    [Fact]
    public void TranslateTrainsEvaluatesAndPredicts()
    {
        string dir = _f.Path("t");
        string output = Ok(["train", "--task", "translate", "--train", _f.TranslateTrain, "--dev", _f.TranslateDev, "--out", dir,
            "--json", "--epochs", "25", .. Seq2SeqTaskFixture.TinyTranslate]);
        var train = JsonDocument.Parse(output).RootElement;
        Assert.Equal("translate", train.GetProperty("task").GetString());
        foreach (string field in new[] { "steps", "epochs", "train_loss", "dev_loss", "dev_bleu", "best_dev_bleu", "tokens_per_second" })
            Assert.True(train.TryGetProperty(field, out _), $"train --json lacks \"{field}\": {output}");

        var eval = JsonDocument.Parse(Ok("eval", "--model", dir, "--data", _f.TranslateDev, "--json")).RootElement;
        Assert.Equal("translate", eval.GetProperty("task").GetString());
        Assert.Equal(17, eval.GetProperty("sentences").GetInt32());
        // The repeated source is one, with two references.
        Assert.Equal(Recurrent.Data.ParallelCorpus.Read(_f.TranslateDev).Sources.Count, eval.GetProperty("sources").GetInt32());
        Assert.True(eval.GetProperty("sources").GetInt32() < 17);
        Assert.Equal(3, eval.GetProperty("beam").GetInt32());     // the model's own beam
        Assert.Equal(4, eval.GetProperty("precisions").GetArrayLength());
        double bleu = eval.GetProperty("bleu").GetDouble();
        Assert.True(bleu > 60, eval.ToString());
        Assert.Equal(train.GetProperty("best_dev_bleu").GetDouble(), bleu, 6); // best/ holds the best dev BLEU
        var greedy = JsonDocument.Parse(Ok("eval", "--model", dir, "--data", _f.TranslateDev, "--beam", "1", "--json")).RootElement;
        Assert.Equal(1, greedy.GetProperty("beam").GetInt32());
        Assert.True(greedy.GetProperty("bleu_by_length").TryGetProperty("1-3", out _));

        string input = _f.Write("in.txt", "One two.\nsix five four three.\n");
        string svg = _f.Path("maps.svg");
        var (code, translated, error) = Run("predict", "--model", dir, "--input", input, "--attention", svg);
        Assert.True(code == 0, error);
        var lines = translated.TrimEnd('\n').Split('\n');
        Assert.Equal(["un deux.", "six cinq quatre trois."], lines);
        var document = XDocument.Parse(File.ReadAllText(svg));
        Assert.Contains("six", document.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("--dropout 0.2 --teacher-forcing 0.5 --cell lstm --attention luong-general")]
    public void TrainingInTwoRunsEqualsOneRun(string extra)
    {
        string[] common = ["--eval-every", "5", .. extra.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        string whole = Train("whole", ["--steps", "11", .. common]);
        string half = Train("half", ["--steps", "5", .. common]);
        Ok("train", "--resume", half, "--steps", "11", "--json");
        var a = SafeTensorsFile.Read(Path.Combine(whole, "weights.safetensors"));
        var b = SafeTensorsFile.Read(Path.Combine(half, "weights.safetensors"));
        Assert.Equal(a.Names, b.Names);
        foreach (string name in a.Names) Assert.Equal(a.Float(name).Data, b.Float(name).Data);
    }

    [Fact]
    public void BadInputIsOneLineNamingFileLineOrFlagAndWritesNothing()
    {
        string Fails(int expectedCode, params string[] args)
        {
            var (code, stdout, stderr) = Run(args);
            Assert.Equal(expectedCode, code);
            Assert.Equal("", stdout);
            Assert.Single(stderr.TrimEnd('\n').Split('\n'));
            Assert.DoesNotContain("   at ", stderr);
            return stderr;
        }
        string dir = _f.Path("bad");
        string[] train(string file) => ["train", "--task", "translate", "--train", file, "--dev", _f.TranslateDev, "--out", dir, "--steps", "2", .. Seq2SeqTaskFixture.TinyTranslate];
        string noTab = _f.Write("notab.tsv", "one .\tun .\ntwo deux\n");
        Assert.Contains($"{noTab}:2: ", Fails(1, train(noTab)));
        string emptySide = _f.Write("empty.tsv", "one .\tun .\ntwo .\t \n");
        Assert.Contains($"{emptySide}:2: ", Fails(1, train(emptySide)));
        string tooLong = _f.Write("long.tsv", "one .\tun .\n" + string.Join(' ', Enumerable.Repeat("two", 101)) + "\tdeux\n");
        Assert.Contains($"{tooLong}:2: ", Fails(1, train(tooLong)));
        Assert.Contains("--beam", Fails(2, ["train", "--task", "translate", "--train", _f.TranslateTrain, "--out", dir, "--beam", "0"]));
        Assert.Contains("--attention", Fails(2, ["train", "--task", "translate", "--train", _f.TranslateTrain, "--out", dir, "--attention", "luong"]));
        Assert.False(Directory.Exists(dir));

        string model = Train("m", "--steps", "2");
        Assert.Contains("--beam", Fails(2, "eval", "--model", model, "--data", _f.TranslateDev, "--beam", "0"));
        string input = _f.Write("blank.txt", "one .\n\n");
        Assert.Contains($"{input}:2: ", Fails(1, "predict", "--model", model, "--input", input));
    }
}
