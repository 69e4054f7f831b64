using System.Text.Json;
using System.Xml;
using Xunit;

namespace Recurrent.Tests;

public class AnalyzeEsnCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("esn").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly string[] Tiny =
        ["analyze", "esn", "--units", "40,20", "--connections", "4", "--washout", "50", "--train", "1000", "--tests", "5", "--ridge", "1e-6",
         "--lstm-hidden", "4", "--lstm-steps", "3", "--threads", "1"];

    [Fact]
    public void JsonHasTheBestReservoirTheSweepTheLstmAndTheSettingsAndTheFigureIsSvg()
    {
        string svg = Path.Combine(_dir, "esn.svg");
        string output = CharLmFixture.Ok([.. Tiny, "--json", "--out", svg]);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        var sweep = root.GetProperty("sweep").EnumerateArray().ToList();
        Assert.Equal([20, 40], sweep.Select(p => p.GetProperty("units").GetInt32()));
        var best = sweep.MinBy(p => p.GetProperty("nrmse_84").ValueKind == JsonValueKind.Number ? p.GetProperty("nrmse_84").GetDouble() : double.PositiveInfinity);
        Assert.Equal(best.GetProperty("units").GetInt32(), root.GetProperty("units").GetInt32());
        Assert.Equal(best.GetProperty("nrmse_84").GetDouble(), root.GetProperty("nrmse_84").GetDouble());
        Assert.InRange(root.GetProperty("nrmse_84").GetDouble(), 0, 1);
        // Each size pools its reservoirs' tests: √(mean of their NRMSE²).
        foreach (var p in sweep)
        {
            var each = p.GetProperty("reservoirs").EnumerateArray().Select(v => v.GetDouble()).ToList();
            Assert.Equal(3, each.Count);
            Assert.Equal(Math.Sqrt(each.Average(v => v * v)), p.GetProperty("nrmse_84").GetDouble(), 12);
        }
        var lstm = root.GetProperty("lstm");
        Assert.Equal(4, lstm.GetProperty("hidden").GetInt32());
        Assert.Equal(3, lstm.GetProperty("steps").GetInt32());
        Assert.True(lstm.GetProperty("nrmse_84").GetDouble() > 0);
        var settings = root.GetProperty("settings");
        Assert.Equal(84, settings.GetProperty("horizon").GetInt32());
        Assert.Equal(3, settings.GetProperty("reservoirs").GetInt32());
        Assert.Equal(1e-6, settings.GetProperty("ridge").GetDouble());

        var xml = new XmlDocument();
        xml.Load(svg);
        var ns = new XmlNamespaceManager(xml.NameTable);
        ns.AddNamespace("s", "http://www.w3.org/2000/svg");
        Assert.Equal(2, xml.SelectSingleNode("//s:polyline", ns)!.Attributes!["points"]!.Value.Split(' ').Length);
        Assert.Contains("LSTM H=4", xml.OuterXml);

        // The same seed gives the same numbers; the table names every size.
        using var again = JsonDocument.Parse(CharLmFixture.Ok([.. Tiny, "--json", "--out", svg]));
        Assert.Equal(Numbers(root), Numbers(again.RootElement));
        string table = CharLmFixture.Ok([.. Tiny, "--out", svg]);
        Assert.Contains("LSTM H=4, 3 steps", table);
        Assert.Contains("each reservoir (seeds 1…3)", table);
        Assert.Contains($"wrote {svg}", table);
    }

    /// <summary>Every NRMSE and loss of a report (the timings vary from run to run).</summary>
    private static List<string> Numbers(JsonElement root) =>
    [
        .. root.GetProperty("sweep").EnumerateArray().Select(p => p.GetProperty("nrmse_84").GetRawText() + p.GetProperty("train_rmse").GetRawText()),
        root.GetProperty("lstm").GetProperty("nrmse_84").GetRawText(), root.GetProperty("lstm").GetProperty("train_loss").GetRawText(),
    ];

    [Fact]
    public void BadOptionsAreNamed()
    {
        var (code, _, error) = CharLmFixture.Run("analyze", "esn", "--units", "10,x");
        Assert.Equal(2, code);
        Assert.Contains("--units", error);
        (code, _, error) = CharLmFixture.Run("analyze", "esn", "--units", "8", "--connections", "10");
        Assert.Equal(2, code);
        Assert.Contains("--connections 10", error);
        // 30 units on 100 training rows with no ridge: the free runs blow up.
        (code, _, error) = CharLmFixture.Run("analyze", "esn", "--units", "30", "--train", "100", "--washout", "20", "--ridge", "0",
            "--reservoirs", "1", "--tests", "3", "--lstm-steps", "1", "--out", Path.Combine(_dir, "x.svg"));
        Assert.Equal(1, code);
        Assert.Contains("blew up", error);
        (code, var help, _) = CharLmFixture.Run("analyze", "esn", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--spectral-radius", help);
    }
}
