using System.Text.Json;
using Xunit;

namespace Recurrent.Tests;

/// <summary>`recurrent eval` on a short text (issue 14): the streams come from the text's length — each at least
/// 256 characters, down to one — and the output says how many and why.</summary>
public class EvalStreamsTests : IDisposable
{
    private readonly CharLmFixture _f = new();
    public void Dispose() => _f.Dispose();

    private static JsonElement Eval(params string[] args) =>
        JsonDocument.Parse(CharLmFixture.Ok(["eval", .. args, "--json", "--threads", "1"])).RootElement;

    [Fact]
    public void AOneLineTextIsReadAsOneStreamAndScoresAsADirectSingleStreamEvaluation()
    {
        string dir = _f.Train("m", "--steps", "20"); // trained with --batch 3
        string line = _f.Write("line.txt", "Before we proceed any further, hear me speak.\n");
        var byDefault = Eval("--model", dir, "--data", line);
        var single = Eval("--model", dir, "--data", line, "--batch", "1");
        Assert.Equal(1, byDefault.GetProperty("streams").GetInt32());
        Assert.Equal(single.GetProperty("loss").GetDouble(), byDefault.GetProperty("loss").GetDouble());
        Assert.Equal(3, Eval("--model", dir, "--data", line, "--batch", "3").GetProperty("streams").GetInt32()); // as asked

        string text = CharLmFixture.Ok("eval", "--model", dir, "--data", line, "--threads", "1");
        Assert.Contains("(1 stream: the text is too short for the training batch's 3 of at least 256 characters each; --batch sets them;", text);
    }

    [Fact]
    public void ALongerTextGetsAStreamPerAtLeast256Characters()
    {
        string dir = _f.Train("m", "--steps", "5");
        string text = _f.Write("text2.txt", string.Concat(Enumerable.Repeat(CharLmFixture.Text, 2))); // 566 characters: 565 predicted
        Assert.Equal(2, Eval("--model", dir, "--data", text).GetProperty("streams").GetInt32());
        string longer = _f.Write("text9.txt", string.Concat(Enumerable.Repeat(CharLmFixture.Text, 9)));
        Assert.Equal(3, Eval("--model", dir, "--data", longer).GetProperty("streams").GetInt32()); // capped at the training batch
    }
}
