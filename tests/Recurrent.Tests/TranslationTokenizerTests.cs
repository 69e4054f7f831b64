using Recurrent.Data;
using Xunit;

namespace Recurrent.Tests;

public class TranslationTokenizerTests
{
    // Lines of the Tatoeba en->fr data (the Tatoeba pairs docs/tasks.md trains on), copied so the test does not need it.
    public static TheoryData<string, string[]> DataExamples => new()
    {
        { "Qu'est-ce que c'est ?", ["qu'est-ce", "que", "c'est", "?"] },
        { "Awesome!", ["awesome", "!"] },
        { "Fantastique !", ["fantastique", "!"] },
        { "À plus tard !", ["à", "plus", "tard", "!"] },
        { "I'm okay.", ["i'm", "okay", "."] },
        { "Ai-je l'air vieux ?", ["ai-je", "l'air", "vieux", "?"] },
        { "Montre-le-nous !", ["montre-le-nous", "!"] },
        { "Je l\u2019ai vu.", ["je", "l'ai", "vu", "."] },                // ’ is read as '
        { "J\u2018aime celui-ci.", ["j", "\u2018", "aime", "celui-ci", "."] }, // ‘ is not an apostrophe
        { "Un instant...", ["un", "instant", ".", ".", "."] },
        { "Elle a dit : « Regarde. »", ["elle", "a", "dit", ":", "«", "regarde", ".", "»"] },
        { "\"I forgot,\" she said.", ["\"", "i", "forgot", ",", "\"", "she", "said", "."] },
        { "Call me at 9:00 tomorrow.", ["call", "me", "at", "9", ":", "00", "tomorrow", "."] },
        { "Appelle-moi à 9h00 demain.", ["appelle-moi", "à", "9h00", "demain", "."] },
        { "Je pèse environ 60 kilos.", ["je", "pèse", "environ", "60", "kilos", "."] },
    };

    [Theory]
    [MemberData(nameof(DataExamples))]
    public void TokenizesTheDataLikeThePeer(string text, string[] tokens) => Assert.Equal(tokens, TranslationTokenizer.Tokenize(text));

    [Fact]
    public void WordAndSpaceCharactersAreAsInPythonsRe()
    {
        // Expected tokens printed by Python 3.11's re.findall(r"\w+(?:['\-]\w+)*|[^\w\s]", s.lower().replace("\u2019", "'")).
        (string Text, string[] Tokens)[] cases =
        [
            ("x² + 3½ = y_1", ["x²", "+", "3½", "=", "y_1"]),                  // numbers are word characters; .NET's \w lacks ² and ½
            ("e\u0301t\u00e9", ["e", "\u0301", "té"]),                          // a combining mark is not (.NET's \w has it)
            ("Don\u2019t go\u2014now!", ["don't", "go", "\u2014", "now", "!"]),
            ("'Hi-' she said -- l'-", ["'", "hi", "-", "'", "she", "said", "-", "-", "l", "'", "-"]),
            ("Smile \U0001F600!", ["smile", "\U0001F600", "!"]),               // a surrogate pair stays whole
            ("a\u001Cb\u00A0c\u2009d", ["a", "b", "c", "d"]),                  // U+001C is space to Python, as are no-break and thin spaces
            ("rock\u2010n\u2010roll", ["rock", "\u2010", "n", "\u2010", "roll"]), // only ASCII - joins
            ("\u20AC5,000.50", ["\u20AC", "5", ",", "000", ".", "50"]),
        ];
        foreach (var (text, tokens) in cases) Assert.Equal(tokens, TranslationTokenizer.Tokenize(text));
        Assert.Empty(TranslationTokenizer.Tokenize(" \t\n "));
    }

    [Fact]
    public void DetokenizeWritesFrenchTypography()
    {
        Assert.Equal("fantastique !", TranslationTokenizer.Detokenize(["fantastique", "!"]));
        Assert.Equal("il a dit : « regarde. »", TranslationTokenizer.Detokenize(["il", "a", "dit", ":", "«", "regarde", ".", "»"]));
        Assert.Equal("un instant...", TranslationTokenizer.Detokenize(["un", "instant", ".", ".", "."]));
        Assert.Equal("oui, (enfin) [bon] {ok}\u2026 quoi ; non ?",
            TranslationTokenizer.Detokenize(["oui", ",", "(", "enfin", ")", "[", "bon", "]", "{", "ok", "}", "\u2026", "quoi", ";", "non", "?"]));
        Assert.Equal("", TranslationTokenizer.Detokenize([]));
        Assert.Equal(".", TranslationTokenizer.Detokenize(["."]));
    }

    [Fact]
    public void DetokenizedTextTokenizesBackToTheSameTokens()
    {
        foreach (var row in DataExamples)
        {
            string[] tokens = (string[])row[1];
            Assert.Equal(tokens, TranslationTokenizer.Tokenize(TranslationTokenizer.Detokenize(tokens)));
        }
    }
}
