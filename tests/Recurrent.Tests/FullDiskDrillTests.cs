using System.Globalization;
using Recurrent.IO;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Reliability drill (issue 14): a disk that fills up, or an output directory made read-only, while a model trains.
/// Root ignores permissions and a test cannot count on mounting a small file system, so the failure is injected: the
/// Nth write of the run (every file a checkpoint writes, the best model, every log line, the log's rewrite on resume)
/// throws what the system would, for every N the run has. Each must end the command with one line naming what could
/// not be written, leave no temporary file, and leave a directory that samples and resumes. (tests/drills/full-disk.sh
/// does it for real on a 1 MiB tmpfs where mounting is allowed.)
/// </summary>
public class FullDiskDrillTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static readonly string[] Resume = ["--steps", "12", "--checkpoint-every", "2", "--eval-every", "3", "--log-every", "1", "--json", "--threads", "1"];

    [Theory]
    [InlineData("full")]
    [InlineData("read-only")]
    public void AFailedWriteAnywhereEndsWithOneLineAndLeavesALoadableDirectory(string kind)
    {
        string start = _f.Train("start", "--steps", "4", "--checkpoint-every", "2", "--eval-every", "3", "--log-every", "1");

        // How many writes a resumed run to step 12 makes: each is failed in turn.
        int writes = 0;
        string counted = Copy(start, "counted");
        AtomicFile.FaultInjection.Value = _ => writes++;
        try { CharLmFixture.Ok(["train", "--resume", counted, .. Resume]); }
        finally { AtomicFile.FaultInjection.Value = null; }
        Assert.True(writes >= 20, $"{writes} writes"); // 8 log lines, 4 checkpoints of 3 files, best models of 2, the log rewrite

        for (int n = 1; n <= writes; n++)
        {
            string dir = Copy(start, $"{kind}-{n}");
            int count = 0;
            AtomicFile.FaultInjection.Value = path =>
            {
                if (++count != n) return;
                if (kind == "full") throw new IOException("No space left on device");
                throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
            };
            (int Code, string Out, string Err) run;
            try { run = CharLmFixture.Run(["train", "--resume", dir, .. Resume]); }
            finally { AtomicFile.FaultInjection.Value = null; }

            Assert.True(run.Code == 1, $"write {n}: exit {run.Code}, {run.Err}");
            Assert.Equal("", run.Out);
            Assert.Matches(@"^recurrent train: [^\n]*(could not be saved|could not be logged|could not be rewritten)[^\n]*" +
                           (kind == "full" ? "No space left on device" : "is denied") + @"[^\n]*\n$", run.Err);
            Assert.Empty(Directory.EnumerateFiles(dir, ".*.tmp", SearchOption.AllDirectories));

            // Whatever failed, every pair a reader uses is whole: sample reads config + weights, a resume config + state.
            long weightsStep = StepOf(dir, Checkpoint.WeightsFile), stateStep = StepOf(dir, Checkpoint.StateFile);
            Assert.True(weightsStep == stateStep || weightsStep == stateStep - 2, $"write {n}: weights at {weightsStep}, state at {stateStep}");
            CharLmFixture.Ok("sample", "--model", dir, "--length", "10", "--json", "--threads", "1");
            if (File.Exists(Path.Combine(dir, "best", Checkpoint.ConfigFile)))
                CharLmFixture.Ok("sample", "--model", Path.Combine(dir, "best"), "--length", "10", "--json", "--threads", "1");
            CharLmFixture.Ok(["train", "--resume", dir, .. Resume]);
            var log = TrainLog.Read(Path.Combine(dir, Checkpoint.LogFile));
            Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), log.Select(e => e.Step));
        }
    }

    private string Copy(string from, string name)
    {
        string to = _f.Path(name);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return to;
    }

    private static long StepOf(string dir, string file) =>
        long.Parse(SafeTensorsFile.Read(Path.Combine(dir, file)).Metadata["step"], CultureInfo.InvariantCulture);
}
