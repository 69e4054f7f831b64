using System.Text.Json;
using System.Xml.Linq;
using Recurrent.Analysis;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// `analyze leaky` and its library: the two-time-scale task's targets, a tiny training run (deterministic; the learned
/// α moves, the fixed one does not) and the command's table, JSON and two SVG figures.
/// </summary>
public class AnalyzeLeakyTests
{
    [Fact]
    public void TheTargetsAreTheDelayedInputAndItsScaledAverage()
    {
        var task = new TwoTimescaleTask(Delay: 3, SlowTau: 10);
        const int T = 4000, B = 2;
        var input = new Tensor(T, B, 1);
        var target = new Tensor(T, B, 2);
        task.Generate(new Rng(5), input, target);
        double sumSquares = 0, slowSquares = 0;
        for (int b = 0; b < B; b++)
        {
            double s = 0;
            for (int t = 0; t < T; t++)
            {
                float u = input.Data[t * B + b];
                Assert.InRange(u, -MathF.Sqrt(3f), MathF.Sqrt(3f));
                sumSquares += u * u;
                Assert.Equal(t >= 3 ? input.Data[(t - 3) * B + b] : 0f, target.Data[(t * B + b) * 2]);
                s = 0.9 * s + 0.1 * u;
                Assert.Equal(s * Math.Sqrt(10 * 1.9), target.Data[(t * B + b) * 2 + 1], 1e-4);
                if (t >= 100) slowSquares += target.Data[(t * B + b) * 2 + 1] * target.Data[(t * B + b) * 2 + 1];
            }
        }
        Assert.InRange(sumSquares / (T * B), 0.9, 1.1);               // unit variance input
        Assert.InRange(slowSquares / ((T - 100) * B), 0.8, 1.2);      // and slow target
        Assert.Throws<ShapeException>(() => task.Generate(new Rng(1), new Tensor(5, 2, 2), new Tensor(5, 2, 2)));
        Assert.Throws<ArgumentException>(() => new TwoTimescaleTask(SlowTau: 0.5).Generate(new Rng(1), input, target));
    }

    [Fact]
    public void ATinyRunIsDeterministicAndOnlyALearnedLeakMoves()
    {
        var settings = new LeakyTimescales.Settings { Hidden = 6, Steps = 12, SeqLen = 15, Batch = 4, EvalEvery = 5, TestSequences = 3 };
        var learned = LeakyTimescales.Train(settings, Leak.Learn(0.5f), seed: 3);
        var again = LeakyTimescales.Train(settings, Leak.Learn(0.5f), seed: 3);
        Assert.Equal(learned.Curve, again.Curve);
        Assert.Equal(learned.Alpha, again.Alpha);
        Assert.Equal([0, 5, 10, 12], learned.Curve.Select(c => c.Step));
        Assert.Equal(learned.TestLoss, learned.Curve[^1].Loss);
        Assert.Equal((learned.FastLoss + learned.SlowLoss) / 2, learned.TestLoss, 12);
        Assert.True(learned.Curve[^1].Loss < learned.Curve[0].Loss, "twelve steps lower the test loss");
        Assert.Equal(learned.Alpha.Order(), learned.Alpha);
        Assert.Contains(learned.Alpha, a => Math.Abs(a - 0.5f) > 1e-3f);
        var fixedRun = LeakyTimescales.Train(settings, Leak.Fixed(0.2f), seed: 3);
        Assert.All(fixedRun.Alpha, a => Assert.Equal(0.2f, a));
        Assert.NotEqual(learned.TestLoss, fixedRun.TestLoss);
        Assert.Equal(2, LeakyTimescales.SlowUnits([0.01f, 0.1f, 0.2f, 0.9f], tau: 25)); // √(1/25) = 0.2
        Assert.Throws<ArgumentException>(() => LeakyTimescales.Train(settings with { Steps = 0 }, Leak.Default, 1));
    }

    [Fact]
    public void TheCommandPrintsJsonAndWritesBothFigures()
    {
        string dir = Directory.CreateTempSubdirectory("leaky").FullName;
        try
        {
            string svg = Path.Combine(dir, "l.svg");
            string[] tiny = ["analyze", "leaky", "--hidden", "5", "--steps", "8", "--seq-len", "12", "--batch", "3", "--tau", "6",
                "--small", "0.1", "--initial", "0.4", "--threads", "1", "--seed", "2", "--out", svg];
            var (code, output, error) = CharLmFixture.Run([.. tiny, "--json"]);
            Assert.True(code == 0, error);
            var r = JsonDocument.Parse(output).RootElement;
            var runs = r.GetProperty("runs").EnumerateArray().ToArray();
            Assert.Equal([1f, 0.1f, 0.4f], runs.Select(x => x.GetProperty("alpha").GetSingle()));
            Assert.Equal([false, false, true], runs.Select(x => x.GetProperty("learned").GetBoolean()));
            foreach (var run in runs)
            {
                Assert.True(run.GetProperty("test_loss").GetDouble() > 0);
                Assert.Equal((run.GetProperty("fast_loss").GetDouble() + run.GetProperty("slow_loss").GetDouble()) / 2,
                    run.GetProperty("test_loss").GetDouble(), 9);
                Assert.Equal(8, run.GetProperty("curve").EnumerateArray().Last()[0].GetInt32());
            }
            var alpha = r.GetProperty("learned_alpha").EnumerateArray().Select(a => a.GetSingle()).ToArray();
            Assert.Equal(5, alpha.Length);
            Assert.Equal(alpha.Order(), alpha);
            Assert.Equal(5, r.GetProperty("slow_units").GetInt32() + r.GetProperty("fast_units").GetInt32());
            Assert.Equal(6, r.GetProperty("task").GetProperty("slow_tau").GetDouble());
            string alphaSvg = Path.Combine(dir, "l-alpha.svg");
            Assert.Equal(alphaSvg, r.GetProperty("alpha_figure").GetString());
            Assert.Equal("svg", XDocument.Load(svg).Root!.Name.LocalName);
            Assert.Equal("svg", XDocument.Load(alphaSvg).Root!.Name.LocalName);
            Assert.Contains("α learned (from 0.4)", File.ReadAllText(svg));

            // The table: a header, three runs, the learned α; the same numbers as the JSON (same seed, same threads).
            string table = CharLmFixture.Ok(tiny);
            Assert.StartsWith("run ", table);
            Assert.Contains($"{runs[2].GetProperty("test_loss").GetDouble():G3}", table);
            Assert.Contains("learned α, sorted", table);
            Assert.Contains($"wrote {svg}", table);
            Assert.Contains("analyze leaky", CharLmFixture.Ok("analyze", "leaky", "--help"));
            Assert.Contains("leaky", CharLmFixture.Ok("analyze", "--help"));
            var (bad, _, badError) = CharLmFixture.Run("analyze", "leaky", "--small", "1.5");
            Assert.Equal(2, bad);
            Assert.Contains("--small", badError);
        }
        finally { Directory.Delete(dir, true); }
    }
}
