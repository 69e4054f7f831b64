using Recurrent.Analysis;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class CellCorrelationsTests
{
    [Fact]
    public void PearsonMatchesTheTextbookFormula_AndIsNaNForAConstant()
    {
        float[] x = [1, 2, 3, 4, 6], y = [2, 1, 4, 3, 7];
        double mx = x.Average(v => (double)v), my = y.Average(v => (double)v);
        double sxy = x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my));
        double sxx = x.Sum(v => (v - mx) * (v - mx)), syy = y.Sum(v => (v - my) * (v - my));
        Assert.Equal(sxy / Math.Sqrt(sxx * syy), CellCorrelations.Pearson(x, y), 12);
        Assert.Equal(1, CellCorrelations.Pearson(x, x.Select(v => 3 * v - 1).ToArray()), 12);
        Assert.Equal(-1, CellCorrelations.Pearson(x, x.Select(v => -0.5f * v).ToArray()), 12);
        Assert.True(double.IsNaN(CellCorrelations.Pearson(x, [5, 5, 5, 5, 5])));
        Assert.Throws<ArgumentException>(() => CellCorrelations.Pearson(x, y.AsSpan(1)));
    }

    [Fact]
    public void EachFeatureGetsTheUnitWithTheLargestAbsoluteCorrelation()
    {
        // A prose text with a newline every 7 characters: line position rises and falls, nothing else but the speaker
        // line (the first line ends with ':') varies.
        string text = string.Concat(Enumerable.Repeat("abc de\n", 10)).Insert(0, "Who:\n");
        var features = TextFeatures.Compute(text);
        int N = features.Length, layers = 2, hidden = 3;
        var rng = new Rng(3);
        var values = new float[layers * hidden * N];
        for (int i = 0; i < values.Length; i++) values[i] = rng.Uniform(-1, 1);          // noise everywhere
        var position = features.Feature("line position");
        var speaker = features.Feature("speaker line");
        for (int t = 0; t < N; t++)
        {
            values[4 * N + t] = -0.1f * position[t] + 0.3f;                                // 1:1 anti-tracks position exactly
            values[2 * N + t] = 0.1f * position[t] + 0.05f * rng.Uniform(-1, 1);           // 0:2 tracks it, noisily
            values[5 * N + t] = 0.7f;                                                       // 1:2 is constant
            values[1 * N + t] = speaker[t] + 0.2f * rng.Uniform(-1, 1);                    // 0:1 tracks the speaker line
        }
        var activations = new CellActivations(layers, hidden, N, "h", bounded: true, values);
        var best = CellCorrelations.Best(activations, features);

        Assert.Equal(TextFeatures.Names.Length, best.Length);
        var line = best[Array.IndexOf(TextFeatures.Names, "line position")]!.Value;
        Assert.Equal(("line position", 4, "1:1"), (line.Feature, line.Unit, line.Cell));
        Assert.Equal(-1, line.Correlation, 6);
        Assert.Equal(CellCorrelations.Pearson(activations.Unit(4), position), line.Correlation, 12);

        var who = best[Array.IndexOf(TextFeatures.Names, "speaker line")]!.Value;
        Assert.Equal("0:1", who.Cell);
        Assert.InRange(who.Correlation, 0.8, 1);
        // Every unit's r is at most the winner's.
        for (int u = 0; u < activations.Units; u++)
            if (u != 5) Assert.True(Math.Abs(CellCorrelations.Pearson(activations.Unit(u), speaker)) <= who.Correlation + 1e-12);

        // No quotes, brackets, indentation or comments: those features are constant and have no best unit.
        foreach (string constant in new[] { "in quotes", "bracket depth", "indentation", "in comment" })
            Assert.Null(best[Array.IndexOf(TextFeatures.Names, constant)]);
    }

    [Fact]
    public void LengthsMustAgree()
    {
        var features = TextFeatures.Compute("ab\ncd");
        var activations = new CellActivations(1, 2, 4, "h", true, new float[8]);
        Assert.Throws<ArgumentException>(() => CellCorrelations.Best(activations, features));
    }
}
