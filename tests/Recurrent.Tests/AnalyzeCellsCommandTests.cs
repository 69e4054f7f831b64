using System.Text.Json;
using System.Xml;
using Recurrent.Analysis;
using Xunit;

namespace Recurrent.Tests;

public class AnalyzeCellsCommandTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public void JsonGivesEachFeaturesBestCell_AndThePageIsWritten()
    {
        string dir = _f.Train("m", "--steps", "20");
        string page = _f.Path("cells.html");
        string output = CharLmFixture.Ok("analyze", "cells", "--model", dir, "--text", _f.Data, "--chars", "200",
            "--page-chars", "120", "--from", "15", "--out", page, "--threads", "1", "--json");
        using var json = JsonDocument.Parse(output);
        var r = json.RootElement;
        Assert.Equal(dir, r.GetProperty("model").GetString());
        Assert.Equal(200, r.GetProperty("chars").GetInt32());
        Assert.Equal(15, r.GetProperty("from").GetInt32());
        Assert.Equal("tanh(c)", r.GetProperty("activation").GetString());
        var features = r.GetProperty("features").EnumerateArray().ToList();
        var constant = r.GetProperty("constant_features").EnumerateArray().Select(e => e.GetString()).ToList();
        // Shakespeare's lines: position and speaker lines vary; no quotes, brackets, indentation or comments.
        Assert.Equal(["line position", "speaker line"], features.Select(e => e.GetProperty("feature").GetString()));
        Assert.Equal(["in quotes", "bracket depth", "indentation", "in comment"], constant);
        foreach (var e in features)
        {
            Assert.Matches("^[01]:[0-7]$", e.GetProperty("cell").GetString());
            Assert.InRange(Math.Abs(e.GetProperty("correlation").GetDouble()), 0, 1);
        }
        string best = features.MaxBy(e => Math.Abs(e.GetProperty("correlation").GetDouble())).GetProperty("cell").GetString()!;
        Assert.Equal(best, r.GetProperty("cell_shown").GetString());

        var doc = new XmlDocument { PreserveWhitespace = true };
        using (var reader = XmlReader.Create(page, new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore })) doc.Load(reader);
        var text = doc.SelectSingleNode("//div[@id='text']")!;
        Assert.Equal(best, text.Attributes!["data-cell"]!.Value);
        Assert.Equal(120, text.SelectNodes("span")!.Count);
        Assert.Equal(CharLmFixture.Text[15..135], text.InnerText);
    }

    [Fact]
    public void TableNamesEveryFeature_AndCellPicksTheShownUnit()
    {
        string dir = _f.Train("m", "--steps", "5", "--cell", "gru");
        string page = _f.Path("p.html");
        string output = CharLmFixture.Ok("analyze", "cells", "--model", dir, "--text", _f.Data, "--cell", "1:7",
            "--out", page, "--threads", "1");
        foreach (string name in TextFeatures.Names) Assert.Contains(name, output);
        Assert.Contains($"h of 16 units over {CharLmFixture.Text.Length} characters; the page shows cell 1:7", output);
        Assert.Contains($"wrote {page}", output);
        Assert.Contains("data-cell=\"1:7\"", File.ReadAllText(page));
        Assert.Contains("analyze cells --model DIR --text FILE", CharLmFixture.Ok("analyze", "cells", "--help"));
    }

    [Fact]
    public void BadCellsTextsAndModelsAreClearErrors()
    {
        string dir = _f.Train("m", "--steps", "2");
        var (code, _, error) = CharLmFixture.Run("analyze", "cells", "--model", dir, "--text", _f.Data, "--cell", "2:0", "--out", _f.Path("x.html"));
        Assert.Equal(2, code);
        Assert.Contains("cell '2:0' is outside the model's 2 layers × 8 units", error);
        (code, _, error) = CharLmFixture.Run("analyze", "cells", "--model", dir, "--text", _f.Write("q.txt", "Speak, \"speak\"."), "--out", _f.Path("x.html"));
        Assert.Equal(1, code);
        Assert.Contains("'\"' (U+0022) at line 1, column 8", error);
        (code, _, error) = CharLmFixture.Run("analyze", "cells", "--text", _f.Data);
        Assert.Equal(2, code);
        Assert.Contains("--model DIR is required", error);
        (code, _, error) = CharLmFixture.Run("analyze", "cells", "--model", dir, "--text", _f.Data, "--from", "10000", "--out", _f.Path("x.html"));
        Assert.Equal(1, code);
        Assert.Contains("has 0 character from character 10000", error);
        Assert.False(File.Exists(_f.Path("x.html")));
    }
}
