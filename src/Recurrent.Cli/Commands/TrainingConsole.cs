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
    public static TrainingResult Run(ITaskTrainer trainer, string outDir, TextWriter stdout, TextWriter stderr, bool json)
    {
        var observer = new ConsoleObserver(stdout, stderr, json, live: ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler? onCancel = null;
        if (observer.Live)
        {
            onCancel = (_, e) =>
            {
                if (cancel.IsCancellationRequested) return; // a second Ctrl+C ends the process
                e.Cancel = true;
                cancel.Cancel();
                stderr.WriteLine("\nstopping after this step and saving (Ctrl+C again to abort)");
            };
            Console.CancelKeyPress += onCancel;
        }
        // `kill` (SIGTERM) also stops after the step and saves; a second one ends the process at once.
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            if (cancel.IsCancellationRequested) return;
            context.Cancel = true;
            cancel.Cancel();
        });
        TrainingResult result;
        try { result = new TrainingRun(trainer, outDir).Run(observer, cancel.Token); }
        finally { if (onCancel != null) Console.CancelKeyPress -= onCancel; }
        observer.Finish();
        return result;
    }

    /// <summary>"val 0.4123 (…)" for a log line: bits/char for the char-lm, the task's metric for the others, else the
    /// perplexity.</summary>
    private static string Validation(TrainLogEntry e, double loss) =>
        e.MetricName is { } name && e.Metric is { } m ? $" | dev loss {loss:F4} {name["dev_".Length..].Replace('_', ' ')} {m:F4}"
            : e.PerCharacter ? $" | val {loss:F4} ({LanguageModelMetrics.BitsPerChar(loss):F3} bits/char)"
            : $" | dev loss {loss:F4} (perplexity {LanguageModelMetrics.Perplexity(loss):F2})";

    /// <summary>
    /// Progress for a person: on a terminal one line on stderr rewritten in place (at most 4 times a second); otherwise
    /// one line per log entry. Samples go to stdout. With --json nothing is printed.
    /// </summary>
    private sealed class ConsoleObserver(TextWriter stdout, TextWriter stderr, bool quiet, bool live) : ITrainingObserver
    {
        public bool Live => live && !quiet;
        private long _lastDraw;
        private int _width;

        public void OnStep(TrainingStatus s)
        {
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
                          $" | {e.TokensPerSecond:N0} tok/s | {FormatDuration(e.Seconds)}";
            stderr.WriteLine(line);
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
