using System.Text.Json;
using System.Xml;
using Xunit;

namespace Recurrent.Tests;

/// <summary>`analyze adding` and `analyze gradients` on tiny options: the JSON fields, the table and the SVG.</summary>
public class AnalyzeAddingGradientsCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("recurrent-analyze-grad-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AddingOneCellPrintsItsCurveAsJson()
    {
        string svg = Path.Combine(_dir, "adding.svg");
        using var json = JsonDocument.Parse(CharLmFixture.Ok("analyze", "adding", "--cell", "irnn", "--length", "8", "--hidden", "4",
            "--steps", "6", "--batch", "4", "--threads", "1", "--out", svg, "--json"));
        var root = json.RootElement;
        Assert.Equal("irnn", root.GetProperty("cell").GetString());
        Assert.Equal(8, root.GetProperty("length").GetInt32());
        Assert.Equal(6, root.GetProperty("steps").GetInt32());
        double mse = root.GetProperty("test_mse").GetDouble();
        Assert.InRange(mse, 0, 10);
        var curve = root.GetProperty("curve").EnumerateArray().ToList();
        Assert.Equal(0, curve[0].GetProperty("step").GetInt32());
        Assert.Equal(6, curve[^1].GetProperty("step").GetInt32());
        Assert.Equal(mse, curve[^1].GetProperty("test_mse").GetDouble());
        Assert.Equal(1e-2, root.GetProperty("lr").GetDouble(), 6);
        Assert.Equal(0.75, root.GetProperty("drop_at").GetDouble());
        Assert.Equal(1, Polylines(svg));
    }

    [Fact]
    public void AddingSeveralCellsPrintsATableAndTheirList()
    {
        string svg = Path.Combine(_dir, "several.svg");
        string[] common = ["analyze", "adding", "--cell", "rnn_tanh,lstm", "--length", "6", "--hidden", "3", "--steps", "4",
            "--batch", "2", "--lr", "0.01", "--threads", "1", "--out", svg];
        string table = CharLmFixture.Ok(common);
        Assert.Contains("rnn_tanh", table);
        Assert.Contains($"wrote {svg}", table);
        using var json = JsonDocument.Parse(CharLmFixture.Ok([.. common, "--json"]));
        Assert.Equal(6, json.RootElement.GetProperty("length").GetInt32());
        var cells = json.RootElement.GetProperty("cells").EnumerateArray().ToList();
        Assert.Equal(["rnn_tanh", "lstm"], cells.Select(c => c.GetProperty("cell").GetString()));
        Assert.All(cells, c => Assert.Equal(0.01, c.GetProperty("lr").GetDouble(), 6));
        Assert.All(cells, c => Assert.True(c.GetProperty("test_mse").GetDouble() >= 0));
        Assert.Equal(2, Polylines(svg)); // the baseline is a <line>
    }

    [Fact]
    public void AddingSaysWhenARunDiverged()
    {
        // Adam at lr 10 grows the IRNN's W_hh far past 1: over 60 steps its state overflows.
        string table = CharLmFixture.Ok("analyze", "adding", "--cell", "irnn", "--length", "60", "--hidden", "4", "--steps", "10",
            "--batch", "4", "--lr", "10", "--threads", "1", "--out", Path.Combine(_dir, "diverged.svg"));
        Assert.Matches(@"irnn: the test MSE was not finite from step \d+ on \(the weights diverged; a lower --lr keeps them finite\)", table);
    }

    [Fact]
    public void AddingRejectsUnknownCells()
    {
        var (code, _, error) = CharLmFixture.Run("analyze", "adding", "--cell", "lstm,elman", "--out", Path.Combine(_dir, "x.svg"));
        Assert.Equal(2, code);
        Assert.Contains("unknown cell 'elman'", error);
    }

    [Fact]
    public void GradientsReportsEveryCellAndTheExplodingCase()
    {
        string svg = Path.Combine(_dir, "gradients.svg");
        using var json = JsonDocument.Parse(CharLmFixture.Ok("analyze", "gradients", "--length", "101", "--train-length", "12", "--train-steps", "2",
            "--hidden", "8", "--batch", "4", "--explode-steps", "3", "--threads", "1", "--out", svg, "--json"));
        var root = json.RootElement;
        Assert.Equal(101, root.GetProperty("length").GetInt32());
        var cells = root.GetProperty("cells").EnumerateArray().ToList();
        Assert.Equal(["rnn_tanh", "irnn", "lstm", "gru"], cells.Select(c => c.GetProperty("cell").GetString()));
        foreach (var c in cells)
        {
            foreach (string field in new[] { "norm_ratio_100_init", "norm_ratio_100_trained", "decay_per_step_init", "spectral_radius_init" })
                Assert.True(c.GetProperty(field).GetDouble() > 0, field);
            Assert.Equal(101, c.GetProperty("norms_init").GetArrayLength());
        }
        // The IRNN starts with W_hh = I.
        Assert.Equal(1.0, cells[1].GetProperty("spectral_radius_init").GetDouble(), 3);
        Assert.Equal("g", cells[2].GetProperty("spectral_radius_block").GetString());
        Assert.Equal(4, cells[2].GetProperty("spectral_radii_init").EnumerateObject().Count());
        var exploding = root.GetProperty("exploding");
        Assert.Equal(1.1, exploding.GetProperty("spectral_radius").GetDouble(), 6);
        Assert.True(exploding.GetProperty("with_clipping").GetProperty("finite").GetBoolean());
        Assert.Equal(3, exploding.GetProperty("with_clipping").GetProperty("losses").GetArrayLength());
        Assert.Equal(9, Polylines(svg)); // init and trained per cell, and the exploding case
    }

    /// <summary>Parses the SVG as XML and counts its polylines.</summary>
    private static int Polylines(string svg)
    {
        var doc = new XmlDocument();
        doc.Load(svg);
        var ns = new XmlNamespaceManager(doc.NameTable);
        ns.AddNamespace("s", "http://www.w3.org/2000/svg");
        return doc.SelectNodes("//s:polyline", ns)!.Count;
    }
}
