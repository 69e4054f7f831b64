using System.Globalization;
using System.Text.Json;
using Recurrent.IO;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Ctrl+C (SIGINT) saves as SIGTERM does, whatever the output is: the real `recurrent train` in a child process, its
/// stdout and stderr in files (as `2>file`, nohup or a pipe — not a terminal), interrupted long after its only
/// checkpoint: it must stop after the step, save it (weights and state at the last step logged) and exit 0.
/// </summary>
public class SignalDrillTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    [PosixTheory]
    [InlineData(ChildCli.SigInt, false)]
    [InlineData(ChildCli.SigInt, true)]
    [InlineData(ChildCli.SigTerm, true)]
    public void ASignalStopsAfterTheStepAndSavesItWhateverTheOutput(int signal, bool json)
    {
        string dir = _f.Path("m");
        string log = Path.Combine(dir, Checkpoint.LogFile);
        using var child = new ChildCli(_f.Dir, _f.Path("child"), ["train", "--data", _f.Data, "--out", dir, "--steps", "100000000",
            "--checkpoint-every", "100000000", "--log-every", "1", "--eval-every", "0", .. CharLmFixture.Tiny, .. json ? ["--json"] : Array.Empty<string>()]);
        Assert.True(child.WaitUntil(() => File.Exists(log) && File.ReadAllLines(log).Length >= 30, TimeSpan.FromSeconds(60)),
            $"training did not log 30 steps; stderr: {child.Stderr}");
        child.Signal(signal);
        int code = child.Wait(TimeSpan.FromSeconds(60));

        Assert.True(code == 0, $"exit {code}; stderr: {child.Stderr}");
        long lastLogged = TrainLog.Read(log).Last().Step;
        Assert.True(lastLogged >= 30);
        var state = SafeTensorsFile.Read(Path.Combine(dir, Checkpoint.StateFile));
        var weights = SafeTensorsFile.Read(Path.Combine(dir, Checkpoint.WeightsFile));
        Assert.Equal(lastLogged.ToString(CultureInfo.InvariantCulture), state.Metadata["step"]);
        Assert.Equal(lastLogged.ToString(CultureInfo.InvariantCulture), weights.Metadata["step"]);
        if (json)
        {
            using var doc = JsonDocument.Parse(child.Stdout);
            Assert.Equal(lastLogged, doc.RootElement.GetProperty("steps").GetInt64());
            Assert.Equal("", child.Stderr);
        }
        else
        {
            // Not a terminal: one progress line per log entry, each with the ETA the live line shows.
            string stderr = child.Stderr;
            Assert.Contains("stopping after this step and saving (Ctrl+C again to abort)", stderr);
            Assert.Contains("step 20 | epoch ", stderr);
            Assert.Matches(@"step 20 \| .* \| ETA \d", stderr);
            Assert.Contains($"done: step {lastLogged},", child.Stdout);
        }
    }
}
