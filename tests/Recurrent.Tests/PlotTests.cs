using System.Xml;
using Recurrent.Analysis;
using Xunit;

namespace Recurrent.Tests;

public class PlotTests
{
    [Fact]
    public void LossPlotIsWellFormedSvgWithBothCurves()
    {
        var train = Enumerable.Range(1, 50).Select(i => ((double)i * 10, 4.0 / Math.Sqrt(i))).ToList();
        var val = new List<(double, double)> { (100, 1.9), (300, 1.5), (500, 1.4) };
        string svg = LossPlot.Render("char-lm <lstm & co>", [new("train", "#1f77b4", train), new("validation", "#d62728", val)]);
        var doc = new XmlDocument();
        doc.LoadXml(svg);
        Assert.Equal("svg", doc.DocumentElement!.LocalName);
        var ns = new XmlNamespaceManager(doc.NameTable);
        ns.AddNamespace("s", "http://www.w3.org/2000/svg");
        var lines = doc.SelectNodes("//s:polyline", ns)!;
        Assert.Equal(2, lines.Count);
        Assert.Equal(50, lines[0]!.Attributes!["points"]!.Value.Split(' ').Length);
        // Every point lies inside the 800x480 canvas.
        foreach (XmlNode line in lines)
            foreach (string p in line.Attributes!["points"]!.Value.Split(' '))
            {
                var xy = p.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                Assert.InRange(xy[0], 0, 800);
                Assert.InRange(xy[1], 0, 480);
            }
        Assert.Contains("char-lm &lt;lstm &amp; co&gt;", svg);
    }

    [Fact]
    public void NiceRangeCoversTheDataWithOneTwoFiveSteps()
    {
        var (lo, hi, step) = LineChart.NiceRange(1.37, 4.18);
        Assert.True(lo <= 1.37 && hi >= 4.18);
        Assert.Equal(1.0, step, 12); // (4.18 - 1.37) / 5 = 0.56 rounds up to the next 1-2-5 step
        var (lo2, hi2, _) = LineChart.NiceRange(2, 2);
        Assert.True(lo2 < 2 && hi2 > 2);
    }

    [Fact]
    public void NothingToPlotIsAnError() =>
        Assert.Throws<InvalidDataException>(() => LossPlot.Render("x", [new("train", "red", [])]));

    [Fact]
    public void LogAxisTicksDecadesAndLeavesOutPointsAtOrBelowZero()
    {
        var decay = Enumerable.Range(0, 200).Select(t => ((double)t, Math.Pow(0.9, t))).ToList();
        decay.Add((200, 0));   // a gradient that underflowed: no place on a log axis
        string svg = LineChart.Render("‖∂L/∂h_t‖", "T − t", "norm", [new("tanh", LineChart.Color(0), decay)], logY: true,
            references: [new("baseline", 1e-3)]);
        var doc = new XmlDocument();
        doc.LoadXml(svg);
        var ns = new XmlNamespaceManager(doc.NameTable);
        ns.AddNamespace("s", "http://www.w3.org/2000/svg");
        Assert.Equal(200, doc.SelectSingleNode("//s:polyline", ns)!.Attributes!["points"]!.Value.Split(' ').Length);
        // 0.9^199 ≈ 8e-10: the axis runs from 1e-10 to 1, one tick every decade or every few.
        Assert.Contains(">1</text>", svg);
        Assert.Contains(">1e-10</text>", svg);
        Assert.Contains(">baseline</text>", svg);
    }
}
