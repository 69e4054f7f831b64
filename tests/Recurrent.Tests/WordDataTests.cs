using System.Text;
using Recurrent.Data;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class WordDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("worddata").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>The error is one line, starts with "FILE:LINE:" and says <paramref name="what"/>.</summary>
    private static void AssertNamesLine(InvalidDataException e, string path, int line, string what)
    {
        Assert.StartsWith($"{path}:{line}: ", e.Message);
        Assert.Contains(what, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    // ---- label<TAB>text ----

    [Fact]
    public void LabeledTextSplitsLabelAndWords_AcceptsCrlfAndTrailingBlankLines()
    {
        string path = Write("ok.tsv", "1\ta stirring , funny\r\n0 \t  apparently   reassembled\tfrom\n\n\n");
        var examples = LabeledTextReader.Read(path);
        Assert.Equal(2, examples.Count);
        Assert.Equal("1", examples[0].Label);
        Assert.Equal(["a", "stirring", ",", "funny"], examples[0].Words);
        Assert.Equal(1, examples[0].Line);
        Assert.Equal("0", examples[1].Label); // spaces around the label dropped
        Assert.Equal(["apparently", "reassembled", "from"], examples[1].Words); // a later TAB is whitespace in the text
        Assert.Equal(2, examples[1].Line);
        // No newline at the end is fine too.
        Assert.Single(LabeledTextReader.Read(Write("noeol.tsv", "pos\tgood")));
    }

    [Fact]
    public void LabeledTextErrorsNameFileAndLine()
    {
        (string Text, int Line, string What)[] cases =
        [
            ("1\tgood\nno tab here\n", 2, "no TAB"),
            ("1\tgood\n\t words\n", 2, "empty label"),
            ("1\tgood\n0\t   \n", 2, "empty text"),
            ("1\tgood\n\n0\tbad\n", 2, "blank line"),
            ("1\tgood\n1\ta b c d e f\n", 2, "6 words, more than the limit of 5"),
            ("\n\n", 1, "only blank lines"),
        ];
        for (int i = 0; i < cases.Length; i++)
        {
            string path = Write($"bad{i}.tsv", cases[i].Text);
            AssertNamesLine(Assert.Throws<InvalidDataException>(() => LabeledTextReader.Read(path, maxWords: 5)), path,
                cases[i].Line, cases[i].What);
        }
    }

    [Fact]
    public void MissingEmptyAndNonUtf8FilesAreErrorsNamingTheFile()
    {
        string missing = Path.Combine(_dir, "none.tsv");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => LabeledTextReader.Read(missing)).Message);
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => ConllReader.Read(missing)).Message);

        string empty = Write("empty.tsv", []);
        Assert.Contains($"'{empty}' is empty", Assert.Throws<InvalidDataException>(() => LabeledTextReader.Read(empty)).Message);
        Assert.Contains($"'{empty}' is empty", Assert.Throws<InvalidDataException>(() => ConllReader.Read(empty)).Message);

        string latin1 = Write("latin1.txt", [.. Encoding.UTF8.GetBytes("1\tok\n0\tcaf"), 0xE9, (byte)'\n']);
        var e = Assert.Throws<InvalidDataException>(() => LabeledTextReader.Read(latin1));
        Assert.Contains(latin1, e.Message);
        Assert.Contains("not valid UTF-8: byte 0xE9 at line 2, column 6", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ConllReader.Read(latin1));
        Assert.Contains("at line 2", e.Message);
    }

    // ---- CoNLL token<TAB>tag ----

    [Fact]
    public void ConllReadsSentences_SkipsDocstart_TakesFirstAndLastColumns()
    {
        string text =
            "-DOCSTART-\tO\n\n" +
            "EU\tNNP\tB-ORG\n" +     // line 3: extra middle column ignored
            "rejects\tO\r\n" +       // CRLF
            "\n\n\n" +               // several blank lines are one separator
            "Peter B-PER\n" +        // line 8: no TAB, so whitespace separated
            "Blackburn   NNP  I-PER\n" +
            "\t\n" +                 // a lone TAB is a blank line (WNUT-17's original separator)
            "-DOCSTART- -X- -X- O\n" +
            "Dubbz\uFEFF\tO";        // line 12: no trailing newline; a zero-width character stays in the token
        string path = Write("ok.conll", text);
        var s = ConllReader.Read(path);
        Assert.Equal(3, s.Count);
        Assert.Equal(["EU", "rejects"], s[0].Words);
        Assert.Equal(["B-ORG", "O"], s[0].Tags);
        Assert.Equal(3, s[0].Line);
        Assert.Equal(["Peter", "Blackburn"], s[1].Words);
        Assert.Equal(["B-PER", "I-PER"], s[1].Tags);
        Assert.Equal(8, s[1].Line);
        Assert.Equal(["Dubbz\uFEFF"], s[2].Words);
        Assert.Equal(12, s[2].Line);
    }

    [Fact]
    public void ConllErrorsNameFileAndLine()
    {
        (string Text, int Line, string What)[] cases =
        [
            ("a\tO\nb\n", 2, "one column"),
            ("a\tO\n\nb\t \n", 3, "empty tag"),
            ("a\tO\nb\t\n", 2, "empty tag"),
            ("a\tO\n\tO\n", 2, "empty token"),
            ("x\tO\n\na\tO\nb\tO\nc\tO\nd\tO\n", 3, "longer than the limit of 3 tokens (line 6 is token 4"),
            ("\n-DOCSTART-\tO\n\n", 1, "no sentences"),
        ];
        for (int i = 0; i < cases.Length; i++)
        {
            string path = Write($"bad{i}.conll", cases[i].Text);
            AssertNamesLine(Assert.Throws<InvalidDataException>(() => ConllReader.Read(path, maxTokens: 3)), path,
                cases[i].Line, cases[i].What);
        }
        // Exactly maxTokens is fine.
        Assert.Equal(3, ConllReader.Read(Write("three.conll", "a\tO\nb\tO\nc\tO\n"), maxTokens: 3)[0].Words.Length);
    }

    // ---- vocabulary and labels ----

    [Fact]
    public void VocabularyOrdersByCountThenOrdinal_DropsRareWords()
    {
        // Counts: the 3, a 2, cat 2, Dog 1, dog 1. minCount 2 keeps the, a, cat; a and cat tie at 2 -> ordinal order.
        string[] text = ["the", "cat", "a", "the", "Dog", "cat", "the", "a", "dog"];
        var v = WordVocabulary.Build(text, minCount: 2, lowercase: false);
        Assert.Equal(["<pad>", "<unk>", "the", "a", "cat"], v.Words);
        Assert.Equal(5, v.Count);
        Assert.Equal(2, v.Id("the"));
        Assert.Equal(WordVocabulary.UnknownId, v.Id("dog"));  // below minCount
        Assert.Equal(WordVocabulary.UnknownId, v.Id("The"));  // case-sensitive without lowercasing
        Assert.Equal(WordVocabulary.PadId, v.Id("<pad>"));
        Assert.True(v.Contains("cat"));
        Assert.False(v.Contains("dog"));
        Assert.Equal("cat", v.Word(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Word(5));
        Assert.Equal([2, 4, 1], v.Encode(["the", "cat", "sat"]));

        // The same words in another order give the same vocabulary.
        Assert.Equal(v.Words, WordVocabulary.Build(text.Reverse(), 2, false).Words);
        // maxSize caps the whole vocabulary, special words included.
        Assert.Equal(["<pad>", "<unk>", "the"], WordVocabulary.Build(text, 1, false, maxSize: 3).Words);
        Assert.Throws<ArgumentOutOfRangeException>(() => WordVocabulary.Build(text, 0, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => WordVocabulary.Build(text, 1, false, maxSize: 2));
    }

    [Fact]
    public void LowercasingMergesCasesWhenBuildingAndLookingUp()
    {
        string[] text = ["The", "the", "DOG", "dog", "Éclair", "<UNK>"];
        Assert.Equal(new Dictionary<string, int> { ["the"] = 2, ["dog"] = 2, ["éclair"] = 1, ["<unk>"] = 1 },
            WordVocabulary.CountWords(text, lowercase: true));
        var v = WordVocabulary.Build(text, minCount: 2, lowercase: true);
        Assert.True(v.Lowercase);
        Assert.Equal(["<pad>", "<unk>", "dog", "the"], v.Words); // "<unk>" in the text is not listed twice
        Assert.Equal(3, v.Id("THE"));
        Assert.Equal(2, v.Id("Dog"));
        Assert.True(v.Contains("DoG"));
        Assert.Equal(WordVocabulary.UnknownId, v.Id("<UNK>"));
    }

    [Fact]
    public void FromListRoundTripsAndChecksTheStoredList()
    {
        var v = WordVocabulary.Build(["b", "a", "b"], 1, lowercase: true);
        var back = WordVocabulary.FromList(v.Words, v.Lowercase);
        Assert.Equal(v.Words, back.Words);
        Assert.Equal(v.Id("B"), back.Id("B"));

        Assert.Throws<InvalidDataException>(() => WordVocabulary.FromList(["<unk>", "<pad>", "a"], false));
        Assert.Throws<InvalidDataException>(() => WordVocabulary.FromList(["<pad>"], false));
        Assert.Contains("twice", Assert.Throws<InvalidDataException>(() => WordVocabulary.FromList(["<pad>", "<unk>", "a", "a"], false)).Message);
        Assert.Throws<InvalidDataException>(() => WordVocabulary.FromList(["<pad>", "<unk>", ""], false));
        Assert.Contains("not lowercase", Assert.Throws<InvalidDataException>(() => WordVocabulary.FromList(["<pad>", "<unk>", "A"], true)).Message);
        Assert.Equal(2, WordVocabulary.FromList(["<pad>", "<unk>", "A"], false).Id("A"));
    }

    [Fact]
    public void LabelSetIsSortedDistinct_IdIsMinusOneWhenAbsent()
    {
        var l = LabelSet.Build(["I-PER", "O", "B-PER", "O", "B-LOC"]);
        Assert.Equal(["B-LOC", "B-PER", "I-PER", "O"], l.Names);
        Assert.Equal(4, l.Count);
        Assert.Equal(3, l.Id("O"));
        Assert.Equal(-1, l.Id("I-LOC"));
        Assert.Equal("B-PER", l.Name(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => l.Name(4));
        Assert.Equal(l.Names, LabelSet.FromList(l.Names).Names);
        Assert.Equal(["1", "0"], LabelSet.FromList(["1", "0"]).Names); // a stored order is kept as stored
        Assert.Throws<InvalidDataException>(() => LabelSet.FromList(["0", "0"]));
        Assert.Throws<InvalidDataException>(() => LabelSet.FromList([]));
        Assert.Throws<ArgumentException>(() => LabelSet.Build([]));
    }

    // ---- pretrained vectors ----

    private static readonly WordVocabulary Words = WordVocabulary.FromList(["<pad>", "<unk>", "the", "cat", "sat"], lowercase: true);

    private static Tensor Filled(int rows, int dim, float value)
    {
        var t = new Tensor(rows, dim);
        t.Span.Fill(value);
        return t;
    }

    [Fact]
    public void VectorsAreCopiedIntoTheirRows_OtherRowsUntouched_FirstOccurrenceWins()
    {
        string path = Write("glove.txt",
            "The 1 2 3\n" +         // lowercased to "the": row 2
            "dog 9 9 9\n" +         // not in the vocabulary
            "the 7 7 7\n" +         // a second "the": the first one wins
            "cat -0.5 1e-2 4.25 \r\n" + // trailing space and CR
            "<pad> 5 5 5\n" +        // the padding row is never overwritten
            "a\u00A0b 6 6 6\n");      // a word with a no-break space in it is one word
        var w = Filled(5, 3, -9);
        Assert.Equal(2, PretrainedVectors.LoadInto(path, Words, w));
        Assert.Equal([-9f, -9, -9, -9, -9, -9, 1, 2, 3, -0.5f, 0.01f, 4.25f, -9, -9, -9], w.Data);
    }

    [Fact]
    public void AWord2VecHeaderIsSkipped_AndItsDimensionChecked()
    {
        var w = Filled(5, 2, 0);
        Assert.Equal(2, PretrainedVectors.LoadInto(Write("w2v.txt", "2 2\ncat 1 2\nsat 3 4\n"), Words, w));
        Assert.Equal([0f, 0, 0, 0, 0, 0, 1, 2, 3, 4], w.Data);

        string bad = Write("w2v100.txt", "2 100\ncat 1 2\n");
        AssertNamesLine(Assert.Throws<InvalidDataException>(() => PretrainedVectors.LoadInto(bad, Words, w)), bad, 1,
            "the file has 100-dimensional vectors but --embedding is 2");
        string only = Write("header.txt", "0 2\n");
        AssertNamesLine(Assert.Throws<InvalidDataException>(() => PretrainedVectors.LoadInto(only, Words, w)), only, 1, "no vectors");
    }

    [Fact]
    public void VectorErrorsNameFileAndLine()
    {
        (byte[] Bytes, int Line, string What)[] cases =
        [
            (Encoding.UTF8.GetBytes("the 1 2 3 4\n"), 1, "the file has 4-dimensional vectors but --embedding is 3"),
            (Encoding.UTF8.GetBytes("dog 1 2 3\nfox 1 2\n"), 2, "2 numbers after \"fox\", but line 1 says the vectors are 3-dimensional"),
            (Encoding.UTF8.GetBytes("dog 1 2 3\n\ncat 1 x 3\n"), 3, "number 2 'x' is not a finite number"),
            (Encoding.UTF8.GetBytes("cat 1 NaN 3\n"), 1, "number 2 'NaN' is not a finite number"),
            (Encoding.UTF8.GetBytes("cat 1,5 2 3\n"), 1, "'1,5' is not a finite number"), // invariant culture: no decimal comma
            ([.. Encoding.UTF8.GetBytes("dog 1 2 3\ncaf"), 0xE9, .. Encoding.UTF8.GetBytes(" 1 2 3\n")], 2, "not valid UTF-8: byte 0xE9 at column 4"),
            (Encoding.UTF8.GetBytes("cat\n"), 1, "a word and no numbers"),
            ([], 1, "no vectors (the file is empty)"),
            (Encoding.UTF8.GetBytes("\n\n"), 1, "no vectors"),
        ];
        for (int i = 0; i < cases.Length; i++)
        {
            string path = Write($"bad{i}.txt", cases[i].Bytes);
            var e = Assert.Throws<InvalidDataException>(() => PretrainedVectors.LoadInto(path, Words, Filled(5, 3, 0)));
            AssertNamesLine(e, path, cases[i].Line, cases[i].What);
        }
        Assert.Throws<FileNotFoundException>(() => PretrainedVectors.LoadInto(Path.Combine(_dir, "none.txt"), Words, Filled(5, 3, 0)));
        Assert.Throws<ShapeException>(() => PretrainedVectors.LoadInto(Write("x.txt", "cat 1\n"), Words, Filled(4, 3, 0)));
    }

    [Fact]
    public void ALargeFileIsStreamedAcrossBufferRefills()
    {
        // About 3 MB, past the reader's 1 MB buffer, so lines straddle refills; the vocabulary picks every 97th word.
        const int dim = 100, lines = 3000;
        var sb = new StringBuilder();
        var chosen = new List<string> { "<pad>", "<unk>" };
        for (int i = 0; i < lines; i++)
        {
            sb.Append("w").Append(i);
            for (int k = 0; k < dim; k++) sb.Append(' ').Append((i * 0.001 + k).ToString("F6", System.Globalization.CultureInfo.InvariantCulture));
            sb.Append('\n');
            if (i % 97 == 0) chosen.Add("w" + i);
        }
        chosen.Add("missing");
        string path = Write("big.txt", sb.ToString());
        Assert.True(new FileInfo(path).Length > 2_500_000);
        var vocabulary = WordVocabulary.FromList(chosen, lowercase: false);
        var w = Filled(vocabulary.Count, dim, -1);
        Assert.Equal(chosen.Count - 3, PretrainedVectors.LoadInto(path, vocabulary, w));
        for (int id = 2; id < vocabulary.Count - 1; id++)
        {
            int i = int.Parse(vocabulary.Word(id)[1..]);
            for (int k = 0; k < dim; k++) Assert.Equal((float)(i * 0.001 + k), w[id, k], 4);
        }
        for (int k = 0; k < dim; k++) Assert.Equal(-1f, w[vocabulary.Count - 1, k]);
    }
}
