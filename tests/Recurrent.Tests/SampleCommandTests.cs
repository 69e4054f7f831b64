using System.Text.Json;
using Recurrent.Models;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class SampleCommandTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public void GreedySamplingWithAPrimeIsDeterministic()
    {
        string dir = _f.Train("m", "--steps", "40");
        string a = CharLmFixture.Ok("sample", "--model", dir, "--prime", "First", "--length", "50", "--temperature", "0", "--seed", "1");
        string b = CharLmFixture.Ok("sample", "--model", dir, "--prime", "First", "--length", "50", "--temperature", "0", "--seed", "99");
        Assert.Equal(a, b); // greedy: the seed plays no part
        Assert.StartsWith("First", a);
        Assert.Equal("First".Length + 50 + 1, a.Length); // prime, 50 characters, final newline

        // The same continuation computed directly: argmax after each character, state carried.
        var model = Training.Checkpoint.LoadModel(dir);
        var vocabulary = model.Config.Vocabulary;
        var state = model.NewState(1);
        var logits = model.Forward(vocabulary.Encode("First"), 5, 1, state);
        var expected = new System.Text.StringBuilder("First");
        for (int i = 0; i < 50; i++)
        {
            var last = logits.Span[^vocabulary.Count..];
            int next = 0;
            for (int v = 1; v < last.Length; v++) if (last[v] > last[next]) next = v;
            expected.Append(vocabulary.Symbol(next));
            logits = model.Forward([next], 1, 1, state);
        }
        Assert.Equal(expected + "\n", a);
    }

    [Fact]
    public void SeededSamplingRepeats_AndJsonHasTheText()
    {
        string dir = _f.Train("m", "--steps", "10");
        string[] args = ["sample", "--model", dir, "--length", "80", "--temperature", "1", "--top-k", "5"];
        Assert.Equal(CharLmFixture.Ok([.. args, "--seed", "3"]), CharLmFixture.Ok([.. args, "--seed", "3"]));
        Assert.NotEqual(CharLmFixture.Ok([.. args, "--seed", "3"]), CharLmFixture.Ok([.. args, "--seed", "4"]));
        using var doc = JsonDocument.Parse(CharLmFixture.Ok([.. args, "--seed", "3", "--json"]));
        Assert.Equal(80, new System.Globalization.StringInfo(doc.RootElement.GetProperty("text").GetString()!).LengthInTextElements);
        Assert.Equal("\n" + doc.RootElement.GetProperty("text").GetString() + "\n", CharLmFixture.Ok([.. args, "--seed", "3"]));
    }

    [Fact]
    public void CharactersAreStreamedAsTheyAreDrawn()
    {
        string dir = _f.Train("m", "--steps", "2");
        var writes = new CountingWriter();
        Assert.Equal(0, Cli.Cli.Run(["sample", "--model", dir, "--length", "30", "--prime", "A"], writes, new StringWriter()));
        Assert.True(writes.Writes >= 31, $"{writes.Writes} writes");
    }

    private sealed class CountingWriter : StringWriter
    {
        public int Writes;
        public override void Write(string? value) { Writes++; base.Write(value); }
    }

    [Fact]
    public void BadInputsAreOneLineErrors()
    {
        string dir = _f.Train("m", "--steps", "2");
        var (code, _, error) = CharLmFixture.Run("sample", "--model", dir, "--prime", "Zebra");
        Assert.Equal(1, code);
        Assert.Contains("character 'Z' (U+005A) at line 1, column 1 of --prime is not in the model's vocabulary", error);
        (code, _, error) = CharLmFixture.Run("sample");
        Assert.Equal(2, code);
        Assert.Contains("--model DIR is required", error);
        (code, _, error) = CharLmFixture.Run("sample", "--model", dir, "--temperature", "-1");
        Assert.Equal(2, code);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"format\": \"recurrent-model\", \"format_version\": 1, \"task\": \"char-lm\", \"cell\": \"lstm\"");
        (code, _, error) = CharLmFixture.Run("sample", "--model", dir);
        Assert.Equal(1, code);
        Assert.Contains("config.json", error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void TokenSamplerIsGreedyAtZero_RespectsTopK_AndFollowsTheSoftmax()
    {
        float[] logits = [0.5f, 2f, 1f, 2f, -1f];
        var rng = new Rng(1);
        Assert.Equal(1, new TokenSampler(5, 0, 0).Next(logits, rng)); // ties: the lowest id
        var top2 = new TokenSampler(5, 1, 2);
        for (int i = 0; i < 200; i++) Assert.Contains(top2.Next(logits, rng), new[] { 1, 3 });

        // At temperature T the frequencies approach softmax(logits / T).
        foreach (float temperature in new[] { 1f, 0.5f })
        {
            var sampler = new TokenSampler(5, temperature, 0);
            var counts = new int[5];
            const int n = 40_000;
            for (int i = 0; i < n; i++) counts[sampler.Next(logits, rng)]++;
            double z = logits.Sum(l => Math.Exp(l / temperature));
            for (int v = 0; v < 5; v++)
                Assert.InRange(counts[v] / (double)n, Math.Exp(logits[v] / temperature) / z - 0.01, Math.Exp(logits[v] / temperature) / z + 0.01);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(5, -1, 0));
    }
}
