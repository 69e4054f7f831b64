using System.Net;
using System.Text;
using System.Text.Json;
using Recurrent.Analysis;
using Recurrent.Cli.Serve;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// POST /api/models/{name}/cells and the /cells page: one unit's activation after every character, as
/// <see cref="CellActivations"/> records it for `recurrent analyze cells`. With RECURRENT_SCREENSHOTS=DIR set, the page
/// is saved there as serve-cells.png.
/// </summary>
[Collection(ServeCollection.Name)]
public class ServeCellsTests(ServeFixture f)
{
    private static Task<(HttpStatusCode Status, JsonElement Body)> Post(ServeHost server, string model, string json) =>
        ServeHttp.Post(server, model, "cells", json);

    private string Text()
    {
        var vocabulary = Checkpoint.LoadModel(f.Lm).Config.Vocabulary;
        // Characters the fixture's model knows: its own training text's start.
        string text = CharLmFixture.Text[..Math.Min(120, CharLmFixture.Text.Length)];
        vocabulary.Encode(text, "text");
        return text;
    }

    [Fact]
    public async Task Serve_CellsGivesTheLibrarysActivations_ForTheUnitAskedFor()
    {
        await using var server = await ServeHost.StartAsync(new ServeOptions(f.Models, "127.0.0.1", 0, 2, 8));
        var model = Checkpoint.LoadModel(f.Lm);
        var config = model.Config;
        string text = Text();
        int[] ids = config.Vocabulary.Encode(text, "text");
        var expected = CellActivations.Record(model, ids);
        int layer = config.NumLayers - 1, unit = config.HiddenSize - 1;

        var (status, body) = await Post(server, "lm", JsonSerializer.Serialize(new { text, layer, unit }));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(ids.Select(config.Vocabulary.Symbol), body.GetProperty("characters").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(expected.Unit(layer * config.HiddenSize + unit).ToArray(),
                     body.GetProperty("activations").EnumerateArray().Select(a => a.GetSingle()).ToArray());
        Assert.Equal($"{layer}:{unit}", body.GetProperty("cell").GetString());
        Assert.Equal(expected.Quantity, body.GetProperty("quantity").GetString());
        // Unit 0:0 by default.
        var (_, first) = await Post(server, "lm", JsonSerializer.Serialize(new { text }));
        Assert.Equal(expected.Unit(0).ToArray(), first.GetProperty("activations").EnumerateArray().Select(a => a.GetSingle()).ToArray());

        // Limits: 400 naming the field.
        foreach (var (json, field) in new[]
                 {
                     (JsonSerializer.Serialize(new { text, layer = config.NumLayers }), "layer"),
                     (JsonSerializer.Serialize(new { text, unit = config.HiddenSize }), "unit"),
                     (JsonSerializer.Serialize(new { text, unit = -1 }), "unit"),
                     (JsonSerializer.Serialize(new { text, layer = "0" }), "layer"),
                     (JsonSerializer.Serialize(new { text = new string(text[0], 5001) }), "text"),
                     (JsonSerializer.Serialize(new { text = "" }), "text"),
                     ("{\"layer\":0}", "text"),
                     (JsonSerializer.Serialize(new { text, cell = "0:0" }), "cell"),
                 })
        {
            var (bad, error) = await Post(server, "lm", json);
            Assert.Equal(HttpStatusCode.BadRequest, bad);
            Assert.Equal(field, error.GetProperty("field").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await Post(server, "lm", JsonSerializer.Serialize(new { text = new string(text[0], 5000) }))).Status);
        // Only a char-lm has cells.
        Assert.Equal(HttpStatusCode.NotFound, (await Post(server, "cls", JsonSerializer.Serialize(new { text }))).Status);
    }

    [ChromiumFact]
    public async Task Serve_InChromiumTheCellsPageColoursTheCharacters()
    {
        await using var server = await ServeHost.StartAsync(new ServeOptions(f.Models, "127.0.0.1", 0, 2, 8));
        await using var browser = await HeadlessChromium.LaunchAsync();
        var model = Checkpoint.LoadModel(f.Lm);
        string text = Text();
        int[] ids = model.Config.Vocabulary.Encode(text, "text");
        var expected = CellActivations.Record(model, ids).Unit(0).ToArray();

        await browser.Navigate(server.Url + "cells?model=lm");
        await browser.WaitFor("!document.getElementById('form').hidden", "the cells page's form");
        Assert.Equal("Cells: lm", (await browser.Evaluate("document.getElementById('title').textContent")).GetString());
        await browser.Type("#text", text);
        await browser.Type("#layer", "0");
        await browser.Type("#unit", "0");
        await browser.Click("#colour");
        await browser.WaitFor("document.getElementById('status').dataset.done === 'true'", "the coloured text");
        var spans = await browser.Evaluate("""
            [...document.querySelectorAll('#coloured span')].map(s => [s.textContent, Number(s.dataset.activation), getComputedStyle(s).backgroundColor])
            """);
        var list = spans.EnumerateArray().ToList();
        Assert.Equal(ids.Length, list.Count);
        Assert.Equal(text, string.Concat(list.Select(s => s[0].GetString())));
        for (int i = 0; i < list.Count; i++) Assert.Equal(expected[i], list[i][1].GetSingle(), 5);
        // Coloured: more than one colour, and none left unset.
        var colours = list.Select(s => s[2].GetString()).ToHashSet();
        Assert.DoesNotContain("rgba(0, 0, 0, 0)", colours);
        Assert.True(colours.Count > 1, string.Join(" ", colours));
        string? shots = Environment.GetEnvironmentVariable("RECURRENT_SCREENSHOTS");
        if (shots != null) await File.WriteAllBytesAsync(Path.Combine(shots, "serve-cells.png"), await browser.Screenshot());

        // An out-of-range unit: the API's message on the page.
        await browser.Type("#unit", "100000");
        await browser.Click("#colour");
        await browser.WaitFor("document.getElementById('status').className === 'error'", "the error message");
        Assert.Contains("\"unit\" must be between 0 and", (await browser.Evaluate("document.getElementById('status').textContent")).GetString());
    }
}
