using System.Text.Json;
using System.Xml;
using Xunit;

namespace Recurrent.Tests;

/// <summary>`analyze residual` on a tiny text and tiny models: the JSON's fields, determinism, the figure, bad options.</summary>
public class AnalyzeResidualCommandTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    /// <summary>The command with tiny options; <paramref name="overrides"/> (option, value pairs) replace or add to them.</summary>
    private string[] Tiny(string svg, params string[] overrides)
    {
        var options = new Dictionary<string, string>
        {
            ["--data"] = _f.Data, ["--layers"] = "1,3", ["--hidden"] = "6", ["--embedding"] = "4", ["--seq-len"] = "8",
            ["--batch"] = "3", ["--steps"] = "6", ["--eval-every"] = "4", ["--val-chars"] = "20", ["--threads"] = "1", ["--out"] = svg,
        };
        for (int i = 0; i < overrides.Length; i += 2) options[overrides[i]] = overrides[i + 1];
        return ["analyze", "residual", .. options.SelectMany(o => new[] { o.Key, o.Value })];
    }

    [Fact]
    public void JsonHasEveryRunAndTheFigureHasEveryCurve()
    {
        string svg = _f.Path("residual.svg");
        string output = CharLmFixture.Ok([.. Tiny(svg), "--json"]);
        using var doc = JsonDocument.Parse(output);
        var runs = doc.RootElement.GetProperty("runs").EnumerateArray().ToList();
        Assert.InRange(doc.RootElement.GetProperty("unigram_val_loss").GetDouble(), 1, Math.Log(40));
        Assert.Equal(new[] { (1, false), (1, true), (3, false), (3, true) },
            runs.Select(r => (r.GetProperty("layers").GetInt32(), r.GetProperty("residual").GetBoolean())));
        foreach (var r in runs)
        {
            Assert.Equal(6, r.GetProperty("steps").GetInt64());
            Assert.True(r.GetProperty("seconds").GetDouble() >= 0); // rounded to milliseconds: a tiny run may show 0
            var curve = r.GetProperty("curve").EnumerateArray().ToList();
            Assert.Equal(new long[] { 0, 4, 6 }, curve.Select(p => p.GetProperty("step").GetInt64()));
            var losses = curve.Select(p => p.GetProperty("val_loss").GetDouble()).ToList();
            Assert.All(losses, l => Assert.InRange(l, 0.5, 6));
            Assert.Equal(losses.Min(), r.GetProperty("best_val_loss").GetDouble(), 12);
            Assert.Equal(losses[^1], r.GetProperty("final_val_loss").GetDouble(), 12);
        }
        // One layer has no layer below to skip from: with and without residual are the same model.
        Assert.Equal(runs[0].GetProperty("curve").ToString(), runs[1].GetProperty("curve").ToString());
        Assert.NotEqual(runs[2].GetProperty("curve").ToString(), runs[3].GetProperty("curve").ToString());
        Assert.Equal(runs[2].GetProperty("parameters").GetInt64(), runs[3].GetProperty("parameters").GetInt64());

        // Deterministic for the seed and threads (the seconds aside).
        using var again = JsonDocument.Parse(CharLmFixture.Ok([.. Tiny(svg), "--json"]));
        Assert.Equal(runs.Select(r => r.GetProperty("curve").ToString()),
            again.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("curve").ToString()));

        var figure = new XmlDocument();
        figure.Load(svg);
        var ns = new XmlNamespaceManager(figure.NameTable);
        ns.AddNamespace("s", "http://www.w3.org/2000/svg");
        var lines = figure.SelectNodes("//s:polyline", ns)!.Cast<XmlNode>().ToList();
        Assert.Equal(4, lines.Count);
        Assert.Equal(2, lines.Count(l => l.Attributes!["stroke-dasharray"] != null)); // no residual = dashed
        Assert.Equal(lines[0].Attributes!["stroke"]!.Value, lines[1].Attributes!["stroke"]!.Value); // a colour per depth
        Assert.NotEqual(lines[0].Attributes!["stroke"]!.Value, lines[2].Attributes!["stroke"]!.Value);
    }

    [Fact]
    public void TableNamesEveryRun_AndBadOptionsAreUsageErrors()
    {
        string svg = _f.Path("table.svg");
        string table = CharLmFixture.Ok(Tiny(svg));
        var lines = table.Split('\n');
        Assert.StartsWith("layers  residual  best val  final val  steps  seconds", lines[0]);
        Assert.Matches(@"^\s+3\s+yes\s+\d\.\d{4}\s+\d\.\d{4}\s+6\s+\d+\.\d$", lines[4]);
        Assert.Contains($"wrote {svg}", table);
        Assert.Contains("--layers 4,8", CharLmFixture.Ok("analyze", "residual", "--help"));
        Assert.Contains("residual", CharLmFixture.Ok("analyze", "--help"));

        foreach (var (option, value, message) in new[]
                 {
                     ("--layers", "4,x", "--layers must be a comma-separated list"), ("--layers", "2,2", "names depth 2 twice"),
                     ("--steps", "0", "--steps"), ("--bogus", "1", "bogus"),
                 })
        {
            var (code, _, error) = CharLmFixture.Run(Tiny(svg, option, value));
            Assert.Equal(2, code);
            Assert.Contains(message, error);
        }
    }
}
