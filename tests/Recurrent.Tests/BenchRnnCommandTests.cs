using System.Text.Json;
using Recurrent.Cli;
using Recurrent.Cli.Commands;
using CliMain = Recurrent.Cli.Cli;
using Xunit;

namespace Recurrent.Tests;

/// <summary>`recurrent bench rnn` at tiny sizes (hidden options), so the tests take seconds; no timing is asserted.</summary>
[Collection("Gemm.Threads")]
public class BenchRnnCommandTests
{
    private static readonly string[] Tiny =
        ["--hidden", "8", "--batch", "2", "--seq-len", "4", "--sample-chars", "10", "--min-seconds", "0", "--min-steps", "2"];

    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliMain.Run(["bench", "rnn", .. args], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void JsonHasEveryRowMeasuredInChildProcesses()
    {
        var (code, stdout, stderr) = Run([.. Tiny, "--threads", "2", "--json", "--peak-gflops", "100"]);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);   // exactly one JSON value on stdout
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("threads").GetInt32());
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["train_lstm_128", "train_lstm_512", "train_gru_512", "train_rnn_tanh_512", "infer_lstm_512", "sample_lstm_512"],
            rows.Select(r => r.GetProperty("name").GetString()));
        foreach (var r in rows)
        {
            string name = r.GetProperty("name").GetString()!;
            Assert.Equal(name.StartsWith("sample", StringComparison.Ordinal) ? "chars" : "tokens", r.GetProperty("unit").GetString());
            Assert.True(r.GetProperty("per_second").GetDouble() > 0, name);
            Assert.True(r.GetProperty("peak_mib").GetDouble() > 1, name);
            Assert.True(r.GetProperty("utilization").GetDouble() > 0, name);
            Assert.Equal(2, r.GetProperty("threads").GetInt32());
            Assert.Equal(8, r.GetProperty("hidden").GetInt32());
        }
        Assert.Equal(3 + 2 + 1, rows[0].GetProperty("train_steps").GetInt32());   // warm-up + timed + counting allocations
    }

    [Fact]
    public void OnlyPicksRowsByNameOrKind()
    {
        var (code, stdout, stderr) = Run([.. Tiny, "--json", "--peak-gflops", "100", "--only", "sample_lstm_512,infer"]);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(["infer_lstm_512", "sample_lstm_512"],
            doc.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
    }

    [Fact]
    public void PlainOutputIsATable()
    {
        var (code, stdout, stderr) = Run([.. Tiny, "--peak-gflops", "100", "--only", "train_gru_512"]);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("per second", lines[1]);
        Assert.StartsWith("train_gru_512", lines[2]);
    }

    /// <summary>The determinism check through the command: same seed and threads, same losses, in two child measurements.</summary>
    [Theory]
    [InlineData("train_lstm_512", "1")]
    [InlineData("train_gru_512", "2")]
    public void ChildRunsRepeatTheirLosses(string row, string threads)
    {
        string[] args = ["--child", row, "--threads", threads, "--hidden", "32", "--batch", "4", "--seq-len", "6", "--min-seconds", "0", "--min-steps", "3"];
        var first = Run(args);
        var second = Run(args);
        Assert.True(first.Code == 0, first.Stderr);
        using var a = JsonDocument.Parse(first.Stdout);
        using var b = JsonDocument.Parse(second.Stdout);
        Assert.Equal(7, a.RootElement.GetProperty("train_steps").GetInt32());
        foreach (string key in new[] { "loss_first", "loss_last" })
            Assert.Equal(a.RootElement.GetProperty(key).GetSingle(), b.RootElement.GetProperty(key).GetSingle());
        Assert.NotEqual(a.RootElement.GetProperty("loss_first").GetSingle(), a.RootElement.GetProperty("loss_last").GetSingle());
    }

    [Fact]
    public void BreakdownJsonListsThePhasesAndTheOverhead()
    {
        var (code, stdout, stderr) = Run([.. Tiny, "--breakdown", "--json", "--peak-gflops", "100", "--threads", "1"]);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        var phases = root.GetProperty("phases").EnumerateArray().ToList();
        Assert.Equal(12, phases.Count);
        Assert.StartsWith("overhead", phases[^1].GetProperty("name").GetString());
        double sum = phases.Sum(p => p.GetProperty("ms").GetDouble());
        Assert.Equal(root.GetProperty("step_ms").GetDouble(), sum, 0.01);   // rounding of each figure to 1 µs
        Assert.True(phases[1].GetProperty("gflop_per_s").GetDouble() > 0);  // recurrent GEMMs carry their FLOPs
        Assert.False(phases[2].TryGetProperty("gflop", out _));             // gate kernels do not
    }

    [Fact]
    public void BreakdownPlainOutputIsATable()
    {
        var (code, stdout, stderr) = Run([.. Tiny, "--breakdown", "--peak-gflops", "100"]);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3 + 12, lines.Length);
        Assert.StartsWith("LSTM 2×8 training step, B=2, T=4", lines[0]);
        Assert.StartsWith("overhead", lines[^1]);
    }

    [Fact]
    public void BreakdownTakesAnotherTrainingRow()
    {
        var (code, stdout, stderr) = Run([.. Tiny, "--breakdown", "--peak-gflops", "100", "--only", "train_gru_512"]);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("GRU 2×8 training step, B=2, T=4", stdout);
        (code, stdout, stderr) = Run([.. Tiny, "--breakdown", "--peak-gflops", "100", "--only", "infer_lstm_512"]);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("LSTM 2×8 forward pass, B=2, T=4", stdout);
    }

    [Theory]
    [InlineData("", "row train_lstm_512 printed nothing")]
    [InlineData("{\"a\":1}\n; Assembly listing for method Tile\n", "printed something other than its JSON line: ; Assembly listing")]
    [InlineData("[1, 2]", "printed no JSON object")]
    public void AChildsOutputOtherThanJsonIsAOneLineError(string output, string expected)
    {
        var e = Assert.Throws<CliException>(() => BenchRnnCommand.ParseChildOutput("train_lstm_512", output));
        Assert.Contains(expected, e.Message);
        Assert.Equal(42, BenchRnnCommand.ParseChildOutput("x", "noise\n{\"per_second\":42}\n")["per_second"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(new[] { "--only", "train_lstm_1024" }, "--only: unknown row 'train_lstm_1024'")]
    [InlineData(new[] { "--child", "nope" }, "--child: unknown row 'nope'")]
    [InlineData(new[] { "--breakdown", "--only", "train" }, "--breakdown measures one training or forward row")]
    [InlineData(new[] { "--breakdown", "--only", "sample_lstm_512" }, "--breakdown measures one training or forward row")]
    [InlineData(new[] { "--min-steps", "0" }, "--min-steps must be")]
    [InlineData(new[] { "--threads", "0" }, "--threads must be")]
    [InlineData(new[] { "--cells", "lstm" }, "unknown option --cells")]
    public void BadArgumentsGiveOneLineErrors(string[] args, string expected)
    {
        var (code, _, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
