using System.Text.Json;
using Recurrent.IO;
using Recurrent.Tensors;
using Recurrent.Verification;
using Xunit;

namespace Recurrent.Tests;

public class VerifyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("recurrent-verify-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string set, string name) => Path.Combine(SafeTensorsTests.ReferenceDir(set), name + ".safetensors");

    private static (int Exit, string Out, string Err) Verify(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = Recurrent.Cli.Cli.Run(["verify", .. args], stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Copies a reference file, letting <paramref name="change"/> alter a tensor (or drop it with null).</summary>
    private string Rewrite(string source, string name, Func<string, Tensor, Tensor?> change, Action<Dictionary<string, string>>? meta = null)
    {
        var file = SafeTensorsFile.Read(source);
        var writer = new SafeTensorsWriter();
        foreach (var (k, v) in file.Metadata) writer.Metadata[k] = v;
        meta?.Invoke(writer.Metadata);
        foreach (string n in file.Names)
        {
            if (file.DType(n) != SafeDType.F32) { writer.AddInt64(n, file.Int64(n), file.Shape(n)); continue; }
            Tensor? t = change(n, file.Float(n));
            if (t != null) writer.Add(n, t);
        }
        string path = Path.Combine(_dir, name + ".safetensors");
        writer.Save(path);
        return path;
    }

    [Theory]
    [InlineData("default", 17)]
    [InlineData("seed7", 16)]
    [InlineData("varlen", 16)]
    [InlineData("nobias", 16)] // bias=False: no bias_ih/bias_hh tensors
    [InlineData("charlm", 1)] // 320 tokens: the first layer reads the embedding through the vocabulary
    public void EveryCommittedFixturePasses(string set, int files)
    {
        var paths = Directory.GetFiles(SafeTensorsTests.ReferenceDir(set), "*.safetensors");
        Assert.Equal(files, paths.Length);
        foreach (string path in paths)
        {
            ReferenceResult r = ReferenceCase.Read(path).Run();
            Assert.True(r.Passed, $"{path}: " + string.Join("; ", r.Tensors.Where(t => !t.Passed).Select(t => $"{t.Name} {t.Problem ?? t.MaxAbsError.ToString()}")));
            // Everything stored is checked: one comparison per expected.*/grad.* tensor.
            var file = SafeTensorsFile.Read(path);
            Assert.Equal(file.Names.Count(n => n.StartsWith("expected.") || n.StartsWith("grad.")), r.Tensors.Count);
            Assert.All(r.Tensors, t => Assert.InRange(t.WorstRatio, 0, 1));
        }
    }

    [Fact]
    public void CliVerifiesDirectoriesRecursively_AndSummarises()
    {
        var (exit, output, err) = Verify(Path.Combine(AppContext.BaseDirectory, "fixtures", "reference"));
        Assert.Equal("", err);
        Assert.Equal(0, exit);
        string[] lines = output.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal(66, lines.Count(l => l.StartsWith("PASS ")));
        Assert.Contains(lines, l => l.StartsWith("PASS ") && l.Contains("varlen") && l.Contains("lstm_l2_bi.safetensors"));
        Assert.Contains(lines, l => l.StartsWith("PASS ") && l.Contains("charlm_lstm.safetensors"));
        Assert.Equal("66 passed, 0 failed", lines[^1]);
    }

    [Fact]
    public void OneAlteredExpectedValueFails_NamingTensorAndElement()
    {
        // expected.h_n[1, 2, 3] of a bidirectional LSTM moved by 3 tolerances: that element, and only it, must fail.
        string source = Fixture("default", "lstm_l1_bi");
        int flat = (1 * 3 + 2) * 11 + 3;
        float original = SafeTensorsFile.Read(source).Float("expected.h_n")[flat];
        float tolerance = (float)(TensorComparison.Absolute + TensorComparison.Relative * Math.Abs(original));
        string altered = Rewrite(source, "lstm_l1_bi", (n, t) =>
        {
            if (n == "expected.h_n") t[flat] += 3 * tolerance;
            return t;
        });

        ReferenceResult r = ReferenceCase.Read(altered).Run();
        Assert.False(r.Passed);
        var failing = Assert.Single(r.Tensors, t => !t.Passed);
        Assert.Equal("expected.h_n", failing.Name);
        Assert.Equal(1, failing.Failures);
        Assert.Equal(flat, failing.WorstIndex);
        Assert.Equal("[1, 2, 3]", failing.DescribeIndex(failing.WorstIndex));
        Assert.InRange(failing.WorstRatio, 2.5, 3.5);

        var (exit, output, _) = Verify(altered, Fixture("default", "gru_l1_uni"));
        Assert.Equal(1, exit);
        Assert.StartsWith($"FAIL {altered}  1 of 15 tensors outside |actual - expected| <= 1e-5 + 1e-4*|expected|", output);
        Assert.Contains("  expected.h_n [2, 3, 11]: 1 of 66 elements fail", output);
        Assert.Contains("worst at [1, 2, 3]", output);
        Assert.DoesNotContain("expected.output", output);
        Assert.Contains("PASS " + Fixture("default", "gru_l1_uni"), output);
        Assert.EndsWith("1 passed, 1 failed", output.TrimEnd());
    }

    [Fact]
    public void ValuesWithinToleranceStillPass()
    {
        // Every element of grad.weight_hh_l0 moved by half its own tolerance: the rule is per element and relative.
        string source = Fixture("seed7", "gru_l2_bi");
        string nudged = Rewrite(source, "nudged", (n, t) =>
        {
            if (n != "grad.weight_hh_l0") return t;
            for (int i = 0; i < t.Length; i++) t[i] += (float)(0.5 * (TensorComparison.Absolute + TensorComparison.Relative * Math.Abs(t[i])));
            return t;
        });
        ReferenceResult r = ReferenceCase.Read(nudged).Run();
        Assert.True(r.Passed);
        Assert.InRange(r.Tensors.Single(t => t.Name == "grad.weight_hh_l0").WorstRatio, 0.4, 0.6);
    }

    [Fact]
    public void TruncatedFileIsOneLineAndTheOthersStillRun()
    {
        byte[] bytes = File.ReadAllBytes(Fixture("default", "rnn_tanh_l1_uni"));
        string truncated = Path.Combine(_dir, "truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);

        var (exit, output, err) = Verify(truncated, Fixture("varlen", "gru_l2_bi"));
        Assert.Equal(1, exit);
        Assert.Equal("", err);
        string[] lines = output.TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith($"FAIL {truncated}: tensor '", lines[0]);
        Assert.Contains("outside the data", lines[0]);
        Assert.StartsWith("PASS ", lines[1]);
        Assert.Equal("1 passed, 1 failed", lines[2]);
    }

    [Fact]
    public void MissingGradientInTheFileIsAFailure_NotASilentSkip()
    {
        string path = Rewrite(Fixture("default", "rnn_relu_l2_uni"), "no_grad", (n, t) => n == "grad.weight_hh_l1" ? null : t);
        ReferenceResult r = ReferenceCase.Read(path).Run();
        Assert.False(r.Passed);
        var missing = Assert.Single(r.Tensors, t => !t.Passed);
        Assert.Equal("grad.weight_hh_l1", missing.Name);
        Assert.Equal("not in the reference file", missing.Problem);
        var (exit, output, _) = Verify(path);
        Assert.Equal(1, exit);
        Assert.Contains("  grad.weight_hh_l1 [11, 11]: not in the reference file", output);
    }

    [Fact]
    public void BadMetadataOrMissingWeightIsAOneLineFailure()
    {
        string badMode = Rewrite(Fixture("seed7", "lstm_l1_uni"), "bad_mode", (_, t) => t, m => m["mode"] = "transformer");
        string badLayers = Rewrite(Fixture("seed7", "lstm_l1_uni"), "bad_layers", (_, t) => t, m => m["num_layers"] = "two");
        string noWeight = Rewrite(Fixture("seed7", "lstm_l1_uni"), "no_weight", (n, t) => n == "bias_hh_l0" ? null : t);
        string wrongSize = Rewrite(Fixture("seed7", "lstm_l1_uni"), "wrong_size", (_, t) => t, m => m["hidden_size"] = "7");
        var (exit, output, _) = Verify(badMode, badLayers, noWeight, wrongSize);
        Assert.Equal(1, exit);
        string[] lines = output.TrimEnd().Split('\n');
        Assert.Equal($"FAIL {badMode}: metadata 'mode' is 'transformer', expected one of rnn_tanh, rnn_relu, lstm, gru, charlm_lstm", lines[0]);
        Assert.Equal($"FAIL {badLayers}: metadata 'num_layers' is 'two', expected a positive integer", lines[1]);
        Assert.StartsWith($"FAIL {noWeight}: no tensor 'bias_hh_l0' (has: ", lines[2]);
        Assert.Equal($"FAIL {wrongSize}: tensor 'weight_ih_l0' has shape [24, 5], expected [28, 5]", lines[3]);
        Assert.Equal("0 passed, 4 failed", lines[4]);
    }

    [Fact]
    public void JsonReportsEveryFileAndTensor()
    {
        string bad = Path.Combine(_dir, "empty.safetensors");
        File.WriteAllBytes(bad, []);
        var (exit, output, _) = Verify("--json", Fixture("default", "charlm_lstm"), bad);
        Assert.Equal(1, exit);
        using var doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("passed").GetInt32());
        Assert.Equal(1, root.GetProperty("failed").GetInt32());
        var files = root.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal("charlm_lstm", files[0].GetProperty("name").GetString());
        Assert.Equal(13, files[0].GetProperty("tensors").GetArrayLength());
        Assert.False(files[1].GetProperty("passed").GetBoolean());
        Assert.Equal("file is 0 bytes, too short for the 8-byte header length", files[1].GetProperty("error").GetString());
    }

    [Fact]
    public void UsageErrorsAndEmptyDirectories()
    {
        var (exit, _, err) = Verify();
        Assert.Equal(2, exit);
        Assert.StartsWith("recurrent verify: no reference files given", err);
        (exit, _, err) = Verify("--tolerance", "3", "x");
        Assert.Equal(2, exit);
        Assert.Contains("unknown option --tolerance", err);
        (exit, string output, _) = Verify(_dir, Path.Combine(_dir, "missing.safetensors"));
        Assert.Equal(1, exit);
        Assert.Contains($"FAIL {_dir}: no .safetensors files in this directory", output);
        Assert.Contains($"FAIL {Path.Combine(_dir, "missing.safetensors")}: no such file or directory", output);
    }

    [Fact]
    public void ComparisonRule_NaNAndShapes()
    {
        var expected = new Tensor([1f, -200f, 0f, float.NaN], 4);
        var ok = TensorComparison.Compare("t", new Tensor([1f + 1.05e-4f, -200f - 0.0200f, 9e-6f, float.NaN], 4), expected);
        Assert.True(ok.Passed, $"ratio {ok.WorstRatio}");
        var nan = TensorComparison.Compare("t", new Tensor([float.NaN, -200f, 0f, float.NaN], 4), expected);
        Assert.Equal(1, nan.Failures);
        Assert.Equal(0, nan.WorstIndex);
        Assert.True(double.IsPositiveInfinity(nan.WorstRatio));
        var over = TensorComparison.Compare("t", new Tensor([1f, -200f, 1.2e-5f, float.NaN], 4), expected);
        Assert.False(over.Passed);
        Assert.Equal(2, over.WorstIndex);
        var shape = TensorComparison.Compare("t", new Tensor(2, 2), expected);
        Assert.Equal("computed shape [2, 2], reference [4]", shape.Problem);
        Assert.False(shape.Passed);
    }
}
