using System.Text;
using Recurrent.Data;
using Xunit;

namespace Recurrent.Tests;

public class VocabularyTests
{
    [Fact]
    public void IdsFollowCodePointOrder_AndEncodeDecodeRoundTrips()
    {
        var v = Vocabulary.FromText("hello, world\n");
        Assert.Equal("\n ,dehlorw", v.AsString());
        int[] ids = v.Encode("world");
        Assert.Equal(new[] { 9, 7, 8, 6, 3 }, ids);
        Assert.Equal("world", v.Decode(ids));
    }

    [Fact]
    public void CharactersOutsideTheBmpAreOneSymbol_AndParseRoundTrips()
    {
        string text = "a😀b😀é";
        var v = Vocabulary.FromText(text);
        Assert.Equal(4, v.Count);
        Assert.Equal(5, v.Encode(text).Length);
        Assert.Equal(text, v.Decode(v.Encode(text)));
        var parsed = Vocabulary.Parse(v.AsString());
        Assert.Equal(v.Symbols, parsed.Symbols);
    }

    [Fact]
    public void UnknownCharacterNamesItsLineAndColumn()
    {
        var v = Vocabulary.FromText("abc\n😀");
        var e = Assert.Throws<InvalidDataException>(() => v.Encode("abc\nab😀Zc", "'val.txt'"));
        Assert.Contains("'Z' (U+005A)", e.Message);
        Assert.Contains("line 2, column 4", e.Message); // the emoji is one column
        Assert.Contains("'val.txt'", e.Message);
    }

    [Fact]
    public void ParseRejectsDuplicatesAndEmpty()
    {
        Assert.Contains("twice", Assert.Throws<InvalidDataException>(() => Vocabulary.Parse("abca")).Message);
        Assert.Throws<InvalidDataException>(() => Vocabulary.Parse(""));
        Assert.Throws<InvalidDataException>(() => Vocabulary.Parse("a\uD800b"));
    }
}
