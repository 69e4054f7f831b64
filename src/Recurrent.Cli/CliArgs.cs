using System.Globalization;

namespace Recurrent.Cli;

/// <summary>
/// `--name value`, `--name=value` and bare `--flag` options plus positional words. Every option a command reads is
/// marked as known; <see cref="RejectUnknown"/> then names any option the user gave that the command does not take.
/// The parser cannot know which options are flags, so "--json dir" first reads "dir" as the value of --json; reading
/// --json as a <see cref="Flag"/> gives "dir" back to the positional words. Commands read their flags first.
/// </summary>
public sealed class CliArgs
{
    private readonly string _verb;
    private readonly Dictionary<string, string?> _options = new();
    private readonly Dictionary<string, int> _positionAfter = new();   // option -> how many positional words preceded it
    private readonly HashSet<string> _inline = new();                  // options given as --name=value
    private readonly HashSet<string> _read = new();
    public List<string> Positional { get; } = new();

    public CliArgs(string verb, string[] args)
    {
        _verb = verb;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a == "--") { Positional.Add(a); continue; }
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; _inline.Add(name); }
            else if (i + 1 < args.Length && !IsOptionName(args[i + 1])) value = args[++i];
            if (_options.ContainsKey(name)) throw Usage($"--{name} given twice");
            _options[name] = value;
            _positionAfter[name] = Positional.Count;
        }
    }

    /// <summary>A word starting with "--" is an option; "-1" or "-0.5" is a value.</summary>
    private static bool IsOptionName(string word) => word.StartsWith("--", StringComparison.Ordinal) && word.Length > 2;

    public bool Has(string name) { _read.Add(name); return _options.ContainsKey(name); }

    public bool Flag(string name)
    {
        if (!Has(name)) return false;
        string? v = _options[name];
        if (v is null or "true") return true;
        if (v == "false") return false;
        if (_inline.Contains(name)) throw Usage($"--{name} takes no value (got '{v}')");
        // "--json dir": the word after a flag is a positional word.
        Positional.Insert(_positionAfter[name], v);
        _options[name] = null;
        return true;
    }

    public string? String(string name)
    {
        if (!Has(name)) return null;
        return _options[name] ?? throw Usage($"--{name} needs a value");
    }

    public string String(string name, string fallback) => String(name) ?? fallback;

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? s = String(name);
        if (s == null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw Usage($"--{name} must be a whole number (got '{s}')");
        if (v < min || v > max) throw Usage($"--{name} must be {RangeText(min, max)} (got {v})");
        return v;
    }

    public int? OptionalInt(string name, int min = int.MinValue, int max = int.MaxValue) =>
        Has(name) ? Int(name, 0, min, max) : null;

    public double Double(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        string? s = String(name);
        if (s == null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw Usage($"--{name} must be a number (got '{s}')");
        if (v < min || v > max) throw Usage($"--{name} must be {RangeText(min, max)} (got {s})");
        return v;
    }

    public string Choice(string name, string fallback, params string[] choices)
    {
        string v = String(name, fallback);
        if (!choices.Contains(v)) throw Usage($"--{name} must be one of {string.Join(", ", choices)} (got '{v}')");
        return v;
    }

    /// <summary>Call after reading every option: an option the command never asked about is a mistake worth naming.</summary>
    public void RejectUnknown()
    {
        foreach (string name in _options.Keys)
            if (!_read.Contains(name)) throw Usage($"unknown option --{name} (see 'recurrent {_verb} --help')");
    }

    public static CliException Usage(string message) => new(message, 2);

    private static string RangeText(double min, double max) =>
        (double.IsNegativeInfinity(min) || min == int.MinValue, double.IsPositiveInfinity(max) || max == int.MaxValue) switch
        {
            (true, true) => "a number",
            (false, true) => $"at least {min.ToString(CultureInfo.InvariantCulture)}",
            (true, false) => $"at most {max.ToString(CultureInfo.InvariantCulture)}",
            _ => $"between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}",
        };
}
