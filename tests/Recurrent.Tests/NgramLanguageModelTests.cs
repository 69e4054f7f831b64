using Recurrent.Data;
using Recurrent.IO;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

public class NgramLanguageModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ngram").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static (NgramLanguageModel Model, int[] Tokens) Build(string text, int order)
    {
        var vocabulary = Vocabulary.FromText(text);
        int[] tokens = vocabulary.Encode(text);
        return (NgramLanguageModel.Build(tokens, vocabulary, order), tokens);
    }

    private static int[] Ids(NgramLanguageModel m, string s) => m.Vocabulary.Encode(s);

    [Fact]
    public void DiscountsFollowChenAndGoodman()
    {
        // n = (10, 4, 2, 1): Y = 10/18, D1 = Y, D2 = 2 − 3Y·2/4, D3+ = 3 − 4Y·1/2.
        var d = KneserNeyDiscounts.FromCountOfCounts(10, 4, 2, 1);
        double y = 10.0 / 18;
        Assert.Equal(y, d.D1, 12);
        Assert.Equal(2 - 3 * y * 2 / 4, d.D2, 12);
        Assert.Equal(3 - 4 * y * 1 / 2, d.D3Plus, 12);
        Assert.Equal(d, KneserNeyDiscounts.FromCounts([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 7, 9]));
        // A count-of-count of 0 leaves its term out; the result stays in [floor, r].
        var empty = KneserNeyDiscounts.FromCountOfCounts(4, 3, 0, 0);
        Assert.Equal(0.4, empty.D1, 12);
        Assert.Equal((2.0, 3.0), (empty.D2, empty.D3Plus));
        var steep = KneserNeyDiscounts.FromCountOfCounts(1, 1, 100, 0); // D2 = 2 − 3·(1/3)·100 < 0
        Assert.Equal(KneserNeyDiscounts.Floor, steep.D2);
        Assert.Throws<ArgumentException>(() => KneserNeyDiscounts.FromCountOfCounts(-1, 0, 0, 0));
    }

    [Fact]
    public void CountsOfATinyTextAreRawAtTheTopAndContinuationsBelow()
    {
        var (m, _) = Build("abracadabra", 2); // ids: a0 b1 c2 d3 r4
        // Order 2 (the top): raw bigram counts ab 2, br 2, ra 2, ac 1, ca 1, ad 1, da 1.
        var top = m.Counts(2);
        Assert.Equal(7, top.Count);
        Assert.Equal(2, top[m.Key(Ids(m, "ab"))]);
        Assert.Equal(2, top[m.Key(Ids(m, "ra"))]);
        Assert.Equal(1, top[m.Key(Ids(m, "da"))]);
        // Order 1: how many distinct characters precede each: a after r, c, d → 3; the others 1 each.
        var one = m.Counts(1);
        Assert.Equal(3, one[m.Key(Ids(m, "a"))]);
        foreach (string c in new[] { "b", "c", "d", "r" }) Assert.Equal(1, one[m.Key(Ids(m, c))]);
        Assert.Equal(12, m.NgramCount);
    }

    [Fact]
    public void ProbabilitiesOfATinyTextMatchAHandComputation()
    {
        var (m, _) = Build("abracadabra", 2);
        // Order 1 continuation counts (3, 1, 1, 1, 1): n1 = 4, n3 = 1 → Y = 1, D1 = 1, D3+ = 3: everything is
        // discounted away, γ = 1, P1 = 1/5. Order 2 after 'a' (ab 2, ac 1, ad 1; n = (4, 3, 0, 0) → D1 = 0.4, D2 = 2):
        // γ = (0.4 + 0.4 + 2)/4 = 0.7; P(c|a) = (1 − 0.4)/4 + 0.7·0.2 = 0.29, P(b|a) = 0 + 0.14.
        Assert.Equal(0.14, m.Probability(Ids(m, "a"), Ids(m, "b")[0]), 12);
        Assert.Equal(0.29, m.Probability(Ids(m, "a"), Ids(m, "c")[0]), 12);
        Assert.Equal(0.14, m.Probability(Ids(m, "a"), Ids(m, "r")[0]), 12);
        // With no character before it, order 2 has no context: P1.
        Assert.Equal(0.2, m.Probability([], Ids(m, "a")[0]), 12);

        // Order 1 is the smoothed unigram: raw counts a 5, b 2, r 2, c 1, d 1 of 11 → n = (2, 2, 0, 0), Y = 1/3,
        // D1 = 1/3, D2 = 2, D3+ = 3; γ = (2/3 + 4 + 3)/11 = 23/33; P(a) = 2/11 + γ/5, P(b) = γ/5, P(c) = (2/3)/11 + γ/5.
        var (u, _) = Build("abracadabra", 1);
        Assert.Equal(53.0 / 165, u.Probability([], 0), 12);
        Assert.Equal(23.0 / 165, u.Probability(Ids(u, "r"), 1), 12); // the context does not matter to order 1
        Assert.Equal(33.0 / 165, u.Probability([], 2), 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    public void EveryContextsDistributionSumsToOneAndIsPositive(int order)
    {
        var (m, tokens) = Build(CharLmFixture.Text, order);
        var p = new double[m.VocabSize];
        var contexts = new List<int[]> { Array.Empty<int>(), tokens[..1], tokens[3..9], tokens[40..47], tokens[^7..], Ids(m, "zzzz"), Ids(m, "Speak") };
        var rng = new Rng(3);
        for (int i = 0; i < 10; i++) contexts.Add(Enumerable.Range(0, rng.NextInt(9)).Select(_ => rng.NextInt(m.VocabSize)).ToArray());
        foreach (int[] context in contexts)
        {
            m.Distribution(context, p);
            Assert.Equal(1.0, p.Sum(), 12);
            Assert.All(p, x => Assert.True(x > 0));
            for (int w = 0; w < p.Length; w++) Assert.Equal(p[w], m.Probability(context, w), 14);
        }
    }

    [Fact]
    public void MeanLossIsTheMeanOfMinusLogProbabilityOfEachNextCharacter()
    {
        var (m, tokens) = Build(CharLmFixture.Text, 4);
        int[] text = tokens[10..60];
        double sum = 0;
        for (int i = 1; i < text.Length; i++) sum -= Math.Log(m.Probability(text[Math.Max(0, i - 3)..i], text[i]));
        Assert.Equal(sum / (text.Length - 1), m.MeanLoss(text), 12);
        // On its own training text a higher order predicts better.
        Assert.True(m.MeanLoss(tokens) < Build(CharLmFixture.Text, 2).Model.MeanLoss(tokens));
        Assert.Throws<InvalidDataException>(() => m.MeanLoss(tokens[..1]));
    }

    [Fact]
    public void AnOrderWhoseKeysDoNotFitSixtyFourBitsIsRefused()
    {
        string wide = new string(Enumerable.Range(0, 300).Select(i => (char)(0x100 + i)).ToArray());
        var e = Assert.Throws<ArgumentException>(() => Build(wide, 8));
        Assert.Contains("order 8", e.Message);
        Build(wide, 7);
        Assert.Throws<ArgumentException>(() => Build("abc", 0));
    }

    [Fact]
    public void GenerationDrawsOnlyCharactersOfTheVocabularyAndIsSeeded()
    {
        var (m, _) = Build(CharLmFixture.Text, 5);
        string Draw(ulong seed)
        {
            var sb = new System.Text.StringBuilder();
            m.Generate(Ids(m, "First"), 80, new TokenSampler(m.VocabSize, 0.8f, 0), new Rng(seed), s => sb.Append(s));
            return sb.ToString();
        }
        string a = Draw(1);
        Assert.Equal(80, a.Length);
        Assert.Equal(a, Draw(1));
        Assert.NotEqual(a, Draw(2));
        // Greedy from "First Citize" continues the training text.
        var greedy = new System.Text.StringBuilder();
        m.Generate(Ids(m, "First Citize"), 1, new TokenSampler(m.VocabSize, 0, 0), new Rng(1), s => greedy.Append(s));
        Assert.Equal("n", greedy.ToString());
    }

    [Fact]
    public void ASavedModelLoadsWithTheSameProbabilities()
    {
        var (m, tokens) = Build(CharLmFixture.Text, 6);
        var data = new NgramTrainingData("/x/text.txt", "00", 0.1, tokens.Length);
        NgramCheckpoint.Save(_dir, m, data);
        Assert.Equal(NgramLanguageModel.Task, Checkpoint.ReadTask(_dir));
        var (loaded, loadedData) = NgramCheckpoint.Load(_dir);
        Assert.Equal(data, loadedData);
        Assert.Equal(m.Order, loaded.Order);
        Assert.Equal(m.Discounts, loaded.Discounts);
        Assert.Equal(m.MeanLoss(tokens), loaded.MeanLoss(tokens), 12);
        // Compact: a few bytes per n-gram.
        Assert.True(new FileInfo(Path.Combine(_dir, NgramCheckpoint.CountsFile)).Length < 5 * m.NgramCount + 100);
    }

    [Fact]
    public void ADamagedCountsFileOrConfigIsAOneLineError()
    {
        var (m, tokens) = Build(CharLmFixture.Text, 3);
        NgramCheckpoint.Save(_dir, m, new NgramTrainingData("/x", "00", 0.1, tokens.Length));
        string counts = Path.Combine(_dir, NgramCheckpoint.CountsFile), config = Path.Combine(_dir, Checkpoint.ConfigFile);
        byte[] good = File.ReadAllBytes(counts);
        string goodConfig = File.ReadAllText(config);

        string Error()
        {
            var e = Assert.Throws<InvalidDataException>(() => NgramCheckpoint.Load(_dir));
            Assert.DoesNotContain("\n", e.Message);
            return e.Message;
        }
        byte[] flipped = (byte[])good.Clone();
        flipped[30] ^= 1;
        File.WriteAllBytes(counts, flipped);
        Assert.Contains("SHA-256", Error());
        File.WriteAllBytes(counts, good[..^40]);
        Assert.Contains("counts.bin", Error());
        File.WriteAllBytes(counts, good[..10]);
        Assert.Contains("too short", Error());
        File.WriteAllBytes(counts, NgramCountsFile.Encode([m.Counts(1), m.Counts(2)], m.VocabSize)); // order 2, config says 3
        Assert.Contains("order 2", Error());
        File.Delete(counts);
        Assert.Contains("not found", Error());

        File.WriteAllBytes(counts, good);
        string d1 = m.Discounts[1].D1.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(d1, goodConfig);
        File.WriteAllText(config, goodConfig.Replace(d1, "0.123"));
        Assert.Contains("discounts of order", Error());
        File.WriteAllText(config, goodConfig.Replace("\"order\": 3", "\"order\": 4"));
        Assert.Contains("order 3 over", Error());
        File.WriteAllText(config, goodConfig);
        NgramCheckpoint.Load(_dir);
    }

    [Fact]
    public void TheCountsCodecRejectsKeysOutOfOrderOrRange()
    {
        var level = new Dictionary<ulong, int> { [0] = 2, [4] = 1 };
        byte[] ok = NgramCountsFile.Encode([level], 5);
        Assert.Equal(level, NgramCountsFile.Decode(ok, 1, 5, "t")[0]);
        var e = Assert.Throws<InvalidDataException>(() => NgramCountsFile.Decode(NgramCountsFile.Encode([level], 4), 1, 4, "t"));
        Assert.Contains("not below 4^1", e.Message);
        Assert.Throws<InvalidDataException>(() => NgramCountsFile.Decode(ok, 1, 6, "t"));
    }
}
