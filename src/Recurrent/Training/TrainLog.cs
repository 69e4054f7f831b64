using System.Text;
using System.Text.Json;
using Recurrent.IO;

namespace Recurrent.Training;

/// <summary>One line of log.jsonl: the state of training after <see cref="Step"/> steps.</summary>
/// <param name="TrainLoss">mean training loss (nats/char) over the steps since the previous line.</param>
/// <param name="ValLoss">validation loss when it was evaluated at this step, else null.</param>
/// <param name="TokensPerSecond">training throughput over the steps since the previous line.</param>
/// <param name="Seconds">wall-clock training time of the model so far, over all runs.</param>
/// <param name="MetricName">the task's dev metric evaluated at this step ("dev_accuracy", "dev_f1", "dev_bleu"), else null.</param>
/// <param name="PerCharacter">the losses are per character (char-lm): the log adds bits per character.</param>
/// <param name="Step">optimizer steps taken.</param>
/// <param name="Epoch">epochs done, fractional.</param>
/// <param name="LearningRate">the learning rate of the last step (after the schedule).</param>
/// <param name="GradNorm">the last step's gradient norm before clipping.</param>
/// <param name="Metric">its value, higher is better, or null.</param>
public sealed record TrainLogEntry(long Step, double Epoch, double TrainLoss, double? ValLoss, double TokensPerSecond,
    double Seconds, float LearningRate, float GradNorm, string? MetricName = null, double? Metric = null, bool PerCharacter = true)
{
    /// <summary>Non-finite steps skipped so far in this run (--skip-nonfinite); written only when there are some.</summary>
    public long SkippedNonFinite { get; init; }
    /// <summary>With averaged weights (--ema), the validation loss of the weights being trained (ValLoss is the
    /// average's); written only then.</summary>
    public double? RawValLoss { get; init; }
}

/// <summary>
/// log.jsonl: one JSON object per logged step, appended as training goes (so another process can follow it). A line
/// torn by an interruption is at the end only and is skipped on reading; a resumed run first drops the lines after
/// its checkpoint so the log tells one consistent history.
/// </summary>
public static class TrainLog
{
    /// <summary>The entry as one line of JSON (no newline); NaN and infinities are written as null.</summary>
    public static string Format(TrainLogEntry e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("step", e.Step);
            w.WriteNumber("epoch", Math.Round(e.Epoch, 6));
            WriteNumber(w, "train_loss", e.TrainLoss);
            if (e.ValLoss is { } v)
            {
                WriteNumber(w, "val_loss", v);
                if (e.MetricName == null && e.PerCharacter) WriteNumber(w, "val_bits_per_char", Metrics.LanguageModelMetrics.BitsPerChar(v));
            }
            if (e.RawValLoss is { } raw) WriteNumber(w, "val_loss_raw", raw);
            if (e.MetricName != null && e.Metric is { } metric) WriteNumber(w, e.MetricName, metric);
            w.WriteNumber("tokens_per_second", Math.Round(e.TokensPerSecond, 1));
            w.WriteNumber("seconds", Math.Round(e.Seconds, 3));
            if (float.IsFinite(e.LearningRate)) w.WriteNumber("lr", e.LearningRate); else w.WriteNull("lr");
            if (float.IsFinite(e.GradNorm)) w.WriteNumber("grad_norm", e.GradNorm); else w.WriteNull("grad_norm");
            if (e.SkippedNonFinite > 0) w.WriteNumber("skipped_nonfinite", e.SkippedNonFinite);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>NaN and infinities are not JSON numbers: a diverged loss is written as null.</summary>
    private static void WriteNumber(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>Appends the entry's line to log.jsonl; an I/O failure is an <see cref="IOException"/> naming the step and the file.</summary>
    public static void Append(string path, TrainLogEntry entry)
    {
        try
        {
            AtomicFile.FaultInjection.Value?.Invoke(path);
            File.AppendAllText(path, Format(entry) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A torn line is at the end only, and skipped on reading.
            throw new IOException($"step {entry.Step} could not be logged to '{path}' ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    /// <summary>Every complete entry of the log; a malformed line before the last is an error naming its number.</summary>
    public static List<TrainLogEntry> Read(string path)
    {
        string[] lines = File.ReadAllText(path).Split('\n');
        var entries = new List<TrainLogEntry>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            bool last = i == lines.Length - 1; // no newline after it: possibly torn
            try
            {
                var f = JsonFields.Parse(lines[i], $"{path} line {i + 1}");
                entries.Add(new TrainLogEntry(f.Long("step", 0), f.Double("epoch", 0), NumberOrNaN(f, "train_loss"),
                    f.Has("val_loss") ? NumberOrNaN(f, "val_loss") : null, f.Double("tokens_per_second", 0), f.Double("seconds", 0),
                    (float)NumberOrNaN(f, "lr"), (float)NumberOrNaN(f, "grad_norm"), MetricOf(f).Name, MetricOf(f).Value)
                {
                    SkippedNonFinite = f.Has("skipped_nonfinite") ? f.Long("skipped_nonfinite", 0) : 0,
                    RawValLoss = f.Has("val_loss_raw") ? NumberOrNaN(f, "val_loss_raw") : null,
                });
            }
            catch (InvalidDataException) when (last) { }
        }
        return entries;
    }

    private static double NumberOrNaN(JsonFields f, string name) => f.Has(name) ? f.Double(name) : double.NaN;

    /// <summary>The dev metrics a log line may carry, in the order they are looked for.</summary>
    private static readonly string[] MetricNames = ["dev_accuracy", "dev_f1", "dev_token_accuracy", "dev_bleu"];

    private static (string? Name, double? Value) MetricOf(JsonFields f)
    {
        foreach (string name in MetricNames)
            if (f.Has(name)) return (name, f.Double(name));
        return (null, null);
    }

    /// <summary>Rewrites the log (atomically) without the entries after <paramref name="step"/>.</summary>
    public static void TruncateAfter(string path, long step)
    {
        if (!File.Exists(path)) return;
        var kept = Read(path).Where(e => e.Step <= step).Select(e => Format(e) + "\n");
        try { AtomicFile.WriteAllText(path, string.Concat(kept)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"'{path}' could not be rewritten without the steps after {step} ({e.Message.ReplaceLineEndings(" ")}); it is unchanged", e);
        }
    }
}
