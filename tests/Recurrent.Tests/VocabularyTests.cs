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

    [Fact]
    public void WordVocabularySentenceMarkersTakeIdsTwoAndThree()
    {
        // Counts: la 3, </s> 2 (a corpus word equal to a marker is the marker), chat 2, <S> 1, le 1.
        string[] text = ["la", "chat", "</s>", "la", "<S>", "chat", "la", "</s>", "le"];
        var v = WordVocabulary.Build(text, minCount: 2, lowercase: true, sentenceMarkers: true);
        Assert.True(v.HasSentenceMarkers);
        Assert.Equal(["<pad>", "<unk>", "<s>", "</s>", "la", "chat"], v.Words);
        Assert.Equal(WordVocabulary.StartId, v.Id(WordVocabulary.Start));
        Assert.Equal(WordVocabulary.EndId, v.Id("</S>")); // lowercased like any word
        Assert.Equal(4, v.Id("la"));
        Assert.Equal([2, 4, 5, 1, 3], v.Encode(["<s>", "la", "chat", "chien", "</s>"]));
        // maxSize counts the markers and needs room for a word after them.
        Assert.Equal(["<pad>", "<unk>", "<s>", "</s>", "la"], WordVocabulary.Build(text, 1, true, maxSize: 5, sentenceMarkers: true).Words);
        Assert.Contains("at least 5", Assert.Throws<ArgumentOutOfRangeException>(
            () => WordVocabulary.Build(text, 1, true, maxSize: 4, sentenceMarkers: true)).Message);

        // A stored list that starts with the four has the markers; one that starts with the two does not.
        var back = WordVocabulary.FromList(v.Words, lowercase: true);
        Assert.True(back.HasSentenceMarkers);
        Assert.Equal(v.Words, back.Words);
        Assert.False(WordVocabulary.FromList(["<pad>", "<unk>", "la", "</s>"], lowercase: true).HasSentenceMarkers);
        Assert.False(WordVocabulary.FromList(["<pad>", "<unk>", "<s>"], lowercase: true).HasSentenceMarkers);

        // Without the option nothing changes: the markers are ordinary words (here below minCount or counted as words).
        var plain = WordVocabulary.Build(text, minCount: 2, lowercase: true);
        Assert.False(plain.HasSentenceMarkers);
        Assert.Equal(["<pad>", "<unk>", "la", "</s>", "chat"], plain.Words);
        Assert.Equal(WordVocabulary.UnknownId, plain.Id("<s>"));
    }
}
