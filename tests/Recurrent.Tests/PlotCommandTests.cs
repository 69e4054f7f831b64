using System.Xml;
using Xunit;

namespace Recurrent.Tests;

public class PlotCommandTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [Fact]
    public void PlotWritesAnSvgOfTrainAndValidationLoss()
    {
        string dir = _f.Train("m", "--steps", "30", "--log-every", "2", "--eval-every", "10");
        string svgPath = _f.Path("curve.svg");
        string output = CharLmFixture.Ok("plot", "--model", dir, "--out", svgPath);
        Assert.Contains("15 train and 3 validation points", output);
        var doc = new XmlDocument();
        doc.Load(svgPath);
        var ns = new XmlNamespaceManager(doc.NameTable);
        ns.AddNamespace("s", "http://www.w3.org/2000/svg");
        var lines = doc.SelectNodes("//s:polyline", ns)!;
        Assert.Equal(2, lines.Count);
        Assert.Equal(15, lines[0]!.Attributes!["points"]!.Value.Split(' ').Length);
        Assert.Equal(3, lines[1]!.Attributes!["points"]!.Value.Split(' ').Length);

        CharLmFixture.Ok("plot", "--model", dir);
        Assert.True(File.Exists(Path.Combine(dir, "loss.svg")));
    }

    [Fact]
    public void NoLogOrNoModelIsAnError()
    {
        string dir = _f.Train("m", "--steps", "2");
        File.Delete(Path.Combine(dir, "log.jsonl"));
        var (code, _, error) = CharLmFixture.Run("plot", "--model", dir);
        Assert.Equal(1, code);
        Assert.Contains("has no log.jsonl", error);
        (code, _, error) = CharLmFixture.Run("plot", "--model", _f.Dir);
        Assert.Equal(1, code);
        Assert.Contains("is not a model directory", error);
    }
}
