using System.Text;
using System.Text.Json;
using Recurrent.Cli.Serve;
using Xunit;
using static Recurrent.Tests.CharLmFixture;

namespace Recurrent.Tests;

/// <summary>
/// The pages of `recurrent serve` in headless Chromium, end to end: the index lists the models, a click on a char-lm's
/// generate link opens its page, the form is filled and Generate clicked, and the text streams in — the very text
/// `recurrent sample` draws with the same seed. With RECURRENT_SCREENSHOTS=DIR set, the two pages are saved there as
/// serve-index.png and serve-generate.png (docs/images/ holds the ones docs/serve.md shows).
/// </summary>
[Collection(ServeCollection.Name)]
public class ServePageTests(ServeFixture f)
{
    /// <summary>Where the repository's tiny-shakespeare is, from the test assembly's directory up; null if not found.</summary>
    private static string? Shakespeare()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "data", "tinyshakespeare.txt");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    [ChromiumFact]
    public async Task Serve_InChromiumTheIndexLeadsToGenerate_AndTheTextStreamsIn()
    {
        string root = Directory.CreateTempSubdirectory("servepages").FullName;
        try
        {
            // A small LSTM on the first 40,000 characters of tiny-shakespeare, a few seconds of training, beside a
            // classifier of the tests' made-up sentiment data and the fixture's generator.
            string models = Path.Combine(root, "runs");
            string data = Path.Combine(root, "shakespeare.txt");
            string? source = Shakespeare();
            File.WriteAllText(data, source != null ? File.ReadAllText(source)[..40_000] : string.Concat(Enumerable.Repeat(CharLmFixture.Text, 20)),
                new UTF8Encoding(false));
            string lm = Path.Combine(models, "shakespeare");
            Ok("train", "--data", data, "--out", lm, "--json", "--steps", "150", "--eval-every", "50", "--hidden", "96", "--layers", "1",
                "--embedding", "16", "--seq-len", "50", "--batch", "16", "--lr", "0.01", "--dropout", "0", "--seed", "1", "--threads", "1");
            Ok(["train", "--task", "classify", "--train", f.Words.ClassifyTrain, "--dev", f.Words.ClassifyDev, "--out", Path.Combine(models, "sentiment"),
                "--json", "--epochs", "40", .. WordTaskFixture.TinyClassify]);
            CopyDirectory(Path.Combine(f.Models, "gen"), Path.Combine(models, "reviews"));

            await using var server = await ServeHost.StartAsync(new ServeOptions(models, "127.0.0.1", 0, 2, 8));
            await using var browser = await HeadlessChromium.LaunchAsync();
            string? shots = Environment.GetEnvironmentVariable("RECURRENT_SCREENSHOTS");

            // The index: a row per model, with its task and a generate link for the two that generate.
            await browser.Navigate(server.Url);
            await browser.WaitFor("document.querySelectorAll('#models tbody tr').length === 6", "the index's six rows");
            var rows = await browser.Evaluate("""
                [...document.querySelectorAll('#models tbody tr')].map(r => [r.dataset.model, r.cells[1].textContent, r.cells[5].textContent])
                """);
            var byName = rows.EnumerateArray().ToDictionary(r => r[0].GetString()!, r => (Task: r[1].GetString(), Pages: r[2].GetString()));
            Assert.Equal(("char-lm", "generatecells"), byName["shakespeare"]);
            Assert.Equal(("char-lm", "generatecells"), byName["shakespeare/best"]);
            Assert.Equal(("generate", "generate"), byName["reviews"]);
            Assert.Equal(("classify", "classify"), byName["sentiment"]);
            Assert.Contains("6 models", (await browser.Evaluate("document.getElementById('status').textContent")).GetString());
            if (shots != null) await File.WriteAllBytesAsync(Path.Combine(shots, "serve-index.png"), await browser.Screenshot());

            // A click on the char-lm's generate link opens its page.
            await browser.Click("tr[data-model='shakespeare'] a");
            await browser.WaitFor("location.pathname === '/generate' && document.readyState === 'complete' && !document.getElementById('form').hidden",
                "the generate page's form");
            Assert.Equal("Generate: shakespeare", (await browser.Evaluate("document.getElementById('title').textContent")).GetString());
            // A char-lm is primed with text; the condition field is a conditioned generator's.
            Assert.Equal(["flex", "none"], (await browser.Evaluate(
                "['prime-field', 'condition-field'].map(id => getComputedStyle(document.getElementById(id)).display)")).EnumerateArray().Select(v => v.GetString()));

            // Fill the form as a person would, click Generate, and wait for the end of the stream.
            await browser.Type("#prime", "ROMEO:\n");
            await browser.Type("#length", "600");
            await browser.Type("#temperature", "0.7");
            await browser.Type("#seed", "11");
            await browser.Click("#generate");
            await browser.WaitFor("document.getElementById('status').dataset.done === 'true'", "the generated text");
            var result = await browser.Evaluate("""
                [document.getElementById('generated').textContent, Number(document.getElementById('generated').dataset.chunks),
                 document.querySelector('#output .prime').textContent, document.getElementById('status').textContent]
                """);
            string expected = JsonDocument.Parse(Ok("sample", "--model", lm, "--prime", "ROMEO:\n", "--length", "600", "--temperature", "0.7",
                "--seed", "11", "--json")).RootElement.GetProperty("text").GetString()!;
            Assert.Equal(expected, result[0].GetString());
            Assert.True(result[1].GetInt32() >= 600 / 16, $"{result[1]} chunks"); // it came as a stream of events, not at once
            Assert.Equal("ROMEO:\n", result[2].GetString());
            Assert.StartsWith("600 characters in ", result[3].GetString());
            if (shots != null) await File.WriteAllBytesAsync(Path.Combine(shots, "serve-generate.png"), await browser.Screenshot());

            // A bad value comes back as the API's message, on the page.
            await browser.Type("#length", "9000");
            await browser.Click("#generate");
            await browser.WaitFor("document.getElementById('status').className === 'error'", "the error message");
            Assert.Contains("\"length\" must be between 1 and 5000",
                (await browser.Evaluate("document.getElementById('status').textContent")).GetString());

            // A conditioned generator's page asks for one of its labels instead of a prime.
            await browser.Navigate(server.Url + "generate?model=reviews");
            await browser.WaitFor("!document.getElementById('form').hidden", "the generator's form");
            Assert.Equal(["neg", "pos"], (await browser.Evaluate("[...document.getElementById('condition-label').options].map(o => o.value)"))
                .EnumerateArray().Select(v => v.GetString()));
            await browser.Evaluate("document.getElementById('condition-label').value = 'pos'");
            await browser.Type("#seed", "4");
            await browser.Type("#temperature", "0.5");
            await browser.Type("#length", "12");
            await browser.Click("#generate");
            await browser.WaitFor("document.getElementById('status').dataset.done === 'true'", "the generated words");
            string words = Ok("sample", "--model", Path.Combine(models, "reviews"), "--last", "--condition", "pos", "--length", "12", "--seed", "4",
                "--temperature", "0.5").TrimEnd('\n');
            Assert.Equal(words, (await browser.Evaluate("document.getElementById('generated').textContent")).GetString());

            // The classifier's page, from its link on the index: the label, and a bar per label as wide as its probability.
            await browser.Navigate(server.Url);
            await browser.WaitFor("document.querySelectorAll('#models tbody tr').length === 6", "the index again");
            await browser.Click("tr[data-model='sentiment'] a");
            await browser.WaitFor("location.pathname === '/classify' && document.readyState === 'complete' && !document.getElementById('form').hidden",
                "the classify page's form");
            const string sentence = "the film was good and very good";
            await browser.Type("#text", sentence);
            await browser.Click("#classify");
            await browser.WaitFor("document.getElementById('status').dataset.done === 'true'", "the classification");
            var bars = await browser.Evaluate("""
                [document.getElementById('label').textContent,
                 [...document.querySelectorAll('#bars tr')].map(r => [r.dataset.label, Number(r.dataset.probability),
                   (t => r.querySelector('.bar').getBoundingClientRect().width
                         / (t.clientWidth - parseFloat(getComputedStyle(t).paddingLeft) - parseFloat(getComputedStyle(t).paddingRight)))(r.querySelector('.track'))])]
                """);
            string input = Path.Combine(root, "sentence.txt");
            File.WriteAllText(input, sentence + "\n");
            string[] predicted = Ok("predict", "--model", Path.Combine(models, "sentiment"), "--last", "--input", input).Split('\t');
            Assert.Equal(predicted[0], bars[0].GetString());
            var shown = bars[1].EnumerateArray().Select(b => (Label: b[0].GetString()!, P: b[1].GetDouble(), Width: b[2].GetDouble())).ToList();
            Assert.Equal(["neg", "pos"], shown.Select(b => b.Label).Order());
            Assert.Equal(predicted[0], shown[0].Label); // likeliest first
            Assert.Equal(predicted[1], shown[0].P.ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
            Assert.All(shown, b => Assert.InRange(b.Width, b.P - 0.01, b.P + 0.01)); // the bar's share of its track's width
            if (shots != null) await File.WriteAllBytesAsync(Path.Combine(shots, "serve-classify.png"), await browser.Screenshot());
        }
        finally { Directory.Delete(root, true); }
    }
    private static async Task<JsonElement> Api(ServeHost server, string model, string action, object body)
    {
        var (status, answer) = await ServeHttp.Post(server, model, action, JsonSerializer.Serialize(body));
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        return answer;
    }

    /// <summary>
    /// The tag and translate pages, from their links on the index: the tagger's entities highlighted in the sentence
    /// (a mark per entity, one colour per type, the legend's), and the translation with its attention heat map (a cell
    /// per target × source token, titled "target ← source (weight)"). RECURRENT_SCREENSHOTS=DIR saves serve-tag.png and
    /// serve-translate.png.
    /// </summary>
    [ChromiumFact]
    public async Task Serve_InChromiumTheTagPageHighlightsEntities_AndTheTranslatePageDrawsAttention()
    {
        await using var server = await ServeHost.StartAsync(new ServeOptions(f.Models, "127.0.0.1", 0, 2, 8));
        await using var browser = await HeadlessChromium.LaunchAsync();
        string? shots = Environment.GetEnvironmentVariable("RECURRENT_SCREENSHOTS");

        await browser.Navigate(server.Url);
        await browser.WaitFor("document.querySelectorAll('#models tbody tr').length === 10", "the index's ten rows");
        var pages = await browser.Evaluate("""
            Object.fromEntries([...document.querySelectorAll('#models tbody tr')].map(r => [r.dataset.model, r.cells[5].textContent]))
            """);
        Assert.Equal("tag", pages.GetProperty("tag").GetString());
        Assert.Equal("tag", pages.GetProperty("tag/best").GetString());
        Assert.Equal("translate", pages.GetProperty("tr").GetString());
        Assert.Equal("translate", pages.GetProperty("tr/best").GetString());

        // The tag page: type a sentence, click Tag, and every entity of the API's answer is a mark of its type's colour.
        await browser.Click("tr[data-model='tag'] a");
        await browser.WaitFor("location.pathname === '/tag' && document.readyState === 'complete' && !document.getElementById('form').hidden",
            "the tag page's form");
        Assert.Equal("Tag: tag", (await browser.Evaluate("document.getElementById('title').textContent")).GetString());
        const string sentence = "Anna and Bob saw the City Bank and Eve";
        await browser.Type("#text", sentence);
        await browser.Click("#tag");
        await browser.WaitFor("document.getElementById('status').dataset.done === 'true'", "the tags");
        var api = await Api(server, "tag", "tag", new { text = sentence });
        var expected = api.GetProperty("entities").EnumerateArray()
            .Select(e => (Type: e.GetProperty("type").GetString()!, Start: e.GetProperty("start").GetInt32(), End: e.GetProperty("end").GetInt32(),
                          Text: e.GetProperty("text").GetString()!)).ToList();
        Assert.NotEmpty(expected);
        var marks = (await browser.Evaluate("""
            [...document.querySelectorAll('#sentence mark.entity')].map(m => [m.dataset.type, Number(m.dataset.start), Number(m.dataset.end),
              m.firstChild.textContent, m.querySelector('.type').textContent, getComputedStyle(m).backgroundColor])
            """)).EnumerateArray().Select(m => (Type: m[0].GetString()!, Start: m[1].GetInt32(), End: m[2].GetInt32(), Text: m[3].GetString()!,
                                                Label: m[4].GetString()!, Colour: m[5].GetString()!)).ToList();
        Assert.Equal(expected, marks.Select(m => (m.Type, m.Start, m.End, m.Text)));
        Assert.All(marks, m => Assert.Equal(m.Type, m.Label));
        // One colour per type: marks of a type share it, marks of two types differ, and the legend shows the same.
        var colours = marks.GroupBy(m => m.Type).ToDictionary(g => g.Key, g => g.Select(m => m.Colour).Distinct().Single());
        Assert.Equal(colours.Count, colours.Values.Distinct().Count());
        Assert.DoesNotContain("rgba(0, 0, 0, 0)", colours.Values);
        var legend = (await browser.Evaluate("""
            Object.fromEntries([...document.querySelectorAll('#legend li')].map(l => [l.dataset.type, getComputedStyle(l.querySelector('.swatch')).backgroundColor]))
            """)).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Contains("PER", legend.Keys);
        Assert.Contains("ORG", legend.Keys);
        Assert.All(colours, c => Assert.Equal(c.Value, legend[c.Key]));
        // The sentence reads as typed, entities and all; the table gives every token's tag.
        Assert.Equal(sentence, System.Text.RegularExpressions.Regex.Replace(
            (await browser.Evaluate("[...document.getElementById('sentence').childNodes].map(n => n.nodeType === 3 ? n.textContent : n.firstChild.textContent + ' ').join('')")).GetString()!,
            @"\s+", " ").Trim());
        Assert.Equal(api.GetProperty("tags").EnumerateArray().Select(t => t.GetString()),
            (await browser.Evaluate("[...document.querySelectorAll('#tags tbody tr')].map(r => r.cells[1].textContent)")).EnumerateArray().Select(t => t.GetString()));
        if (shots != null) await File.WriteAllBytesAsync(Path.Combine(shots, "serve-tag.png"), await browser.Screenshot());

        // The translate page: the translation predict gives with the same beam, and a heat map cell per target × source token.
        await browser.Navigate(server.Url);
        await browser.WaitFor("document.querySelectorAll('#models tbody tr').length === 10", "the index again");
        await browser.Click("tr[data-model='tr'] a");
        await browser.WaitFor("location.pathname === '/translate' && document.readyState === 'complete' && !document.getElementById('form').hidden",
            "the translate page's form");
        Assert.Equal("5", (await browser.Evaluate("document.getElementById('beam').value")).GetString());
        const string source = "six five four two .";
        await browser.Type("#text", source);
        await browser.Type("#beam", "3");
        await browser.Click("#translate");
        await browser.WaitFor("document.getElementById('status').dataset.done === 'true'", "the translation");
        string input = Path.Combine(f.Models, "..", "translate-page.txt");
        File.WriteAllText(input, source + "\n");
        string predicted = Ok("predict", "--model", Path.Combine(f.Models, "tr"), "--last", "--beam", "3", "--input", input).TrimEnd('\n');
        Assert.Equal(predicted, (await browser.Evaluate("document.getElementById('translation').textContent")).GetString());
        var answer = await Api(server, "tr", "translate", new { text = source, beam = 3 });
        string[] sources = answer.GetProperty("source_tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        string[] targets = answer.GetProperty("target_tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        var weights = answer.GetProperty("attention").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var map = await browser.Evaluate("""
            [[...document.querySelectorAll('#attention thead th.source')].map(th => th.textContent),
             [...document.querySelectorAll('#attention tbody tr')].map(r => [r.querySelector('th.target').textContent,
               [...r.querySelectorAll('td.weight')].map(td => [td.title, Number(td.dataset.weight), getComputedStyle(td).backgroundColor])])]
            """);
        Assert.Equal(sources, map[0].EnumerateArray().Select(t => t.GetString()));
        var rows = map[1].EnumerateArray().ToArray();
        Assert.Equal(targets, rows.Select(r => r[0].GetString()));
        for (int t = 0; t < targets.Length; t++)
        {
            var cells = rows[t][1].EnumerateArray().ToArray();
            Assert.Equal(sources.Length, cells.Length);
            for (int s = 0; s < sources.Length; s++)
            {
                Assert.Equal(weights[t][s], cells[s][1].GetDouble(), 9);
                Assert.Equal($"{targets[t]} ← {sources[s]} ({weights[t][s].ToString("F3", System.Globalization.CultureInfo.InvariantCulture)})",
                             cells[s][0].GetString());
            }
            // The row's heaviest cell is its darkest: the largest alpha of its background.
            double Alpha(JsonElement cell) => double.Parse(System.Text.RegularExpressions.Regex.Match(cell[2].GetString()!, @"rgba?\(([^)]*)\)")
                .Groups[1].Value.Split(',').Select(v => v.Trim()).ElementAtOrDefault(3) ?? "1", System.Globalization.CultureInfo.InvariantCulture);
            int heaviest = Array.IndexOf(weights[t], weights[t].Max());
            Assert.Equal(cells.Select(Alpha).Max(), Alpha(cells[heaviest]), 2);
        }
        if (shots != null) await File.WriteAllBytesAsync(Path.Combine(shots, "serve-translate.png"), await browser.Screenshot());

        // A beam out of range comes back as the API's message, on the page.
        await browser.Type("#beam", "17");
        await browser.Click("#translate");
        await browser.WaitFor("document.getElementById('status').className === 'error'", "the error message");
        Assert.Contains("\"beam\" must be between 1 and 16", (await browser.Evaluate("document.getElementById('status').textContent")).GetString());
    }
}
