using System.Text.Json;
using System.Xml.Linq;
using Recurrent.Data;
using Recurrent.Models;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

public class NgramCommandTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static JsonElement Json(params string[] args)
    {
        using var doc = JsonDocument.Parse(CharLmFixture.Ok([.. args, "--json"]));
        return doc.RootElement.Clone();
    }

    [Fact]
    public void TrainCountsOnTheCharLmSplitAndEvalAndSampleReadTheModel()
    {
        string dir = _f.Path("ng");
        var r = Json("train", "--task", "ngram", "--order", "3", "--data", _f.Data, "--out", dir);
        // The char-LM's split of the same text: the model counted on the first 90%, scored on the last 10%.
        var corpus = CharCorpus.Load(_f.Data, 0.1);
        var direct = NgramLanguageModel.Build(corpus.Train.Span, corpus.Vocabulary, 3);
        double val = direct.MeanLoss(corpus.Validation.Span);
        Assert.Equal("ngram", r.GetProperty("task").GetString());
        Assert.Equal(3, r.GetProperty("order").GetInt32());
        Assert.Equal(val, r.GetProperty("val_loss").GetDouble(), 12);
        Assert.Equal(val / Math.Log(2), r.GetProperty("val_bits_per_char").GetDouble(), 12);
        Assert.Equal(direct.NgramCount, r.GetProperty("ngrams").GetInt64());
        Assert.Equal(corpus.TrainLength, r.GetProperty("train_characters").GetInt32());
        Assert.Equal(new FileInfo(Path.Combine(dir, NgramCheckpoint.CountsFile)).Length, r.GetProperty("bytes").GetInt64());
        Assert.Equal("ngram", Checkpoint.ReadTask(dir));
        Assert.Contains("val loss", CharLmFixture.Ok("train", "--task", "ngram", "--data", _f.Data, "--out", _f.Path("ng7")));

        // eval: the validation split by default, or a whole text.
        var e = Json("eval", "--model", dir);
        Assert.Equal(val, e.GetProperty("loss").GetDouble(), 12);
        Assert.Equal(corpus.Validation.Length - 1, e.GetProperty("characters").GetInt32());
        Assert.Equal(Math.Exp(val), e.GetProperty("perplexity").GetDouble(), 9);
        var whole = Json("eval", "--model", dir, "--data", _f.Data);
        Assert.Equal(direct.MeanLoss(corpus.Tokens), whole.GetProperty("loss").GetDouble(), 12);
        Assert.Contains("bits/char", CharLmFixture.Ok("eval", "--model", dir));

        // sample: seeded, the requested length, only the vocabulary's characters.
        var s = Json("sample", "--model", dir, "--prime", "First", "--length", "60", "--seed", "4");
        string text = s.GetProperty("text").GetString()!;
        Assert.Equal(60, text.EnumerateRunes().Count());
        corpus.Vocabulary.Encode(text);
        Assert.Equal(text, Json("sample", "--model", dir, "--prime", "First", "--length", "60", "--seed", "4").GetProperty("text").GetString());
        Assert.StartsWith("First", CharLmFixture.Ok("sample", "--model", dir, "--prime", "First", "--length", "10"));
    }

    [Fact]
    public void MistakesAreOneLineErrorsAndWriteNothing()
    {
        string dir = _f.Path("ng");
        CharLmFixture.Ok("train", "--task", "ngram", "--order", "2", "--data", _f.Data, "--out", dir);
        var before = CharLmFixture.Snapshot(dir);
        void Fails(string expected, params string[] args)
        {
            var (code, _, error) = CharLmFixture.Run(args);
            Assert.NotEqual(0, code);
            Assert.Contains(expected, error);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
        }
        Fails("nothing to resume", "train", "--resume", dir);
        Fails("already holds a model", "train", "--task", "ngram", "--data", _f.Data, "--out", dir);
        Fails("--order", "train", "--task", "ngram", "--order", "0", "--data", _f.Data, "--out", _f.Path("x"));
        Fails("unknown option", "train", "--task", "ngram", "--hidden", "3", "--data", _f.Data, "--out", _f.Path("x"));
        Fails("--prime", "sample", "--model", dir, "--prime", "");
        Assert.Equal(before.Keys, CharLmFixture.Snapshot(dir).Keys);
        Assert.All(before, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
        Assert.False(Directory.Exists(_f.Path("x")));
        // The text the model was counted on changed: its validation split is gone.
        File.AppendAllText(_f.Data, "more");
        Fails("SHA-256", "eval", "--model", dir);
    }

    [Fact]
    public void AnalyzeNgramTablesEveryOrderMarksTheBestAndDrawsTheLstmBesideIt()
    {
        string svg = _f.Path("orders.svg");
        var r = Json("analyze", "ngram", "--orders", "1-4", "--data", _f.Data, "--out", svg);
        var orders = r.GetProperty("orders").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3, 4], orders.Select(o => o.GetProperty("order").GetInt32()));
        var corpus = CharCorpus.Load(_f.Data, 0.1);
        foreach (var o in orders)
        {
            int k = o.GetProperty("order").GetInt32();
            double val = NgramLanguageModel.Build(corpus.Train.Span, corpus.Vocabulary, k).MeanLoss(corpus.Validation.Span);
            Assert.Equal(val, o.GetProperty("val_nats_per_char").GetDouble(), 12);
            Assert.True(o.GetProperty("ngrams").GetInt64() > 0 && o.GetProperty("bytes").GetInt64() > 0);
        }
        double best = orders.Min(o => o.GetProperty("val_nats_per_char").GetDouble());
        Assert.Equal(best, r.GetProperty("best_val_nats_per_char").GetDouble());
        Assert.Equal(best, orders.Single(o => o.GetProperty("order").GetInt32() == r.GetProperty("best_order").GetInt32())
            .GetProperty("val_nats_per_char").GetDouble());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("lstm_val_nats_per_char").ValueKind);
        Assert.Equal("svg", XDocument.Parse(File.ReadAllText(svg)).Root!.Name.LocalName);

        // With a trained char-LM: its validation loss on the same split, as training computes it.
        string lstm = _f.Train("lstm", "--steps", "20");
        var l = Json("analyze", "ngram", "--orders", "2,3", "--lstm", lstm, "--out", svg);
        var (dirUsed, _) = ModelDirectory.ForInference(lstm, last: false);
        var model = Checkpoint.LoadModel(dirUsed);
        var settings = Checkpoint.LoadConfig(dirUsed).Training!;
        double expected = Evaluator.MeanLoss(model, CharCorpus.Load(_f.Data, 0.1, model.Config.Vocabulary).Validation, settings.Batch, settings.SeqLen);
        Assert.Equal(expected, l.GetProperty("lstm_val_nats_per_char").GetDouble(), 9);
        Assert.Equal(l.GetProperty("best_val_nats_per_char").GetDouble() - expected, l.GetProperty("lstm_margin_nats_per_char").GetDouble(), 9);
        Assert.Contains("LSTM", File.ReadAllText(svg));
        string table = CharLmFixture.Ok("analyze", "ngram", "--orders", "2,3", "--lstm", lstm, "--out", svg);
        Assert.Contains("← best", table);
        Assert.Contains(l.GetProperty("lstm_margin_nats_per_char").GetDouble() > 0 ? "below the best n-gram" : "above the best n-gram", table);

        // Another text than the LSTM's has another validation split: refused.
        string other = _f.Write("other.txt", CharLmFixture.Text + "First Citizen:\n");
        var (code, _, error) = CharLmFixture.Run("analyze", "ngram", "--lstm", lstm, "--data", other, "--out", svg);
        Assert.Equal(1, code);
        Assert.Contains("SHA-256", error);
        Assert.Equal(2, CharLmFixture.Run("analyze", "ngram", "--orders", "3-1", "--out", svg).Code);
    }

    [Theory]
    [InlineData("train", "--task", "ngram")]
    [InlineData("analyze", "ngram")]
    public void HelpIsTheSameByEveryRoute(params string[] command)
    {
        var (code, output, error) = CharLmFixture.Run([.. command, "--help"]);
        Assert.Equal((0, ""), (code, error));
        Assert.StartsWith($"usage: recurrent {command[0]}", output);
        Assert.Contains(command[^1] == "ngram" && command[0] == "train" ? "--order" : "--orders", output);
        Assert.EndsWith("\n", output);
        Assert.False(output.EndsWith("\n\n", StringComparison.Ordinal));
        Assert.Equal((0, output, ""), CharLmFixture.Run([.. command, "-h"]));
        Assert.Equal((0, output, ""), CharLmFixture.Run(["help", .. command]));
    }
}
