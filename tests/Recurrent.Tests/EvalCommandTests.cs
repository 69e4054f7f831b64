using System.Text.Json;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

public class EvalCommandTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static JsonElement Eval(params string[] args)
    {
        using var doc = JsonDocument.Parse(CharLmFixture.Ok(["eval", .. args, "--json"]));
        return doc.RootElement.Clone();
    }

    [Fact]
    public void LossBitsAndPerplexityAreConsistent_AndMatchADirectComputation()
    {
        string dir = _f.Train("m", "--steps", "30");
        var r = Eval("--model", dir, "--data", _f.Data, "--batch", "1");
        double loss = r.GetProperty("loss").GetDouble();
        Assert.Equal(loss / Math.Log(2), r.GetProperty("bits_per_char").GetDouble(), 9);
        Assert.Equal(Math.Exp(loss), r.GetProperty("perplexity").GetDouble(), 9);
        Assert.Equal(CharLmFixture.Text.Length - 1, r.GetProperty("characters").GetInt32());

        // One stream through the whole text is one forward pass over it: the mean of −log p(next) at every position.
        var model = Checkpoint.LoadModel(dir);
        int[] tokens = model.Config.Vocabulary.Encode(CharLmFixture.Text);
        int n = tokens.Length - 1;
        var logits = model.Forward(tokens[..n], n, 1);
        int V = model.Config.VocabSize;
        double sum = 0;
        for (int t = 0; t < n; t++)
        {
            var row = logits.Data.AsSpan(t * V, V);
            double max = double.NegativeInfinity, z = 0;
            foreach (float x in row) max = Math.Max(max, x);
            foreach (float x in row) z += Math.Exp(x - max);
            sum += max + Math.Log(z) - row[tokens[t + 1]];
        }
        Assert.Equal(sum / n, loss, 5);

        // Carrying the state makes the chunk length irrelevant.
        Assert.Equal(loss, Eval("--model", dir, "--data", _f.Data, "--batch", "1", "--seq-len", "7").GetProperty("loss").GetDouble(), 5);
        // Streams restart from zero state: a different but close number.
        double streams = Eval("--model", dir, "--data", _f.Data, "--batch", "4").GetProperty("loss").GetDouble();
        Assert.InRange(streams, loss - 0.2, loss + 0.2);
        string text = CharLmFixture.Ok("eval", "--model", dir, "--data", _f.Data);
        Assert.Contains("bits/char", text);
        Assert.Contains("perplexity", text);
    }

    [Fact]
    public void AnUnknownCharacterIsNamedWithItsLineAndColumn()
    {
        string dir = _f.Train("m", "--steps", "2");
        string data = _f.Write("other.txt", "First Citizen:\nYou are all resolved: Zounds!\n");
        var (code, output, error) = CharLmFixture.Run("eval", "--model", dir, "--data", data);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal($"recurrent eval: character 'Z' (U+005A) at line 2, column 23 of '{data}' is not in the model's vocabulary\n", error);
    }

    [Fact]
    public void MissingOrBadFilesAreOneLineErrors()
    {
        string dir = _f.Train("m", "--steps", "2");
        foreach (var (args, message) in new (string[], string)[]
        {
            (["--model", dir, "--data", _f.Path("nope.txt")], "not found"),
            (["--model", dir, "--data", _f.WriteBytes("bin", [1, 0, 2])], "binary"),
            (["--model", _f.Path("nodir"), "--data", _f.Data], "not found"),
            (["--model", dir], "--data FILE is required"),
        })
        {
            var (code, _, error) = CharLmFixture.Run(["eval", .. args]);
            Assert.NotEqual(0, code);
            Assert.Contains(message, error);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
        }
        File.Delete(Path.Combine(dir, "weights.safetensors"));
        var (c, _, e) = CharLmFixture.Run("eval", "--model", dir, "--data", _f.Data);
        Assert.Equal(1, c);
        Assert.Contains("has config.json but no weights.safetensors", e);
    }
}
