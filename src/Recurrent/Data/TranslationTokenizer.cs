using System.Text;
using System.Text.RegularExpressions;

namespace Recurrent.Data;

/// <summary>
/// The translation task's tokenizer, the same for both languages and the same function as the PyTorch peer's
/// <c>re.findall(r"\w+(?:['\-]\w+)*|[^\w\s]", text.lower().replace("\u2019", "'"))</c>:
///
///   1. lowercase (invariant culture; Python's str.lower),
///   2. replace U+2019 (’, the typographic apostrophe) by the ASCII apostrophe ',
///   3. the tokens are the matches of  \w+(?:['\-]\w+)*|[^\w\s] : a word is a run of word characters that may contain
///      single inner apostrophes and hyphens ("qu'est-ce", "rendez-vous"); every other character that is not a space is
///      a token of its own ("?", "«", "." — so "..." is three tokens).
///
/// "Qu'est-ce que c'est ?" gives ["qu'est-ce", "que", "c'est", "?"]; "Don't go—now!" gives ["don't", "go", "—",
/// "now", "!"]; "'Hi-' she said" gives ["'", "hi", "-", "'", "she", "said"] (an apostrophe or hyphen joins only
/// between word characters).
///
/// \w and \s are spelled as Python 3's re module defines them for str patterns, not as .NET does, so both sides cut
/// the same text the same way: a word character is a letter, a number or '_' ([\p{L}\p{N}_]; .NET's \w also takes
/// combining marks and connector punctuation, and misses numbers such as '²'), and the space characters are .NET's \s
/// plus U+001C..U+001F. The remaining differences are out of reach of a UTF-16 regex and do not occur in the
/// Tatoeba data: a letter or number outside the Basic Multilingual Plane (mathematical letters, historic scripts) is a
/// token of its own here but part of a word in Python (a surrogate pair is never split, so emoji agree), and
/// lowercasing differs for the few characters whose lowercase is longer or depends on context (İ, final Σ). On all
/// 74,413 lines of the data's train.tsv and dev.tsv both give the same tokens (compared once, line by line).
/// </summary>
public static partial class TranslationTokenizer
{
    /// <summary>The rule's name in a translation model's config.json: a model reads text only as it was trained to.</summary>
    public const string Name = "lowercase-words-punctuation";

    // The pattern above with \w = [\p{L}\p{N}_] and \s = [\s\x1C-\x1F] (Python's), plus a surrogate pair as one token.
    [GeneratedRegex(@"[\p{L}\p{N}_]+(?:['\-][\p{L}\p{N}_]+)*|[\uD800-\uDBFF][\uDC00-\uDFFF]|[^\p{L}\p{N}_\s\x1C-\x1F]",
        RegexOptions.CultureInvariant)]
    private static partial Regex TokenPattern();

    /// <summary>The tokens of <paramref name="text"/> as the class comment says; empty when it has none.</summary>
    public static string[] Tokenize(string text)
    {
        string normalized = text.ToLowerInvariant().Replace('\u2019', '\'');
        var matches = TokenPattern().Matches(normalized);
        var tokens = new string[matches.Count];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = matches[i].Value;
        return tokens;
    }

    /// <summary>
    /// Tokens joined for display, in the data's French typography: one space between tokens, except none before
    /// . , ) ] } … and none after ( [ {; ! ? : ; « » keep their space, as the data writes "Fantastique !" and
    /// « Regarde. ». ["il", "a", "dit", ":", "«", "regarde", ".", "»"] gives "il a dit : « regarde. »", and
    /// ["un", "instant", ".", ".", "."] gives "un instant...". Straight quotes, ambiguous between opening and closing,
    /// keep their spaces. <see cref="Tokenize"/>'s tokens, detokenized and tokenized again, come back unchanged (so the
    /// text shown scores the BLEU computed from the tokens).
    /// </summary>
    public static string Detokenize(IReadOnlyList<string> tokens)
    {
        var text = new StringBuilder();
        for (int i = 0; i < tokens.Count; i++)
        {
            if (i > 0 && !NoSpaceBefore(tokens[i]) && !NoSpaceAfter(tokens[i - 1])) text.Append(' ');
            text.Append(tokens[i]);
        }
        return text.ToString();
    }

    private static bool NoSpaceBefore(string token) => token is "." or "," or ")" or "]" or "}" or "\u2026";

    private static bool NoSpaceAfter(string token) => token is "(" or "[" or "{";
}
