using System.Text;
using Recurrent.Data;
using Xunit;

namespace Recurrent.Tests;

public class ParallelCorpusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("parallel").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ReadsTokenizedPairs_AndGroupsTargetsBySource()
    {
        string path = Write("dev.tsv",
            "Did I hurt you?\tVous ai-je blessé ?\n" +
            "Think about it.\tPenses-y.\r\n" +           // CRLF
            "did I hurt  you ?\tT'ai-je blessé ?\n" +     // the same tokens as line 1
            "Think about it.\tPensez-y.\n" +
            "Did I hurt you\tT\u2019ai-je fait mal\n" +  // no "?": another source
            "\n\n");
        var corpus = ParallelCorpus.Read(path);

        Assert.Equal(5, corpus.Pairs.Count);
        Assert.Equal(["did", "i", "hurt", "you", "?"], corpus.Pairs[0].Source);
        Assert.Equal(["vous", "ai-je", "blessé", "?"], corpus.Pairs[0].Target);
        Assert.Equal(1, corpus.Pairs[0].Line);
        Assert.Equal(["penses-y", "."], corpus.Pairs[1].Target);
        Assert.Equal(5, corpus.Pairs[4].Line);

        Assert.Equal(3, corpus.Sources.Count);
        var hurt = corpus.Sources[0];
        Assert.Equal(["did", "i", "hurt", "you", "?"], hurt.Source);
        Assert.Equal(1, hurt.FirstLine);
        Assert.Equal(2, hurt.References.Count);
        Assert.Equal(["vous", "ai-je", "blessé", "?"], hurt.References[0]);
        Assert.Equal(["t'ai-je", "blessé", "?"], hurt.References[1]);
        Assert.Equal(2, corpus.Sources[1].FirstLine);
        Assert.Equal([["penses-y", "."], ["pensez-y", "."]], corpus.Sources[1].References);
        Assert.Equal(5, corpus.Sources[2].FirstLine);
        Assert.Equal([["t'ai-je", "fait", "mal"]], corpus.Sources[2].References);

        // No newline at the end, and exactly the limit, are fine.
        Assert.Single(ParallelCorpus.Read(Write("noeol.tsv", "a b c\td"), maxSourceTokens: 3).Pairs);
    }

    [Fact]
    public void ErrorsNameFileAndLine()
    {
        (byte[] Bytes, int Line, string What)[] cases =
        [
            (Encoding.UTF8.GetBytes("Go.\tVa !\nno tab here\n"), 2, "no TAB"),
            (Encoding.UTF8.GetBytes("Go.\tVa !\nGo.\tVa\t!\n"), 2, "2 TABs"),
            (Encoding.UTF8.GetBytes("Go.\tVa !\n  \tVa !\n"), 2, "empty source"),
            (Encoding.UTF8.GetBytes("Go.\tVa !\nGo.\t \n"), 2, "empty target"),
            (Encoding.UTF8.GetBytes("Go.\tVa !\n\nGo.\tVa !\n"), 2, "blank line"),
            (Encoding.UTF8.GetBytes("Go.\tVa !\nGo on now, go!\tVas-y !\n"), 2, "source has 6 tokens, more than the limit of 5"),
            (Encoding.UTF8.GetBytes("\n \n"), 1, "only blank lines"),
        ];
        for (int i = 0; i < cases.Length; i++)
        {
            string path = Write($"bad{i}.tsv", cases[i].Bytes);
            var e = Assert.Throws<InvalidDataException>(() => ParallelCorpus.Read(path, maxSourceTokens: 5));
            Assert.StartsWith($"{path}:{cases[i].Line}: ", e.Message);
            Assert.Contains(cases[i].What, e.Message);
            Assert.DoesNotContain("\n", e.Message);
        }
    }

    [Fact]
    public void EmptyMissingAndNonUtf8FilesAreErrorsNamingTheFile()
    {
        string empty = Write("empty.tsv", []);
        Assert.Contains($"'{empty}' is empty", Assert.Throws<InvalidDataException>(() => ParallelCorpus.Read(empty)).Message);
        string missing = Path.Combine(_dir, "none.tsv");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => ParallelCorpus.Read(missing)).Message);
        string latin1 = Write("latin1.tsv", [.. Encoding.UTF8.GetBytes("Go.\tVa !\nCoffee\tCaf"), 0xE9, (byte)'\n']);
        Assert.Contains("not valid UTF-8: byte 0xE9 at line 2, column 11",
            Assert.Throws<InvalidDataException>(() => ParallelCorpus.Read(latin1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ParallelCorpus.Read(latin1, maxSourceTokens: 0));
    }

    [Fact]
    public void TheDefaultLimitIsOneHundredSourceTokens()
    {
        Assert.Equal(100, ParallelCorpus.MaxSourceTokens);
        string words = string.Join(' ', Enumerable.Repeat("go", 100));
        Assert.Single(ParallelCorpus.Read(Write("100.tsv", $"{words}\tva\n")).Pairs);
        string path = Write("101.tsv", $"{words} go\tva\n");
        Assert.Contains("101 tokens, more than the limit of 100", Assert.Throws<InvalidDataException>(() => ParallelCorpus.Read(path)).Message);
    }
}
