using System.Text.Json;
using Recurrent.IO;
using Xunit;
using static Recurrent.Tests.CharLmFixture;

namespace Recurrent.Tests;

public class WordTrainCommandTests : IDisposable
{
    private readonly WordTaskFixture _f = new();
    public void Dispose() => _f.Dispose();

    private string Train(string task, string name, params string[] extra)
    {
        string dir = _f.Path(name);
        bool tag = task == "tag";
        Ok(["train", "--task", task, "--train", tag ? _f.TagTrain : _f.ClassifyTrain, "--dev", tag ? _f.TagDev : _f.ClassifyDev,
            "--out", dir, "--json", .. WordTaskFixture.With(tag ? WordTaskFixture.TinyTag : WordTaskFixture.TinyClassify, extra)]);
        return dir;
    }

    [Fact]
    public void ClassifyTrainsEvaluatesAndPredicts()
    {
        string dir = _f.Path("c");
        string output = Ok(["train", "--task", "classify", "--train", _f.ClassifyTrain, "--dev", _f.ClassifyDev, "--out", dir,
            "--json", "--epochs", "30", "--eval-every", "12", "--pooling", "mean", .. WordTaskFixture.TinyClassify]);
        var train = JsonDocument.Parse(output).RootElement;
        foreach (string field in new[] { "steps", "epochs", "train_loss", "dev_loss", "dev_accuracy", "tokens_per_second", "seconds", "parameters", "out" })
            Assert.True(train.TryGetProperty(field, out _), $"train --json lacks \"{field}\": {output}");
        Assert.Equal(360, train.GetProperty("steps").GetInt64()); // 48 examples / batch 4 = 12 steps an epoch
        Assert.True(train.GetProperty("train_loss").GetDouble() < 0.45, output);
        Assert.True(File.Exists(Path.Combine(dir, "best", "weights.safetensors")));

        var eval = JsonDocument.Parse(Ok("eval", "--model", dir, "--data", _f.ClassifyDev, "--json")).RootElement;
        Assert.Equal("classify", eval.GetProperty("task").GetString());
        Assert.Equal("best", eval.GetProperty("model").GetString());
        Assert.Equal(12, eval.GetProperty("examples").GetInt32());
        Assert.Equal(["neg", "pos"], eval.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        var confusion = eval.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        Assert.Equal(12, confusion.Sum(r => r.Sum()));
        double accuracy = eval.GetProperty("accuracy").GetDouble();
        Assert.Equal((confusion[0][0] + confusion[1][1]) / 12.0, accuracy, 1e-12);
        Assert.True(accuracy >= 0.75, $"dev accuracy {accuracy}");
        // The best checkpoint's accuracy is the best dev accuracy training saw.
        var log = File.ReadAllLines(Path.Combine(dir, "log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("dev_accuracy", out _)).Select(e => e.GetProperty("dev_accuracy").GetDouble()).ToList();
        Assert.Equal(log.Max(), accuracy, 1e-9);

        string input = _f.Write("in.txt", "good good film\nbad plot and bad film\n");
        var (code, predicted, error) = Run("predict", "--model", dir, "--input", input);
        Assert.True(code == 0, error);
        Assert.Contains("best model", error);
        var lines = predicted.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("pos\t", lines[0]);
        Assert.EndsWith("\tgood good film", lines[0]);
        Assert.StartsWith("neg\t", lines[1]);
        float p = float.Parse(lines[1].Split('\t')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(p, 0.5f, 1f);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TagTrainsEvaluatesAndPredicts(bool crf)
    {
        string dir = Train("tag", crf ? "crf" : "softmax", ["--epochs", "25", .. crf ? new[] { "--crf" } : []]);
        var eval = JsonDocument.Parse(Ok("eval", "--model", dir, "--data", _f.TagDev, "--json")).RootElement;
        Assert.Equal("tag", eval.GetProperty("task").GetString());
        Assert.Equal(10, eval.GetProperty("sentences").GetInt32());
        Assert.True(eval.GetProperty("f1").GetDouble() > 0.8, eval.ToString());
        Assert.True(eval.GetProperty("token_accuracy").GetDouble() > 0.9, eval.ToString());
        var perType = eval.GetProperty("per_type");
        Assert.Equal(["ORG", "PER"], perType.EnumerateObject().Select(p => p.Name));
        Assert.True(perType.GetProperty("PER").GetProperty("support").GetInt64() > 0);

        string input = _f.Write("in.txt", "the Anna film\nCity Bank was very good\n");
        string output = Ok("predict", "--model", dir, "--input", input);
        // CoNLL lines, a blank line after each sentence; the tags are the model's (the tiny model need not be perfect).
        var sentences = output.Replace("\r", "").Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, sentences.Length);
        Assert.EndsWith("\n\n", output);
        var second = sentences[1].Split('\n').Select(l => l.Split('\t')).ToArray();
        Assert.Equal(["City", "Bank", "was", "very", "good"], second.Select(c => c[0]));
        Assert.All(second, c => Assert.Contains(c[1], new[] { "O", "B-PER", "B-ORG", "I-ORG" }));
        Assert.Equal(["B-ORG", "I-ORG"], second.Take(2).Select(c => c[1]));
    }

    [Fact]
    public void TagEvalOnTagsThatAreNotBioGivesTokenAccuracyOnly()
    {
        string train = _f.Write("pos.conll", "the\tDET\nfilm\tNOUN\n\na\tDET\nplot\tNOUN\nwas\tVERB\n\n");
        string dir = _f.Path("pos");
        var trained = JsonDocument.Parse(Ok(["train", "--task", "tag", "--train", train, "--dev", train, "--out", dir, "--steps", "3", "--json", .. WordTaskFixture.TinyTag])).RootElement;
        Assert.Equal(JsonValueKind.Null, trained.GetProperty("dev_f1").ValueKind);
        Assert.InRange(trained.GetProperty("dev_token_accuracy").GetDouble(), 0, 1);
        var eval = JsonDocument.Parse(Ok("eval", "--model", dir, "--data", train, "--json")).RootElement;
        Assert.Equal(JsonValueKind.Null, eval.GetProperty("f1").ValueKind);
        Assert.Equal(JsonValueKind.Null, eval.GetProperty("per_type").ValueKind);
        Assert.InRange(eval.GetProperty("token_accuracy").GetDouble(), 0, 1);
        Assert.Contains("dev_token_accuracy", File.ReadAllText(Path.Combine(dir, "log.jsonl")));
    }

    [Theory]
    [InlineData("classify", new string[0])]
    [InlineData("tag", new string[0])]
    [InlineData("tag", new[] { "--crf", "--layers", "2", "--dropout", "0.3" })]
    public void TrainingInTwoRunsEqualsOneRun(string task, string[] extra)
    {
        // 9 steps straight, or 4 then --resume to 9 (dropout, word dropout and the batch order all continue exactly).
        string[] common = ["--eval-every", "3", "--word-dropout", "0.3", .. extra];
        string whole = Train(task, "whole", ["--steps", "9", .. common]);
        string half = Train(task, "half", ["--steps", "4", .. common]);
        Ok("train", "--resume", half, "--steps", "9", "--json");
        var a = SafeTensorsFile.Read(Path.Combine(whole, "weights.safetensors"));
        var b = SafeTensorsFile.Read(Path.Combine(half, "weights.safetensors"));
        Assert.Equal(a.Names, b.Names);
        foreach (string name in a.Names) Assert.Equal(a.Float(name).Data, b.Float(name).Data);
    }

    [Fact]
    public void ResumingWithAChangedModelFlagOrOtherDataIsRefused()
    {
        string dir = Train("classify", "m", "--steps", "2");
        var (code, _, error) = Run("train", "--resume", dir, "--hidden", "9");
        Assert.Equal(2, code);
        Assert.Contains("--hidden cannot change when resuming", error);
        (code, _, error) = Run("train", "--resume", dir, "--train", _f.ClassifyDev, "--steps", "4");
        Assert.Equal(1, code);
        Assert.Contains("is not the file the model", error);
        (code, _, error) = Run("train", "--task", "tag", "--resume", dir);
        Assert.Contains("holds a 'classify' model", error);
    }

    [Fact]
    public void PretrainedVectorsStartTheEmbeddingAndCanBeFrozen()
    {
        string vectors = _f.Write("vectors.txt", "good 1 2 3 4 5 6 7 8\nbad -1 -2 -3 -4 -5 -6 -7 -8\nunseenword 9 9 9 9 9 9 9 9\n");
        string dir = Train("classify", "v", "--steps", "5", "--embeddings", vectors, "--freeze-embeddings");
        var weights = SafeTensorsFile.Read(Path.Combine(dir, "weights.safetensors"));
        var (config, _) = Recurrent.Training.Checkpoint.LoadWordConfig(dir);
        var embedding = weights.Float("embedding.weight");
        int good = config.Vocabulary.Id("good");
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8], embedding.Data.AsSpan(good * 8, 8).ToArray()); // frozen: unchanged by 5 steps

        string wrong = _f.Write("wrong.txt", "good 1 2 3\n");
        var (code, _, error) = Run(["train", "--task", "classify", "--train", _f.ClassifyTrain, "--out", _f.Path("w"), "--steps", "1",
            "--embeddings", wrong, .. WordTaskFixture.TinyClassify]);
        Assert.Equal(1, code);
        Assert.Contains($"{wrong}:1", error);
        Assert.False(File.Exists(Path.Combine(_f.Path("w"), "config.json")));
    }

    [Theory]
    [InlineData("classify", "bad.tsv", "pos the film\n", "bad.tsv:1")]
    [InlineData("classify", "bad.tsv", "pos\tthe film\n\tno label\n", "bad.tsv:2")]
    [InlineData("tag", "bad.conll", "the\tO\nfilm\n", "bad.conll:2")]
    [InlineData("classify", "empty.tsv", "", "empty.tsv")]
    public void BadTrainingDataIsAOneLineErrorNamingTheLine(string task, string name, string text, string where)
    {
        string file = _f.Write(name, text);
        string outDir = _f.Path("out-" + name);
        var (code, _, error) = Run("train", "--task", task, "--train", file, "--out", outDir, "--steps", "1");
        Assert.Equal(1, code);
        Assert.Contains(where, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void LabelsTheModelNeverSawAreErrorsNamingTheLine()
    {
        string dir = Train("classify", "m", "--steps", "2");
        string odd = _f.Write("odd.tsv", "pos\tgood film\nneutral\tthe film\n");
        var (code, _, error) = Run("eval", "--model", dir, "--data", odd);
        Assert.Equal(1, code);
        Assert.Contains("odd.tsv:2: label 'neutral'", error);
        var before = Snapshot(_f.Dir);
        (code, _, error) = Run(["train", "--task", "classify", "--train", _f.ClassifyTrain, "--dev", odd, "--out", _f.Path("n"), "--steps", "1"]);
        Assert.Equal(1, code);
        Assert.Contains("odd.tsv:2", error);
        Assert.Equal(before.Keys, Snapshot(_f.Dir).Keys);
    }

    [Fact]
    public void PredictRejectsAnEmptyLine()
    {
        string dir = Train("tag", "m", "--steps", "2");
        string input = _f.Write("in.txt", "the film\n\nAnna\n");
        var (code, output, error) = Run("predict", "--model", dir, "--input", input);
        Assert.Equal(1, code);
        Assert.Contains("in.txt:2: empty line", error);
        Assert.Equal("", output);
    }
}

[Collection("Gemm.Threads")]
public class BenchTasksCommandTests
{
    [Fact]
    public void MeasuresEveryTaskRowAsJson()
    {
        var report = JsonDocument.Parse(Ok("bench", "tasks", "--threads", "1", "--min-seconds", "0", "--min-steps", "6", "--json")).RootElement;
        var rows = report.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["train_classify", "train_tag_crf", "train_translate"], rows.Select(r => r.GetProperty("name").GetString()));
        foreach (var row in rows)
        {
            Assert.True(row.GetProperty("per_second").GetDouble() > 0);
            Assert.Equal(6, row.GetProperty("steps").GetInt32()); // no time floor: exactly the steps asked for
            Assert.Equal(row.GetProperty("name").GetString() == "train_translate" ? "target tokens" : "words", row.GetProperty("unit").GetString());
            Assert.Equal(row.GetProperty("batch").GetInt32() * row.GetProperty("seq_len").GetInt32() / (row.GetProperty("ms_per_step").GetDouble() / 1e3),
                row.GetProperty("per_second").GetDouble(), 0.02 * row.GetProperty("per_second").GetDouble());
        }
    }
}
