using System.Globalization;
using System.Text.Json;
using Recurrent.Verification;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent verify FILE|DIR... [--json]`: runs each PyTorch reference file (directories: every *.safetensors below
/// them) through the library and prints PASS or FAIL per file, with the failing tensors and their largest errors.
/// Exit 0 when every file passes, 1 when any fails or cannot be read, 2 on a usage error.
/// </summary>
internal static class VerifyCommand
{
    public const string Summary = "compare outputs and gradients with PyTorch reference files (FILE|DIR... [--json])";

    private const string Usage = "usage: recurrent verify FILE|DIR... [--json]";

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help"))
        {
            stdout.WriteLine(Usage);
            stdout.WriteLine("  Checks every expected.* and grad.* tensor elementwise: " + RuleText + ".");
            stdout.WriteLine("  --json  print one JSON object with every file and tensor instead of text");
            return 0;
        }
        bool json = args.Flag("json");
        var paths = new List<string>(args.Positional);
        args.RejectUnknown();
        if (paths.Count == 0) throw CliArgs.Usage($"no reference files given ({Usage})");

        var outcomes = new List<Outcome>();
        foreach (string path in paths)
        {
            if (Directory.Exists(path))
            {
                var files = Directory.EnumerateFiles(path, "*.safetensors", SearchOption.AllDirectories)
                    .Order(StringComparer.Ordinal).ToList();
                if (files.Count == 0) outcomes.Add(Report(new Outcome(path, null, "no .safetensors files in this directory"), json, stdout));
                foreach (string file in files) outcomes.Add(Report(Verify(file), json, stdout));
            }
            else if (File.Exists(path)) outcomes.Add(Report(Verify(path), json, stdout));
            else outcomes.Add(Report(new Outcome(path, null, "no such file or directory"), json, stdout));
        }

        int failed = outcomes.Count(o => !o.Passed);
        if (json) WriteJson(stdout, outcomes, failed);
        else stdout.WriteLine($"{outcomes.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>A file's result, or why it could not be checked.</summary>
    private sealed record Outcome(string Path, ReferenceResult? Result, string? Error)
    {
        public bool Passed => Result is { Passed: true };
    }

    private static Outcome Verify(string path)
    {
        try
        {
            return new Outcome(path, ReferenceCase.Read(path).Run(), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // One bad file must not stop the others; the reason is reported as one line.
            string message = string.Join(' ', e.Message.Split('\n', '\r', StringSplitOptions.RemoveEmptyEntries));
            if (message.StartsWith(path + ": ", StringComparison.Ordinal)) message = message[(path.Length + 2)..];
            bool expected = e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException;
            return new Outcome(path, null, expected ? message : $"{e.GetType().Name}: {message}");
        }
    }

    private static Outcome Report(Outcome o, bool json, TextWriter stdout)
    {
        if (json) return o;
        if (o.Result is not { } r)
        {
            stdout.WriteLine($"FAIL {o.Path}: {o.Error}");
            return o;
        }
        TensorComparison worst = r.Worst;
        if (r.Passed)
        {
            stdout.WriteLine($"PASS {o.Path}  {r.Tensors.Count} tensors, worst {worst.Name} at {Percent(worst.WorstRatio)} " +
                             $"of tolerance (|error| {Sci(worst.MaxAbsError)})");
            return o;
        }
        var failing = r.Tensors.Where(t => !t.Passed).ToList();
        stdout.WriteLine($"FAIL {o.Path}  {failing.Count} of {r.Tensors.Count} tensors outside {RuleText}");
        foreach (TensorComparison t in failing)
        {
            if (t.Problem != null)
                stdout.WriteLine($"  {t.Name} {Describe(t.Shape)}: {t.Problem}");
            else
                stdout.WriteLine($"  {t.Name} {Describe(t.Shape)}: {t.Failures} of {t.Count} elements fail, max |error| {Sci(t.MaxAbsError)}; " +
                                 $"worst at {t.DescribeIndex(t.WorstIndex)}: actual {G(t.WorstActual)}, expected {G(t.WorstExpected)} " +
                                 $"({Ratio(t.WorstRatio)} the tolerance)");
        }
        return o;
    }

    private static void WriteJson(TextWriter stdout, List<Outcome> outcomes, int failed)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("passed", outcomes.Count - failed);
            w.WriteNumber("failed", failed);
            w.WriteStartObject("tolerance");
            w.WriteNumber("absolute", TensorComparison.Absolute);
            w.WriteNumber("relative", TensorComparison.Relative);
            w.WriteEndObject();
            w.WriteStartArray("files");
            foreach (Outcome o in outcomes)
            {
                w.WriteStartObject();
                w.WriteString("path", o.Path);
                w.WriteBoolean("passed", o.Passed);
                if (o.Result is not { } r)
                {
                    w.WriteString("error", o.Error);
                    w.WriteEndObject();
                    continue;
                }
                w.WriteString("name", r.Name);
                w.WriteString("mode", r.Mode);
                w.WriteStartArray("tensors");
                foreach (TensorComparison t in r.Tensors)
                {
                    w.WriteStartObject();
                    w.WriteString("name", t.Name);
                    w.WriteStartArray("shape");
                    foreach (int d in t.Shape) w.WriteNumberValue(d);
                    w.WriteEndArray();
                    w.WriteBoolean("passed", t.Passed);
                    if (t.Problem != null) w.WriteString("problem", t.Problem);
                    else
                    {
                        Number(w, "max_abs_error", t.MaxAbsError);
                        Number(w, "worst_ratio", t.WorstRatio);
                        w.WriteNumber("failures", t.Failures);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>JSON has no NaN or infinity: those become null.</summary>
    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>"|actual - expected| <= 1e-5 + 1e-4*|expected|".</summary>
    private static readonly string RuleText =
        $"|actual - expected| <= {TensorComparison.Absolute.ToString("0.###e-0", CultureInfo.InvariantCulture)} + " +
        $"{TensorComparison.Relative.ToString("0.###e-0", CultureInfo.InvariantCulture)}*|expected|";

    private static string Describe(int[] shape) => Recurrent.Tensors.Tensor.Describe(shape);
    private static string Sci(double v) => v.ToString("0.0e+00", CultureInfo.InvariantCulture);
    private static string G(float v) => v.ToString("G9", CultureInfo.InvariantCulture);
    private static string Percent(double ratio) => (100 * ratio).ToString(ratio < 0.1 ? "0.0" : "0", CultureInfo.InvariantCulture) + "%";
    private static string Ratio(double ratio) => double.IsFinite(ratio) ? ratio.ToString("0.#", CultureInfo.InvariantCulture) + "x" : "infinitely over";
}
