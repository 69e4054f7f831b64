using System.Globalization;
using Recurrent.IO;
using Recurrent.Training;
using Xunit;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Reliability drill (issue 14): `recurrent train --checkpoint-every 1` killed with SIGKILL at random moments (seeded),
/// <see cref="Trials"/> times. Whatever the moment — mid-step, mid-save of one file or between two — every model
/// directory must sample (config.json + weights.safetensors), its best/ too, and resume (config.json +
/// optimizer.safetensors) to continue with a log that tells one history; the hidden temporary files a kill leaves are
/// never read and are gone after the resume.
/// </summary>
public class KillDrillTests(ITestOutputHelper output) : IDisposable
{
    public const int Trials = 20;
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [PosixFact]
    public void EveryDirectoryKilledWhileTrainingSamplesAndResumes()
    {
        string data = _f.Write("long.txt", string.Concat(Enumerable.Repeat(CharLmFixture.Text, 10)));
        var rng = new Random(14);
        int leftTemporaries = 0;
        var killedAt = new List<long>();
        for (int trial = 0; trial < Trials; trial++)
        {
            string dir = _f.Path($"m{trial}");
            // The moment: after a random number of logged steps (0: right after the first save), plus up to 100 ms.
            int afterSteps = rng.Next(0, 25), delayMs = rng.Next(0, 100);
            using (var child = new ChildCli(_f.Dir, _f.Path($"child{trial}"), ["train", "--data", data, "--out", dir, "--steps", "1000000",
                       "--checkpoint-every", "1", "--eval-every", "3", "--log-every", "1", "--json", .. CharLmFixture.Tiny]))
            {
                // The directory is loadable once config.json exists (written last by the first save): kill after it.
                Assert.True(child.WaitUntil(() => File.Exists(Path.Combine(dir, Checkpoint.ConfigFile)) && LoggedLines(dir) >= afterSteps,
                    TimeSpan.FromSeconds(60)), $"trial {trial}: training never reached step {afterSteps}; stderr: {child.Stderr}");
                Thread.Sleep(delayMs);
                child.KillHard();
                child.Wait(TimeSpan.FromSeconds(30));
            }
            leftTemporaries += Temporaries(dir).Count;

            long step = StateStep(dir);
            killedAt.Add(step);
            CharLmFixture.Ok("sample", "--model", dir, "--length", "20", "--json", "--threads", "1");
            string best = Path.Combine(dir, Checkpoint.BestDir);
            if (File.Exists(Path.Combine(best, Checkpoint.ConfigFile)))
                CharLmFixture.Ok("sample", "--model", best, "--length", "20", "--json", "--threads", "1");

            string resumed = CharLmFixture.Ok("train", "--resume", dir, "--steps", (step + 2).ToString(CultureInfo.InvariantCulture),
                "--json", "--threads", "1");
            Assert.Contains($"\"steps\":{step + 2},", resumed);
            Assert.Empty(Temporaries(dir));
            var log = TrainLog.Read(Path.Combine(dir, Checkpoint.LogFile));
            Assert.Equal(Enumerable.Range(1, (int)step + 2).Select(i => (long)i), log.Select(e => e.Step));
            Assert.Equal(step + 2, StateStep(dir));
        }
        output.WriteLine($"{Trials} trials killed at checkpoint steps {string.Join(", ", killedAt)}; " +
                         $"{leftTemporaries} temporary files left by the kills, all removed by the resumes");
        Assert.True(killedAt.Count(s => s > 0) >= Trials / 2, "most kills came before the first step: the drill did not kill training");
    }

    private static int LoggedLines(string dir)
    {
        string log = Path.Combine(dir, Checkpoint.LogFile);
        try { return File.Exists(log) ? File.ReadAllText(log).Count(c => c == '\n') : 0; }
        catch (IOException) { return 0; }
    }

    private static long StateStep(string dir) =>
        long.Parse(SafeTensorsFile.Read(Path.Combine(dir, Checkpoint.StateFile)).Metadata["step"], CultureInfo.InvariantCulture);

    private static List<string> Temporaries(string dir) =>
        [.. new[] { dir, Path.Combine(dir, Checkpoint.BestDir) }.Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, ".*.tmp"))];
}
