using System.Globalization;
using System.Xml.Linq;
using Recurrent.Analysis;
using Xunit;

namespace Recurrent.Tests;

public class AttentionMapTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static AttentionExample Example() => new(
        "dev line 7 <greedy & beam>",
        ["i", "'m", "<unk>", "."],
        ["je", "suis", "l'élève", ".", "</s>"],
        [
            0.9f, 0.1f, 0.0f, 0.0f,
            0.2f, 0.7f, 0.1f, 0.0f,
            0.0f, 0.1f, 0.8f, 0.1f,
            0.0f, 0.0f, 0.1f, 0.9f,
            0.25f, 0.25f, 0.25f, 0.25f,
        ]);

    private static int Grey(XElement rect)
    {
        string fill = rect.Attribute("fill")!.Value; // #rrggbb, the three equal
        Assert.Matches("^#[0-9a-f]{6}$", fill);
        Assert.Equal(fill.Substring(1, 2), fill.Substring(3, 2));
        Assert.Equal(fill.Substring(1, 2), fill.Substring(5, 2));
        return int.Parse(fill.AsSpan(1, 2), NumberStyles.HexNumber);
    }

    [Fact]
    public void OneCellPerWeight_DarkerForLargerWeights_LabelsEscaped()
    {
        var example = Example();
        var second = new AttentionExample("second", ["a", "b"], ["x"], [1f, 0f]);
        string svg = AttentionMap.Svg([example, second]);
        var doc = XDocument.Parse(svg); // well-formed XML
        Assert.Equal(Svg + "svg", doc.Root!.Name);

        var cells = doc.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "cell").ToList();
        Assert.Equal(20 + 2, cells.Count);
        // The first example's cells come in row-major order: grey falls as the weight rises, 0 white, 1 black.
        var weights = example.Weights;
        for (int i = 0; i < weights.Length; i++)
            for (int j = 0; j < weights.Length; j++)
                if (weights[i] < weights[j]) Assert.True(Grey(cells[i]) > Grey(cells[j]), $"cell {i} ({weights[i]}) vs cell {j} ({weights[j]})");
        Assert.Equal(0, Grey(cells[20]));   // the second example: weight 1 is black,
        Assert.Equal(255, Grey(cells[21])); // weight 0 white

        // Rows go down, columns go right, and the second sentence lies below the first.
        double X(XElement r) => double.Parse(r.Attribute("x")!.Value, CultureInfo.InvariantCulture);
        double Y(XElement r) => double.Parse(r.Attribute("y")!.Value, CultureInfo.InvariantCulture);
        Assert.True(X(cells[1]) > X(cells[0]) && Y(cells[1]) == Y(cells[0]));
        Assert.True(Y(cells[4]) > Y(cells[0]) && X(cells[4]) == X(cells[0]));
        Assert.True(Y(cells[20]) > Y(cells[19]));
        double width = double.Parse(doc.Root.Attribute("width")!.Value, CultureInfo.InvariantCulture);
        double height = double.Parse(doc.Root.Attribute("height")!.Value, CultureInfo.InvariantCulture);
        Assert.All(cells, c => Assert.True(X(c) >= 0 && X(c) + 22 <= width && Y(c) >= 0 && Y(c) + 22 <= height));

        // Labels and titles are text that survived escaping.
        var texts = doc.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("dev line 7 <greedy & beam>", texts);
        Assert.Contains("<unk>", texts);
        Assert.Contains("</s>", texts);
        Assert.Contains("l'élève", texts);
        Assert.Contains("second", texts);
        Assert.Contains("&lt;unk&gt;", svg);
        // Source labels are rotated, target labels are not.
        var unk = doc.Descendants(Svg + "text").First(t => t.Value == "<unk>");
        Assert.Contains("rotate(-90)", unk.Attribute("transform")!.Value);
        Assert.Null(doc.Descendants(Svg + "text").First(t => t.Value == "</s>").Attribute("transform"));
        // A cell's tooltip names its tokens.
        Assert.Equal("suis \u2190 'm: 0.700", cells[5].Element(Svg + "title")!.Value);
    }

    [Fact]
    public void ControlCharactersInTokensStillGiveWellFormedXml()
    {
        string svg = AttentionMap.Svg([new AttentionExample("t\u0001", ["a\u0002", "\U0001F600"], ["\uD800"], [0.5f, 0.5f])]);
        var doc = XDocument.Parse(svg);
        var texts = doc.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("a\uFFFD", texts);
        Assert.Contains("\U0001F600", texts);
        Assert.Contains("\uFFFD", texts);
    }

    [Fact]
    public void WrongShapesAndBadWeightsAreArgumentErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => AttentionMap.Svg([new AttentionExample("s", ["a", "b"], ["x", "y", "z"], new float[5])]));
        Assert.Contains("5 weights, but 3 target × 2 source tokens need 6", e.Message);
        Assert.Contains("\"s\"", e.Message);
        Assert.Contains("weight [1, 0] is NaN",
            Assert.Throws<ArgumentException>(() => AttentionMap.Svg([new AttentionExample("s", ["a"], ["x", "y"], [0.5f, float.NaN])])).Message);
        Assert.Throws<ArgumentException>(() => AttentionMap.Svg([]));
    }

    [Fact]
    public void WeightsOutsideZeroToOneAreClamped()
    {
        var doc = XDocument.Parse(AttentionMap.Svg([new AttentionExample("s", ["a", "b"], ["x"], [1.0000001f, -1e-8f])]));
        var cells = doc.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "cell").ToList();
        Assert.Equal(0, Grey(cells[0]));
        Assert.Equal(255, Grey(cells[1]));
    }
}
