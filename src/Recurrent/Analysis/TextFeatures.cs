namespace Recurrent.Analysis;

/// <summary>
/// Per-character features of a text that a char-LM's cells may track (Karpathy, Johnson &amp; Fei-Fei 2015), one value
/// per character (a Unicode code point, as <see cref="Data.Vocabulary"/> counts them). N = characters, F = features.
/// Each value is the text's state after reading character t, as a model's state is after reading it:
///
///   in quotes      1 inside a double-quoted string (the opening quote included, the closing one not), else 0
///   line position  characters since the last newline (a newline itself is 0, the first character of a line 1)
///   bracket depth  brackets (, [, { opened and not yet closed (a closer without an opener leaves it at 0)
///   indentation    spaces and tabs at the start of the current line read so far (0 right after a newline)
///   in comment     1 inside a // or /* */ comment (its opening characters included, the newline or "*/" not)
///   speaker line   1 on a line that follows a blank line (or starts the text) and ends with ':', its newline
///                  included: tiny-shakespeare's "First Citizen:" lines. The one feature that looks ahead.
///
/// One small C-like lexer serves prose and code alike: quotes, brackets and comment marks count only in code, not
/// inside strings or comments. Strings are C#'s: "…" with backslash escapes (ended by a newline too, so one stray
/// quote cannot flip the rest of a text), verbatim @"…" with "" for a quote, raw """…""" (three or more quotes, ended by
/// as many); in an interpolated string ($"…{x}…", $@"…", $$"""…{{x}}…""") the holes are code, not quotes ("{{" in a
/// regular one is a brace); a character literal ('"', '(', '\'') is skipped, which an apostrophe in prose never matches unless the
/// character after next is an apostrophe too.
/// </summary>
public sealed class TextFeatures
{
    /// <summary>F: the features, in order (see the class comment).</summary>
    public static readonly string[] Names = ["in quotes", "line position", "bracket depth", "indentation", "in comment", "speaker line"];

    /// <summary>N: characters.</summary>
    public int Length { get; }
    /// <summary>[F, N]: feature f's value after character t at f·N + t, features in <see cref="Names"/> order.</summary>
    public float[] Values { get; }

    private TextFeatures(int length, float[] values) => (Length, Values) = (length, values);

    /// <summary>F: the number of features.</summary>
    public int Count => Names.Length;

    /// <summary>Feature f's values over the text [N].</summary>
    public ReadOnlySpan<float> Feature(int f) =>
        (uint)f < (uint)Names.Length ? Values.AsSpan(f * Length, Length)
            : throw new ArgumentOutOfRangeException(nameof(f), $"feature {f} is outside the {Names.Length} features");

    /// <summary>The values of the feature of this name [N]; throws <see cref="ArgumentException"/> for an unknown name.</summary>
    public ReadOnlySpan<float> Feature(string name)
    {
        int f = Array.IndexOf(Names, name);
        return f >= 0 ? Feature(f) : throw new ArgumentException($"unknown feature '{name}' (features: {string.Join(", ", Names)})");
    }

    private enum Mode { Code, String, Verbatim, Raw, LineComment, BlockComment }

    /// <summary>Every feature after every character (code point) of <paramref name="text"/>.</summary>
    public static TextFeatures Compute(string text)
    {
        int[] c = text.EnumerateRunes().Select(r => r.Value).ToArray();
        int N = c.Length;
        var values = new float[Names.Length * N];
        Span<float> quote = values.AsSpan(0, N), position = values.AsSpan(N, N), depth = values.AsSpan(2 * N, N),
            indent = values.AsSpan(3 * N, N), comment = values.AsSpan(4 * N, N), speaker = values.AsSpan(5 * N, N);

        var mode = Mode.Code;
        int rawQuotes = 0, dollars = 0;  // the string being read: a raw one's quotes, an interpolated one's '$'s
        var holes = new List<Hole>();    // the interpolated strings whose {holes} are being read, innermost last
        int brackets = 0, column = 0, indentation = 0;
        bool lineStart = true; // only spaces and tabs so far on this line
        for (int t = 0; t < N; t++)
        {
            int ch = c[t];
            // How many characters this step covers (a character literal, an escape, a quote pair or run is one unit).
            int span = 1;
            switch (mode)
            {
                case Mode.Code when holes.Count > 0 && ch == '}' && holes[^1].Braces == 0 && Run(c, t, '}') >= holes[^1].Dollars:
                    // The end of an interpolation hole: back inside its string.
                    (mode, rawQuotes, dollars, span) = (holes[^1].Mode, holes[^1].Quotes, holes[^1].Dollars, holes[^1].Dollars);
                    holes.RemoveAt(holes.Count - 1);
                    break;
                case Mode.Code:
                    if (ch == '"')
                    {
                        // The prefix: '@' makes a verbatim string, each '$' an interpolated one.
                        int prefix = t, at = 0;
                        while (prefix > 0 && c[prefix - 1] is '$' or '@') { prefix--; if (c[prefix] == '@') at++; }
                        dollars = t - prefix - at;
                        int run = Run(c, t, '"');
                        if (run >= 3) { mode = Mode.Raw; rawQuotes = run; span = run; }
                        else if (run == 2) span = 2;  // "": an empty string, in and out at once
                        else mode = at > 0 ? Mode.Verbatim : Mode.String;
                    }
                    else if (ch == '\'' && CharLiteral(c, t) is > 0 and int literal) span = literal;
                    else if (ch == '/' && t + 1 < N && c[t + 1] == '/') { mode = Mode.LineComment; span = 2; }
                    else if (ch == '/' && t + 1 < N && c[t + 1] == '*') { mode = Mode.BlockComment; span = 2; }
                    else if (ch is '(' or '[' or '{')
                    {
                        brackets++;
                        if (ch == '{' && holes.Count > 0) holes[^1] = holes[^1] with { Braces = holes[^1].Braces + 1 };
                    }
                    else if (ch is ')' or ']' or '}')
                    {
                        brackets = Math.Max(0, brackets - 1);
                        if (ch == '}' && holes.Count > 0) holes[^1] = holes[^1] with { Braces = Math.Max(0, holes[^1].Braces - 1) };
                    }
                    break;
                case Mode.String:
                    if (ch == '\\' && t + 1 < N && c[t + 1] != '\n') span = 2;
                    else if (ch is '"' or '\n') mode = Mode.Code;
                    else if (ch == '{' && dollars > 0) span = OpenHole(c, t, ref mode, rawQuotes, dollars, holes);
                    break;
                case Mode.Verbatim:
                    if (ch == '"' && t + 1 < N && c[t + 1] == '"') span = 2;
                    else if (ch == '"') mode = Mode.Code;
                    else if (ch == '{' && dollars > 0) span = OpenHole(c, t, ref mode, rawQuotes, dollars, holes);
                    break;
                case Mode.Raw:
                    if (ch == '"' && Run(c, t, '"') >= rawQuotes) { span = rawQuotes; mode = Mode.Code; }
                    else if (ch == '{' && dollars > 0) span = OpenHole(c, t, ref mode, rawQuotes, dollars, holes);
                    break;
                case Mode.LineComment:
                    if (ch == '\n') mode = Mode.Code;
                    break;
                case Mode.BlockComment:
                    if (ch == '*' && t + 1 < N && c[t + 1] == '/') { span = 2; mode = Mode.Code; }
                    break;
            }

            // The covered characters share the mode's flags; a closing mark (quote, "*/") reads as already outside.
            float inQuotes = mode is Mode.String or Mode.Verbatim or Mode.Raw ? 1 : 0;
            float inComment = mode is Mode.LineComment or Mode.BlockComment ? 1 : 0;
            for (int i = t; i < t + span && i < N; i++)
            {
                if (c[i] == '\n') { column = 0; indentation = 0; lineStart = true; }
                else
                {
                    column++;
                    if (lineStart && c[i] is ' ' or '\t') indentation++;
                    else lineStart = false;
                }
                quote[i] = inQuotes;
                comment[i] = inComment;
                position[i] = column;
                indent[i] = indentation;
                depth[i] = brackets;
            }
            t += span - 1;
        }
        MarkSpeakerLines(c, speaker);
        return new TextFeatures(N, values);
    }

    /// <summary>An interpolated string whose hole is being read: its kind, quotes and '$'s, and the braces open in the hole.</summary>
    private readonly record struct Hole(Mode Mode, int Quotes, int Dollars, int Braces);

    /// <summary>
    /// At a '{' inside an interpolated string with <paramref name="dollars"/> '$'s: a run of that many braces opens a
    /// hole (code until the matching '}'s); a longer run of a regular or verbatim string ("{{") is a literal brace pair.
    /// Returns the characters covered.
    /// </summary>
    private static int OpenHole(int[] c, int t, ref Mode mode, int rawQuotes, int dollars, List<Hole> holes)
    {
        int run = Run(c, t, '{');
        if (mode != Mode.Raw && run >= 2) return 2;
        if (run < dollars) return run;
        holes.Add(new Hole(mode, rawQuotes, dollars, 0));
        mode = Mode.Code;
        return run; // for a raw string, the braces beyond the hole's own are its content's: counted with it
    }

    /// <summary>How many times <paramref name="ch"/> repeats from position t on.</summary>
    private static int Run(int[] c, int t, int ch)
    {
        int n = 0;
        while (t + n < c.Length && c[t + n] == ch) n++;
        return n;
    }

    /// <summary>The length of a character literal starting at the apostrophe at t ('x' or '\x' or '\u0022'), or 0.</summary>
    private static int CharLiteral(int[] c, int t)
    {
        if (t + 2 < c.Length && c[t + 1] != '\\' && c[t + 1] != '\n' && c[t + 1] != '\'' && c[t + 2] == '\'') return 3;
        if (t + 1 < c.Length && c[t + 1] == '\\')
            for (int i = t + 3; i < c.Length && i <= t + 9 && c[i] != '\n'; i++)
                if (c[i] == '\'') return i - t + 1;
        return 0;
    }

    /// <summary>Lines that follow a blank line (or start the text) and end with ':' (trailing spaces aside), newline included.</summary>
    private static void MarkSpeakerLines(int[] c, Span<float> speaker)
    {
        bool afterBlank = true;
        for (int start = 0; start < c.Length;)
        {
            int end = start;
            while (end < c.Length && c[end] != '\n') end++;   // the line is [start, end), its newline at end
            int last = end - 1;
            while (last >= start && c[last] is ' ' or '\t' or '\r') last--;
            bool blank = last < start;
            if (afterBlank && !blank && c[last] == ':')
                speaker.Slice(start, Math.Min(end + 1, c.Length) - start).Fill(1);
            afterBlank = blank;
            start = end + 1;
        }
    }
}
