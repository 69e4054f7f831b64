using System.Globalization;
using System.Numerics;

namespace Recurrent.Cli;

/// <summary>
/// `--name value`, `--name=value` and bare `--flag` options plus positional words. Every option a command reads is
/// marked as known; <see cref="RejectUnknown"/> then names any option the user gave that the command does not take.
/// The parser cannot know which options are flags, so "--json dir" first reads "dir" as the value of --json; reading
/// --json as a <see cref="Flag"/> gives "dir" back to the positional words. Commands read their flags first.
/// A lone "-h" is "--help". A number out of range is told what it broke: "at most MAX" when too large (however large:
/// it is read as a whole number of any size first), "positive" or the whole range when too small.
/// </summary>
public sealed class CliArgs
{
    private readonly string _verb;
    private readonly Dictionary<string, string?> _options = new();
    private readonly Dictionary<string, int> _positionAfter = new();   // option -> how many positional words preceded it
    private readonly HashSet<string> _inline = new();                  // options given as --name=value
    private readonly HashSet<string> _read = new();
    private readonly TextWriter _warnings;
    private bool _threadsWarned;
    public List<string> Positional { get; } = new();

    /// <param name="warnings">where a warning goes (one line; the command goes on): stderr; none when null.</param>
    public CliArgs(string verb, string[] args, TextWriter? warnings = null)
    {
        _verb = verb;
        _warnings = warnings ?? TextWriter.Null;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i] == "-h" ? "--help" : args[i]; // "-h" as a value ("--prime -h") was taken with its option
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

    /// <summary>Whether --help (or -h) was given, without counting --help as read by the command.</summary>
    public bool AsksForHelp => _options.ContainsKey("help");

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

    /// <summary>
    /// The value of an option the command cannot run without: "--NAME PLACEHOLDER is required (PURPOSE)" when it is
    /// missing — unless the user gave a misspelling of it, which is what they need to hear about instead.
    /// </summary>
    public string Required(string name, string placeholder, string purpose)
    {
        if (String(name) is { } value) return value;
        foreach (string given in _options.Keys)
            if (!_read.Contains(given) && IsNearMiss(given, name)) throw Usage($"unknown option --{given} (did you mean --{name}?)");
        throw Usage($"--{name} {placeholder} is required ({purpose})");
    }

    /// <summary><see cref="Required"/> for a directory (a model's): one that exists as a file is named as such.</summary>
    public string RequiredDirectory(string name, string purpose) =>
        NotAFile(name, Required(name, "DIR", purpose), purpose);

    /// <summary>An optional directory option (--resume DIR): null when not given; a file is refused.</summary>
    public string? OptionalDirectory(string name, string purpose) =>
        String(name) is { } value ? NotAFile(name, value, purpose) : null;

    private static string NotAFile(string name, string path, string purpose) =>
        File.Exists(path) ? throw Usage($"--{name} '{path}' is a file, not a directory ({purpose})") : path;

    /// <summary>
    /// A file to write (--out FILE): refused before any work when it names a directory or its directory does not
    /// exist, which would otherwise fail at the end with the operating system's words.
    /// </summary>
    public string OutputFile(string name, string fallback)
    {
        string path = String(name, fallback);
        if (Directory.Exists(path))
            throw Usage($"--{name} '{path}' is a directory: give a file name, such as '{Path.Combine(path, Path.GetFileName(fallback))}'");
        string? parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent != null && !Directory.Exists(parent)) throw new CliException($"the directory of --{name} '{path}' does not exist");
        return path;
    }

    /// <summary>
    /// --threads N (1 to 1024), or null when not given. More threads than cores only slows the GEMM down (they take
    /// turns on the cores and wait for each other at every product), so N is capped at
    /// <see cref="Environment.ProcessorCount"/> with one warning.
    /// </summary>
    public int? Threads()
    {
        if (OptionalInt("threads", 1, 1024) is not { } threads) return null;
        int cores = Environment.ProcessorCount;
        if (threads <= cores) return threads;
        if (!_threadsWarned)
            _warnings.WriteLine($"recurrent {_verb}: warning: --threads {threads} is more than the {cores} cores available; using {cores}");
        _threadsWarned = true;
        return cores;
    }

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? s = String(name);
        if (s == null) return fallback;
        // Read as a whole number of any size first: "99999999999" is too large, not "not a whole number".
        if (!BigInteger.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out BigInteger v))
            throw Usage($"--{name} must be a whole number (got '{s}')");
        if (v < min) throw Usage($"--{name} must be {BelowText(min, max)} (got {s})");
        if (v > max) throw Usage($"--{name} must be at most {max.ToString(CultureInfo.InvariantCulture)} (got {s})");
        return (int)v;
    }

    public int? OptionalInt(string name, int min = int.MinValue, int max = int.MaxValue) =>
        Has(name) ? Int(name, 0, min, max) : null;

    public double Double(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        string? s = String(name);
        if (s == null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw Usage($"--{name} must be a number (got '{s}')");
        if (v < min) throw Usage($"--{name} must be {BelowText(min, max)} (got {s})");
        if (v > max) throw Usage($"--{name} must be at most {max.ToString(CultureInfo.InvariantCulture)} (got {s})");
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
        {
            if (_read.Contains(name)) continue;
            string? like = _read.Where(known => IsNearMiss(name, known)).OrderBy(known => EditDistance(name, known)).FirstOrDefault();
            throw Usage(like != null ? $"unknown option --{name} (did you mean --{like}?)" : $"unknown option --{name} (see 'recurrent {_verb} --help')");
        }
    }

    /// <summary>A typo of <paramref name="known"/>: one edit away, or two for names of five letters or more.</summary>
    private static bool IsNearMiss(string given, string known) =>
        given != known && EditDistance(given, known) <= (known.Length >= 5 ? 2 : 1);

    /// <summary>Insertions, deletions, substitutions and swaps of two neighbours that turn a into b ("modle" → "model": 1).</summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }

    public static CliException Usage(string message) => new(message, 2);

    /// <summary>
    /// What a value below <paramref name="min"/> is told: "positive" for the smallest double (--lr), the whole range
    /// when there is an upper bound too, else "at least MIN".
    /// </summary>
    private static string BelowText(double min, double max) =>
        min == double.Epsilon ? "positive"
        : double.IsPositiveInfinity(max) || max == int.MaxValue ? $"at least {min.ToString(CultureInfo.InvariantCulture)}"
        : $"between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}";
}
