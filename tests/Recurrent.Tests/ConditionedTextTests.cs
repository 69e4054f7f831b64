using System.Text;
using Recurrent.Data;
using Xunit;

namespace Recurrent.Tests;

public class ConditionedTextTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("conditioned").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
        return path;
    }

    [Fact]
    public void ReadsLabelConditions()
    {
        string path = Write("labels.tsv", "positive\ta  stirring , funny film\r\n negative \tdull\n\n");
        var corpus = ConditionedText.Read(path);
        Assert.False(corpus.IsVector);
        Assert.Equal(0, corpus.VectorSize);
        Assert.Equal(2, corpus.Lines.Count);
        Assert.Equal("positive", corpus.Lines[0].Label);
        Assert.Null(corpus.Lines[0].Vector);
        Assert.Equal(["a", "stirring", ",", "funny", "film"], corpus.Lines[0].Words);
        Assert.Equal(1, corpus.Lines[0].Line);
        Assert.Equal("negative", corpus.Lines[1].Label); // spaces around a label dropped
        Assert.Equal(["dull"], corpus.Lines[1].Words);
        Assert.Equal(2, corpus.Lines[1].Line);
    }

    [Fact]
    public void ReadsVectorConditions_ALoneNumberIsALabel()
    {
        var corpus = ConditionedText.Read(Write("vectors.tsv", "0.5 -1 2e-3\tthe cat\n1  0   +3\tsat on the mat"));
        Assert.True(corpus.IsVector);
        Assert.Equal(3, corpus.VectorSize);
        Assert.Equal([0.5f, -1f, 0.002f], corpus.Lines[0].Vector!);
        Assert.Null(corpus.Lines[0].Label);
        Assert.Equal([1f, 0f, 3f], corpus.Lines[1].Vector!);
        Assert.Equal(["sat", "on", "the", "mat"], corpus.Lines[1].Words);

        var sst = ConditionedText.Read(Write("one.tsv", "1\tyes\n0\tno\n")); // SST-2's class ids
        Assert.False(sst.IsVector);
        Assert.Equal("0", sst.Lines[1].Label);
    }

    [Fact]
    public void ErrorsNameFileAndLine()
    {
        (string Text, int Line, string What)[] cases =
        [
            ("pos\tgood\nno tab here\n", 2, "no TAB"),
            ("pos\tgood\npos\tgood\tfilm\n", 2, "2 TABs"),
            ("pos\tgood\n  \tgood\n", 2, "empty condition"),
            ("pos\tgood\nneg\t   \n", 2, "empty text"),
            ("pos\tgood\n\nneg\tbad\n", 2, "blank line"),
            ("pos\tgood\n0.5 1\tbad\n", 2, "condition is a vector of 2 values but the first line's is a label 'pos'"),
            ("0.5 1\tgood\nneg\tbad\n", 2, "condition is a label 'neg' but the first line's is a vector of 2 values"),
            ("1 2 3 4\tgood\n1 2 3 4\tok\n1 2 3\tbad\n", 3, "condition has 3 values, the first line had 4"),
            ("1 2\tgood\n1 NaN\tbad\n", 2, "condition value 2 'NaN' is not a finite number"),
            ("Infinity 1\tgood\n", 1, "condition value 1 'Infinity' is not a finite number"),
            ("1 1e39\tgood\n", 1, "'1e39' is not a finite number"), // beyond float's range
            ("very happy\tgood\n", 1, "condition value 1 'very' is not a number"),
            ("1 x\tgood\n", 1, "condition value 2 'x' is not a number"),
            ("1,5 2\tgood\n", 1, "'1,5' is not a number"), // invariant culture: no decimal comma
            ("\n\n", 1, "only blank lines"),
        ];
        for (int i = 0; i < cases.Length; i++)
        {
            string path = Write($"bad{i}.tsv", cases[i].Text);
            var e = Assert.Throws<InvalidDataException>(() => ConditionedText.Read(path));
            Assert.StartsWith($"{path}:{cases[i].Line}: ", e.Message);
            Assert.Contains(cases[i].What, e.Message);
            Assert.DoesNotContain("\n", e.Message);
        }
        string empty = Path.Combine(_dir, "empty.tsv");
        File.WriteAllBytes(empty, []);
        Assert.Contains($"'{empty}' is empty", Assert.Throws<InvalidDataException>(() => ConditionedText.Read(empty)).Message);
    }
}
