using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using Recurrent.Analysis;
using Xunit;

namespace Recurrent.Tests;

/// <summary>A fact that runs only where headless Chromium is installed (apt-get install chromium); skipped elsewhere.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Executable = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Executable)) Skip = $"headless Chromium is not installed ({Executable}; apt-get install chromium)";
    }
}

public class CellPageTests
{
    // Markup characters, a quote, a newline, a character outside the BMP and code for the features.
    private const string Text = "if (a < b && c) {\n  s = \"x\"; // 😀\n}\n<tag>";

    /// <summary>Activations of 2 layers × 4 units over the text: unit u at t is sin(0.3·t + u), 1:0 tracks line position.</summary>
    private static (CellActivations Activations, CellMatch?[] Matches) Synthetic(bool bounded = true)
    {
        var features = TextFeatures.Compute(Text);
        int N = features.Length, U = 8;
        var values = new float[U * N];
        for (int u = 0; u < U; u++)
            for (int t = 0; t < N; t++) values[u * N + t] = (bounded ? 1 : 3) * MathF.Sin(0.3f * t + u);
        var position = features.Feature("line position");
        for (int t = 0; t < N; t++) values[4 * N + t] = position[t] / 20f - 0.5f;
        var activations = new CellActivations(2, 4, N, bounded ? "tanh(c)" : "h", bounded, values);
        return (activations, CellCorrelations.Best(activations, features));
    }

    private static string[] Characters(int n) => Text.EnumerateRunes().Take(n).Select(r => r.ToString()).ToArray();

    private static string Expected(CellActivations a, int unit, int t, double scale = 1)
    {
        var (r, g, b) = CellPage.Colour(CellPage.Quantize(a.Unit(unit)[t], scale));
        return $"rgb({r}, {g}, {b})";
    }

    private static XmlDocument Parse(string html)
    {
        var doc = new XmlDocument { PreserveWhitespace = true };
        using var reader = XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        doc.Load(reader);
        return doc;
    }

    [Fact]
    public void ColourRunsFromRedThroughWhiteToBlue()
    {
        Assert.Equal((214, 39, 40), CellPage.Colour(0));
        Assert.Equal((255, 255, 255), CellPage.Colour(127));
        Assert.Equal((31, 119, 180), CellPage.Colour(254));
        Assert.Equal((0, 127, 254, 254, 0), (CellPage.Quantize(-1, 1), CellPage.Quantize(0, 1), CellPage.Quantize(1, 1),
            CellPage.Quantize(7, 1), CellPage.Quantize(-6, 3)));
    }

    [Fact]
    public void PageIsWellFormed_EscapesTheText_AndColoursEachCharacterByTheShownUnit()
    {
        var (a, matches) = Synthetic();
        int P = 30;
        string html = CellPage.Render("cells <model> & \"text\"", Text, a, matches, shown: 2, extra: [6], pageChars: P);
        var doc = Parse(html);

        var text = doc.SelectSingleNode("//div[@id='text']")!;
        Assert.Equal("0:2", text.Attributes!["data-cell"]!.Value);
        var spans = text.SelectNodes("span")!;
        Assert.Equal(P, spans.Count);
        string[] chars = Characters(P);
        for (int t = 0; t < P; t++)
        {
            Assert.Equal(chars[t], spans[t]!.InnerText);
            Assert.Equal($"background-color: {Expected(a, 2, t)};", spans[t]!.Attributes!["style"]!.Value);
        }
        Assert.Contains("&lt;", html);   // "a < b" and the title
        Assert.Equal("cells <model> & \"text\"", doc.SelectSingleNode("//h1")!.InnerText);

        // The selector: the features' best units, the one asked for and the shown one, no unit twice.
        var options = doc.SelectNodes("//select[@id='cell']/option")!.Cast<XmlNode>().Select(o => o.Attributes!["value"]!.Value).ToList();
        var bestUnits = matches.Where(m => m != null).Select(m => m!.Value.Cell).Distinct();
        Assert.Equal(bestUnits.Concat(["1:2", "0:2"]).Distinct().OrderBy(s => s), options.OrderBy(s => s));
        Assert.Contains("1:0", options); // line position's unit
        Assert.Equal("0:2", doc.SelectSingleNode("//option[@selected]")!.Attributes!["value"]!.Value);

        // The features table: one row per feature, the constant ones marked.
        var rows = doc.SelectNodes("//table[@id='features']/tr[td]")!;
        Assert.Equal(TextFeatures.Names.Length, rows.Count);
        Assert.Equal("1:0", doc.SelectSingleNode("//tr[td='line position']")!.Attributes!["data-cell"]!.Value);
        Assert.Contains("constant", doc.SelectSingleNode("//tr[td='speaker line']")!.InnerText);

        // Every unit embedded for the P characters, one byte each.
        using var json = JsonDocument.Parse(doc.SelectSingleNode("//script[@id='activations']")!.InnerText);
        var root = json.RootElement;
        Assert.Equal((2, 4, P), (root.GetProperty("layers").GetInt32(), root.GetProperty("hidden").GetInt32(), root.GetProperty("chars").GetInt32()));
        byte[] bytes = Convert.FromBase64String(root.GetProperty("bytes").GetString()!);
        Assert.Equal(8 * P, bytes.Length);
        for (int u = 0; u < 8; u++)
            for (int t = 0; t < P; t++) Assert.Equal(CellPage.Quantize(a.Unit(u)[t], 1), bytes[u * P + t]);
    }

    [Fact]
    public void UnboundedUnitsAreScaledByTheirLargestValueOnThePage_AndArgumentsAreChecked()
    {
        var (a, matches) = Synthetic(bounded: false);
        int P = a.Length;
        var doc = Parse(CellPage.Render("relu", Text, a, matches, shown: 1, extra: [], pageChars: 1000));
        using var json = JsonDocument.Parse(doc.SelectSingleNode("//script[@id='activations']")!.InnerText);
        double scale = json.RootElement.GetProperty("scales")[1].GetDouble();
        Assert.Equal(a.Unit(1).ToArray().Max(v => Math.Abs(v)), scale, 6);
        var spans = doc.SelectNodes("//div[@id='text']/span")!;
        Assert.Equal(P, spans.Count);
        for (int t = 0; t < P; t++) Assert.Equal($"background-color: {Expected(a, 1, t, scale)};", spans[t]!.Attributes!["style"]!.Value);

        Assert.Throws<ArgumentOutOfRangeException>(() => CellPage.Render("x", Text, a, matches, 8, [], 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => CellPage.Render("x", Text, a, matches, 0, [9], 10));
        Assert.Throws<ArgumentException>(() => CellPage.Render("x", Text, a, matches, 0, [], 0));
        Assert.Throws<ArgumentException>(() => CellPage.Render("x", Text, a, matches[1..], 0, [], 10));
        Assert.Throws<ArgumentException>(() => CellPage.Render("x", "short", a, matches, 0, [], 10));
    }

    /// <summary>The page after Chromium ran its script (--dump-dom); the address's #cell=L:U picks a unit as the selector does.</summary>
    private static string DumpDom(string path, string hash)
    {
        var start = new ProcessStartInfo(ChromiumFactAttribute.Executable)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", new Uri(path).AbsoluteUri + hash })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string dom = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000)) { process.Kill(true); Assert.Fail("chromium did not finish in 2 minutes"); }
        Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {stderr.Result}");
        return dom;
    }

    private static (string Cell, string[] Colours) ColouredText(string dom)
    {
        var text = Regex.Match(dom, "<div id=\"text\" data-cell=\"([^\"]*)\">(.*?)</div>", RegexOptions.Singleline);
        Assert.True(text.Success, "the page has no text block");
        var colours = Regex.Matches(text.Groups[2].Value, "<span style=\"background-color: (rgb\\(\\d+, \\d+, \\d+\\));\">")
            .Select(m => m.Groups[1].Value).ToArray();
        return (text.Groups[1].Value, colours);
    }

    [ChromiumFact]
    public void InHeadlessChromiumChoosingAnotherUnitRecoloursTheText()
    {
        var (a, matches) = Synthetic();
        int P = a.Length;
        string path = Path.Combine(Directory.CreateTempSubdirectory("cellpage").FullName, "page.html");
        File.WriteAllText(path, CellPage.Render("cells", Text, a, matches, shown: 2, extra: [], pageChars: P));
        try
        {
            // As opened: the shown unit, every character coloured by it (the script's recolouring agrees with the file's).
            var (cell, colours) = ColouredText(DumpDom(path, ""));
            Assert.Equal("0:2", cell);
            Assert.Equal(Enumerable.Range(0, P).Select(t => Expected(a, 2, t)), colours);

            // Choosing line position's unit (1:0): every span recoloured, its table row marked.
            string dom = DumpDom(path, "#cell=1:0");
            (cell, colours) = ColouredText(dom);
            Assert.Equal("1:0", cell);
            Assert.Equal(Enumerable.Range(0, P).Select(t => Expected(a, 4, t)), colours);
            Assert.NotEqual(Enumerable.Range(0, P).Select(t => Expected(a, 2, t)), colours);
            Assert.Matches("<tr data-cell=\"1:0\" class=\"chosen\">", dom);

            // A unit the selector did not offer is added to it; one outside the model is refused with a message.
            var offered = matches.Where(m => m != null).Select(m => m!.Value.Unit).Append(2).ToHashSet();
            int other = Enumerable.Range(0, a.Units).First(u => !offered.Contains(u));
            dom = DumpDom(path, $"#cell={a.Name(other)}");
            (cell, colours) = ColouredText(dom);
            Assert.Equal(a.Name(other), cell);
            Assert.Equal(Enumerable.Range(0, P).Select(t => Expected(a, other, t)), colours);
            Assert.Contains($"<option value=\"{a.Name(other)}\">{a.Name(other)} (typed)</option>", dom);
            dom = DumpDom(path, "#cell=2:0");
            Assert.Equal("0:2", ColouredText(dom).Cell);
            Assert.Contains("no cell \"2:0\"", dom);
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, true); }
    }
}
