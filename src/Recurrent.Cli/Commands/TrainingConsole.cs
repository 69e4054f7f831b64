using System.Runtime.InteropServices;
using Recurrent.Metrics;
using Recurrent.Training;
using static Recurrent.Cli.Commands.TrainCommand;

namespace Recurrent.Cli.Commands;

/// <summary>
/// Runs any task's training for a person at a console: the progress line, Ctrl+C and SIGTERM (stop after the step and
/// save; a second one ends the process at once), and the final checkpoint — the same for every task.
/// </summary>
internal static class TrainingConsole
{
    public static TrainingResult Run(ITaskTrainer trainer, string outDir, TextWriter stdout, TextWriter stderr, bool json,
        bool skipNonFinite = false)
    {
        bool ranks = trainer.Group.Size > 1, root = trainer.Group.Rank == 0;
        var observer = new ConsoleObserver(stdout, stderr, json || !root, live: ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);
        using var cancel = new CancellationTokenSource();
        // Ctrl+C (SIGINT) and `kill` (SIGTERM) stop after the step and save, whatever stdout and stderr are — a terminal,
        // a file, a pipe: the signal is what the person meant, not the console. A second one ends the process at once
        // (the handler leaves the default action). Under mpirun SIGUSR1 does that (mpirun forwards it to every rank);
        // SIGINT and SIGTERM come from mpirun ending the job — a rank died, or it was interrupted — and end the rank at
        // once: the others cannot finish a step without it.
        void OnSignal(PosixSignalContext context)
        {
            if (ranks && context.Signal != DataParallel.StopSignal)
            {
                if (root) stderr.WriteLine($"recurrent train: the job is ending ({context.Signal} from mpirun: a rank stopped, or it was interrupted); {outDir} keeps its last checkpoint");
                return;
            }
            if (cancel.IsCancellationRequested) return;
            context.Cancel = true;
            cancel.Cancel();
            observer.Stopping(context.Signal switch { PosixSignal.SIGINT => "Ctrl+C", PosixSignal.SIGTERM => "SIGTERM", _ => "SIGUSR1" });
        }
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var onStop = ranks ? PosixSignalRegistration.Create(DataParallel.StopSignal, OnSignal) : null;
        try { return new TrainingRun(trainer, outDir) { SkipNonFinite = skipNonFinite }.Run(observer, cancel.Token); }
        finally { observer.Finish(); }
    }

    /// <summary>
    /// How to run this program again, for the hints a command ends with: "recurrent" when that is on PATH (the
    /// installed tool); else, when it was built from a repository (`dotnet run`), the `dotnet run` that works from the
    /// current directory; else the program as it was started.
    /// </summary>
    internal static string Command()
    {
        string name = OperatingSystem.IsWindows() ? "recurrent.exe" : "recurrent";
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, name))) return "recurrent";
        string project = Path.Combine("src", "Recurrent.Cli");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, project, "Recurrent.Cli.csproj")))
                return $"dotnet run --project {Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(dir.FullName, project))} -c Release --";
        string? process = Environment.ProcessPath;
        return process == null ? "recurrent"
            : Path.GetFileNameWithoutExtension(process) == "dotnet" ? $"dotnet {typeof(Cli).Assembly.Location}" : process;
    }

    /// <summary>"val 0.4123 (…)" for a log line: bits/char for the char-lm, the task's metric for the others, else the
    /// perplexity.</summary>
    private static string Validation(TrainLogEntry e, double loss) =>
        e.MetricName is { } name && e.Metric is { } m ? $" | dev loss {loss:F4} {name["dev_".Length..].Replace('_', ' ')} {m:F4}"
            : e.PerCharacter ? $" | val {loss:F4} ({LanguageModelMetrics.BitsPerChar(loss):F3} bits/char)"
            : $" | dev loss {loss:F4} (perplexity {LanguageModelMetrics.Perplexity(loss):F2})";

    /// <summary>
    /// Progress for a person: on a terminal one line on stderr rewritten in place (at most 4 times a second); otherwise
    /// one line per log entry, with the ETA the live line would show. Samples go to stdout. With --json nothing is printed.
    /// </summary>
    private sealed class ConsoleObserver(TextWriter stdout, TextWriter stderr, bool quiet, bool live) : ITrainingObserver
    {
        public bool Live => live && !quiet;
        private long _lastDraw;
        private int _width;
        private double? _eta;

        public void OnStep(TrainingStatus s)
        {
            _eta = s.EtaSeconds;
            if (!Live) return;
            long now = Environment.TickCount64;
            if (now - _lastDraw < 250) return;
            _lastDraw = now;
            string line = $"step {s.Step} | epoch {s.Epoch:F2} | loss {s.Loss:F4}" +
                          (s.Validation is { } v ? (v.Metric is { } m ? $" | dev {m:F4}" : $" | val {v.Loss:F4}") : "") +
                          $" | {s.TokensPerSecond:N0} tok/s | {FormatDuration(s.Seconds)}" +
                          (s.EtaSeconds is { } eta ? $" | ETA {FormatDuration(eta)}" : "");
            stderr.Write("\r" + line.PadRight(_width));
            _width = line.Length;
        }

        public void OnLog(TrainLogEntry e)
        {
            if (quiet || (Live && e.ValLoss == null)) return;
            Clear();
            string line = $"step {e.Step} | epoch {e.Epoch:F2} | loss {e.TrainLoss:F4}" +
                          (e.ValLoss is { } v ? Validation(e, v) : "") +
                          $" | {e.TokensPerSecond:N0} tok/s | {FormatDuration(e.Seconds)}" +
                          (_eta is { } eta ? $" | ETA {FormatDuration(eta)}" : "") +
                          (e.SkippedNonFinite > 0 ? $" | {e.SkippedNonFinite} non-finite steps skipped" : "");
            stderr.WriteLine(line);
        }

        /// <summary>Says that a signal asked the run to stop (on the signal's thread: one whole line).</summary>
        public void Stopping(string signal)
        {
            if (quiet) return;
            stderr.WriteLine($"{(Live && _width > 0 ? "\n" : "")}stopping after this step and saving ({signal} again to abort)");
            _width = 0;
        }

        public void OnSample(long step, string text)
        {
            if (quiet) return;
            Clear();
            stdout.WriteLine($"--- sample at step {step} ---");
            stdout.WriteLine(text);
            stdout.WriteLine("---");
            stdout.Flush();
        }

        public void Finish() => Clear();

        private void Clear()
        {
            if (!Live || _width == 0) return;
            stderr.Write("\r" + new string(' ', _width) + "\r");
            _width = 0;
        }
    }
}
