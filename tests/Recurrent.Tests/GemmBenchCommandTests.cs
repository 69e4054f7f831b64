using System.Text.Json;
using Recurrent.Tensors;
using CliMain = Recurrent.Cli.Cli;
using Xunit;

namespace Recurrent.Tests;

public class GemmBenchCommandTests
{
    [Fact]
    public void JsonOutputIsOneArrayWithOneObjectPerShape()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliMain.Run(["bench", "gemm", "--size", "24", "--threads", "2", "--json", "--min-seconds", "0"], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        using var doc = JsonDocument.Parse(stdout.ToString());
        var shapes = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(4, shapes.Count);
        Assert.Equal(24, shapes[0].GetProperty("m").GetInt32());
        Assert.Equal(24, shapes[0].GetProperty("k").GetInt32());
        Assert.Equal((32, 2048, 512), (shapes[1].GetProperty("m").GetInt32(), shapes[1].GetProperty("n").GetInt32(), shapes[1].GetProperty("k").GetInt32()));
        foreach (var s in shapes)
        {
            Assert.Equal(2, s.GetProperty("threads").GetInt32());
            Assert.True(s.GetProperty("gflops").GetDouble() > 0);
        }
    }

    [Fact]
    public void PlainOutputIsATable()
    {
        var stdout = new StringWriter();
        int code = CliMain.Run(["bench", "gemm", "--size", "16", "--threads", "1", "--min-seconds", "0"], stdout, new StringWriter());
        Assert.Equal(0, code);
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.Contains("GFLOP/s", lines[0]);
        Assert.StartsWith("    16     16     16", lines[1]);
        Assert.StartsWith($"blocking: k blocks ≤ 512 deep, B blocks {GemmBlocked.NC} wide (L2 ", lines[5]);
    }

    [Theory]
    [InlineData(new[] { "bench" }, "say what to measure")]
    [InlineData(new[] { "bench", "fft" }, "unknown benchmark 'fft'")]
    [InlineData(new[] { "bench", "gemm", "--size", "0" }, "--size must be")]
    [InlineData(new[] { "bench", "gemm", "--bogus" }, "unknown option --bogus")]
    public void BadArgumentsGiveOneLineErrors(string[] args, string expected)
    {
        var stderr = new StringWriter();
        int code = CliMain.Run(args, new StringWriter(), stderr);
        Assert.Equal(2, code);
        string text = stderr.ToString();
        Assert.Contains(expected, text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
