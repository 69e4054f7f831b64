using Recurrent.Analysis;
using Xunit;

namespace Recurrent.Tests;

public class TextFeaturesTests
{
    private static float[] Of(TextFeatures f, string name) => f.Feature(name).ToArray();

    /// <summary>Digits as floats: "0011" -> [0, 0, 1, 1].</summary>
    private static float[] Digits(string s) => s.Select(c => (float)(c - '0')).ToArray();

    [Fact]
    public void LinePositionAndIndentationAreTheStateAfterEachCharacter()
    {
        var f = TextFeatures.Compute("ab\n  c d\n\tx\n");
        Assert.Equal(12, f.Length);
        //                               a  b  \n ' ' ' ' c  ' ' d  \n \t x  \n
        Assert.Equal([1, 2, 0, 1, 2, 3, 4, 5, 0, 1, 2, 0], Of(f, "line position"));
        Assert.Equal([0, 0, 0, 1, 2, 2, 2, 2, 0, 1, 1, 0], Of(f, "indentation"));
        Assert.All(Of(f, "in quotes"), v => Assert.Equal(0, v));
    }

    [Fact]
    public void QuotesBracketsAndCommentsCountOnlyInCode()
    {
        string text = "f(a[\"(x\\\"\"]) // q\"(\n{ '\"' }";
        var f = TextFeatures.Compute(text);
        // f ( a [ " ( x \ " " ] ) ␠ / / ␠ q " ( \n { ␠ ' " ' ␠ }
        Assert.Equal(Digits("000011111000000000000000000"), Of(f, "in quotes"));
        Assert.Equal(Digits("011222222210000000001111110"), Of(f, "bracket depth"));
        Assert.Equal(Digits("000000000000011111100000000"), Of(f, "in comment"));
    }

    [Fact]
    public void BlockCommentsVerbatimAndRawStrings()
    {
        var f = TextFeatures.Compute("/*(*/@\"a\"\"(\"+\"\"\"x\"y\"\"\"(");
        // / * ( * / @ " a " " ( " + " " " x " y " " " (
        Assert.Equal(Digits("11100000000000000000000"), Of(f, "in comment"));
        Assert.Equal(Digits("00000011111001111110000"), Of(f, "in quotes"));
        Assert.Equal(Digits("00000000000000000000001"), Of(f, "bracket depth"));
    }

    [Fact]
    public void InterpolationHolesAreCode_AndDoubledBracesAreText()
    {
        var f = TextFeatures.Compute("$\"a{f(\", \")}b\"");
        // $ " a { f ( " , ␠ " ) } b "
        Assert.Equal(Digits("01100011100110"), Of(f, "in quotes"));
        Assert.Equal(Digits("00000111110000"), Of(f, "bracket depth"));

        f = TextFeatures.Compute("$\"{{x}}\"");
        Assert.Equal(Digits("01111110"), Of(f, "in quotes"));
        Assert.All(Of(f, "bracket depth"), v => Assert.Equal(0, v));

        f = TextFeatures.Compute("$$\"\"\"a{{(x)}}\"\"\"(");
        // $ $ " " " a { { ( x ) } } " " " (
        Assert.Equal(Digits("00111100000110000"), Of(f, "in quotes"));
        Assert.Equal(Digits("00000000110000001"), Of(f, "bracket depth"));

        f = TextFeatures.Compute("@$\"{a}\"\"{{\"");
        // @ $ " { a } " " { { "
        Assert.Equal(Digits("00100111110"), Of(f, "in quotes"));
    }

    [Fact]
    public void ANewlineEndsAnUnclosedStringAndLineComment_AndStrayClosersStayAtZero()
    {
        var f = TextFeatures.Compute("\"ab\n)(x // c\ny");
        // " a b \n ) ( x ␠ / / ␠ c \n y
        Assert.Equal(Digits("11100000000000"), Of(f, "in quotes"));
        Assert.Equal(Digits("00000111111111"), Of(f, "bracket depth"));
        Assert.Equal(Digits("00000000111100"), Of(f, "in comment"));
    }

    [Fact]
    public void ApostrophesInProseAreNotCharacterLiterals()
    {
        var f = TextFeatures.Compute("know't (we 'tis) '('(");
        float[] depth = Of(f, "bracket depth");
        Assert.Equal(1, depth[7]);       // the '(' after "know't " opens
        Assert.Equal(1, depth[14]);      // "'tis" is no literal either
        Assert.Equal(0, depth[15]);      // ')' closes it
        Assert.Equal(0, depth[19]);      // '(' is a character literal: its bracket does not count
        Assert.Equal(1, depth[20]);
    }

    [Fact]
    public void SpeakerLinesFollowABlankLineAndEndWithAColon_NewlineIncluded()
    {
        var f = TextFeatures.Compute("A:\nhi: there:\n\nB C:\nx\n");
        // A : \n h i : ␠ t h e r e : \n \n B ␠ C : \n x \n
        Assert.Equal(Digits("1110000000000001111100"), Of(f, "speaker line"));
    }

    [Fact]
    public void CharactersAreCodePoints()
    {
        var f = TextFeatures.Compute("a😀b");
        Assert.Equal([1, 2, 3], Of(f, "line position"));
        Assert.Throws<ArgumentException>(() => f.Feature("nope"));
    }
}
