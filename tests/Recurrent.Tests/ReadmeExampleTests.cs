using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Optimizers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The example of the README's "Use it in your project" compiles, trains, and is the code below line for line: the
/// test reads the README and this file and compares the block with the lines between the markers. An LSTM learns the
/// running sum of 10 random numbers, one output per step.
/// </summary>
public class ReadmeExampleTests
{
    private const string UsingLine = "using Recurrent.Layers; using Recurrent.Losses; using Recurrent.Optimizers; using Recurrent.Tensors;";

    /// <summary>
    /// The README's program. Its <paramref name="Console"/> parameter stands in for System.Console, so the README's
    /// Console.WriteLine lines print into the test's writer.
    /// </summary>
    private static void Example(TextWriter Console)
    {
        // README example: begin
        var rng = new Rng(seed: 1);
        var lstm = new RecurrentLayer(CellKind.Lstm, inputSize: 1, hiddenSize: 32, batchFirst: true, rng: rng);
        var head = new Linear(32, 1, rng: rng);
        var (mse, adam) = (new MeanSquaredError(), new Adam([.. lstm.Parameters(), .. head.Parameters()], lr: 0.01f));
        var (x, sum) = (new Tensor(16, 10, 1), new Tensor(16, 10, 1));      // [batch, time, features]
        for (int step = 1; step <= 500; step++)
        {
            for (int i = 0; i < x.Length; i++) sum[i] = (i % 10 == 0 ? 0 : sum[i - 1]) + (x[i] = rng.Uniform(-1, 1));
            float loss = mse.Forward(head.Forward(lstm.Forward(x).Output), sum);
            adam.ZeroGrad();
            lstm.Backward(head.Backward(mse.Backward()));                    // gradients accumulate in the parameters
            adam.Step();
            if (step % 100 == 0) Console.WriteLine($"step {step}: loss {loss:F4}");
        }
        // README example: end
    }

    [Fact]
    public void TheExampleLearnsTheRunningSum()
    {
        var output = new StringWriter();
        Example(output);
        var losses = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(5, losses.Length);
        // The running sum of 10 numbers from U(−1, 1) has mean square 5.5/3 ≈ 1.8 (the loss of predicting 0).
        Assert.True(losses[^1] < 0.01, string.Join(", ", losses));
    }

    [Fact]
    public void TheReadmeShowsExactlyThisCode()
    {
        string root = RepositoryRoot.Find();
        string[] source = File.ReadAllLines(Path.Combine(root, "tests", "Recurrent.Tests", "ReadmeExampleTests.cs"));
        int begin = Array.FindIndex(source, l => l.Trim() == "// README example: begin");
        int end = Array.FindIndex(source, l => l.Trim() == "// README example: end");
        var body = source[(begin + 1)..end];
        int indent = body.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        var expected = body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()).ToArray();

        string readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        int section = readme.IndexOf("## Use it in your project", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no section 'Use it in your project'");
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal);
        Assert.True(start >= 0, "the section has no ```csharp block");
        start += "```csharp\n".Length;
        string block = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        var lines = block.TrimEnd('\n').Split('\n');
        // The README adds the one line of usings a program needs, and a blank line.
        Assert.Equal(UsingLine, lines[0]);
        Assert.Equal("", lines[1]);
        Assert.Equal(expected, lines[2..]);
    }
}

/// <summary>The repository this test assembly was built from: the nearest directory above it holding Recurrent.slnx.</summary>
internal static class RepositoryRoot
{
    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Recurrent.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no Recurrent.slnx above {AppContext.BaseDirectory}");
    }
}
