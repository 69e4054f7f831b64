using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Recurrent.Cli.Serve;
using Xunit;
using static Recurrent.Tests.CharLmFixture;

namespace Recurrent.Tests;

/// <summary>
/// A models directory for the server's tests, trained once: a char-lm with best/ ("lm", "lm/best"), a classifier
/// ("cls", "cls/best"), a conditioned generator ("gen", "gen/best"), a BIO tagger ("tag", "tag/best") and a
/// translator ("tr", "tr/best").
/// </summary>
public sealed class ServeFixture : IDisposable
{
    private readonly CharLmFixture _lm = new();
    private readonly WordTaskFixture _words = new();
    private readonly Seq2SeqTaskFixture _gen = new();

    public string Models { get; }
    public string Lm => Path.Combine(Models, "lm");
    public long LmParameters { get; }
    public WordTaskFixture Words => _words;

    public ServeFixture()
    {
        Models = _lm.Path("models");
        Directory.CreateDirectory(Models);
        using var lm = JsonDocument.Parse(Ok(["train", "--data", _lm.Data, "--out", Lm, "--json", "--steps", "30", "--eval-every", "10", .. Tiny]));
        LmParameters = lm.RootElement.GetProperty("parameters").GetInt64();
        Ok(["train", "--task", "classify", "--train", _words.ClassifyTrain, "--dev", _words.ClassifyDev, "--out", Path.Combine(Models, "cls"),
            "--json", "--epochs", "1", .. WordTaskFixture.TinyClassify]);
        Ok(["train", "--task", "generate", "--train", _gen.GenerateTrain, "--dev", _gen.GenerateDev, "--out", Path.Combine(Models, "gen"),
            "--json", "--epochs", "2", .. Seq2SeqTaskFixture.TinyGenerate]);
        Ok(["train", "--task", "tag", "--train", _words.TagTrain, "--dev", _words.TagDev, "--out", Path.Combine(Models, "tag"),
            "--json", "--epochs", "30", .. WordTaskFixture.TinyTag]);
        Ok(["train", "--task", "translate", "--train", _gen.TranslateTrain, "--dev", _gen.TranslateDev, "--out", Path.Combine(Models, "tr"),
            "--json", "--epochs", "25", .. Seq2SeqTaskFixture.TinyTranslate]);
    }

    public void Dispose()
    {
        _lm.Dispose();
        _words.Dispose();
        _gen.Dispose();
    }
}

/// <summary>The server's tests share one <see cref="ServeFixture"/> and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class ServeCollection : ICollectionFixture<ServeFixture>
{
    public const string Name = "serve";
}

/// <summary>The serve tests' HTTP calls: a JSON POST to an action of a model, or a GET, answered with status and JSON body.</summary>
internal static class ServeHttp
{
    public static readonly HttpClient Client = new() { Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>POST api/models/MODEL/ACTION with a JSON body (stream: asking for text/event-stream).</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> Post(ServeHost server, string model, string action, string json,
        bool stream = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{server.Url}api/models/{model}/{action}")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        if (stream) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await Client.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>GET the server's path (relative to its root).</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> Get(ServeHost server, string path)
    {
        using var response = await Client.GetAsync(server.Url + path);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }
}

[Collection(ServeCollection.Name)]
public class ServeApiTests(ServeFixture f)
{
    private static HttpClient Http => ServeHttp.Client;

    private async Task<ServeHost> Start(int running = 4, int waiting = 16) =>
        await ServeHost.StartAsync(new ServeOptions(f.Models, "127.0.0.1", 0, running, waiting));

    private static Task<(HttpStatusCode Status, JsonElement Body)> Post(ServeHost server, string model, string json, bool stream = false) =>
        ServeHttp.Post(server, model, "generate", json, stream);

    /// <summary>The events of a text/event-stream answer: (event name, data as JSON).</summary>
    private static async Task<List<(string Name, JsonElement Data)>> Events(ServeHost server, string model, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{server.Url}api/models/{model}/generate")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        return ParseEvents(await response.Content.ReadAsStringAsync());
    }

    internal static List<(string Name, JsonElement Data)> ParseEvents(string text)
    {
        var events = new List<(string, JsonElement)>();
        foreach (string block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("event: ", lines[0]);
            Assert.StartsWith("data: ", lines[1]);
            events.Add((lines[0]["event: ".Length..], JsonDocument.Parse(lines[1]["data: ".Length..]).RootElement.Clone()));
        }
        return events;
    }

    [Fact]
    public async Task Serve_ListsEveryModelUnderTheDirectory_WithTaskParametersAndValidation()
    {
        await using var server = await Start();
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", server.Url);
        Assert.DoesNotContain(":0/", server.Url);
        string json = await Http.GetStringAsync(server.Url + "api/models");
        var models = JsonDocument.Parse(json).RootElement.EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(["cls", "cls/best", "gen", "gen/best", "lm", "lm/best", "tag", "tag/best", "tr", "tr/best"], models.Keys.Order(StringComparer.Ordinal));

        var lm = models["lm"];
        Assert.Equal("char-lm", lm.GetProperty("task").GetString());
        Assert.Equal(f.LmParameters, lm.GetProperty("parameters").GetInt64());
        Assert.Equal(30, lm.GetProperty("step").GetInt64());
        var validation = lm.GetProperty("validation");
        Assert.Equal("val_loss", validation.GetProperty("name").GetString());
        Assert.Equal(30, validation.GetProperty("step").GetInt64());
        var log = Training.TrainLog.Read(Path.Combine(f.Lm, "log.jsonl"));
        Assert.Equal(log.Last(e => e.ValLoss != null).ValLoss!.Value, validation.GetProperty("value").GetDouble(), 12);
        Assert.Equal(["generate", "cells"], lm.GetProperty("pages").EnumerateArray().Select(p => p.GetString()));

        // best/: its own step, and the validation figure its run logged at that step.
        var best = models["lm/best"];
        long bestStep = best.GetProperty("step").GetInt64();
        Assert.Equal(bestStep, best.GetProperty("validation").GetProperty("step").GetInt64());
        Assert.Equal(log.Single(e => e.Step == bestStep && e.ValLoss != null).ValLoss!.Value,
                     best.GetProperty("validation").GetProperty("value").GetDouble(), 12);

        Assert.Equal("classify", models["cls"].GetProperty("task").GetString());
        Assert.Equal("dev_accuracy", models["cls"].GetProperty("validation").GetProperty("name").GetString());
        Assert.Equal(["classify"], models["cls"].GetProperty("pages").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(["neg", "pos"], models["cls"].GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(["neg", "pos"], models["gen"].GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(["tag"], models["tag"].GetProperty("pages").EnumerateArray().Select(p => p.GetString()));
        Assert.Contains("B-PER", models["tag"].GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(["translate"], models["tr/best"].GetProperty("pages").EnumerateArray().Select(p => p.GetString()));

        // One model by name, and a model written after the server started appears without a restart.
        using var one = JsonDocument.Parse(await Http.GetStringAsync(server.Url + "api/models/lm/best"));
        Assert.Equal("lm/best", one.RootElement.GetProperty("name").GetString());
        string copy = Path.Combine(f.Models, "later", "run");
        Directory.CreateDirectory(copy);
        try
        {
            foreach (string file in new[] { "config.json", "weights.safetensors" }) File.Copy(Path.Combine(f.Lm, file), Path.Combine(copy, file));
            File.WriteAllText(Path.Combine(copy, "log.jsonl"), "{torn\n{\"step\": 1}\n"); // a log it cannot read: no figure, still served
            var later = JsonDocument.Parse(await Http.GetStringAsync(server.Url + "api/models")).RootElement.EnumerateArray()
                .Single(m => m.GetProperty("name").GetString() == "later/run");
            Assert.Equal(JsonValueKind.Null, later.GetProperty("validation").ValueKind);
            // Not a model: a config.json of something else, or one without weights.
            Directory.CreateDirectory(Path.Combine(f.Models, "later", "foreign"));
            File.WriteAllText(Path.Combine(f.Models, "later", "foreign", "config.json"), "{\"model_type\": \"bert\"}");
            File.Copy(Path.Combine(f.Lm, "weights.safetensors"), Path.Combine(f.Models, "later", "foreign", "weights.safetensors"));
            Directory.CreateDirectory(Path.Combine(f.Models, "later", "empty"));
            File.Copy(Path.Combine(f.Lm, "config.json"), Path.Combine(f.Models, "later", "empty", "config.json"));
            Assert.Equal(11, JsonDocument.Parse(await Http.GetStringAsync(server.Url + "api/models")).RootElement.GetArrayLength());
        }
        finally { Directory.Delete(Path.Combine(f.Models, "later"), true); }
    }

    [Fact]
    public async Task Serve_GenerateGivesTheSampleCommandsText_AsJsonAndAsAStreamOfEvents()
    {
        await using var server = await Start();
        string[] sample = ["sample", "--model", f.Lm, "--prime", "First", "--length", "200", "--temperature", "1", "--top-k", "10", "--seed", "5", "--json"];
        string expected = JsonDocument.Parse(Ok(sample)).RootElement.GetProperty("text").GetString()!;
        const string body = """{"prime": "First", "length": 200, "temperature": 1, "top_k": 10, "seed": 5}""";

        var (status, json) = await Post(server, "lm", body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(expected, json.GetProperty("text").GetString());
        Assert.Equal("First", json.GetProperty("prime").GetString());
        Assert.Equal(200, json.GetProperty("characters").GetInt32());
        Assert.Equal(5, json.GetProperty("seed").GetInt64());

        var events = await Events(server, "lm", body);
        Assert.Equal("done", events[^1].Name);
        Assert.All(events[..^1], e => Assert.Equal("chunk", e.Name));
        Assert.True(events.Count - 1 >= 200 / 16, $"{events.Count - 1} chunks");
        Assert.Equal(expected, string.Concat(events[..^1].Select(e => e.Data.GetProperty("text").GetString())));
        Assert.Equal(expected, events[^1].Data.GetProperty("text").GetString());

        // No seed: a random one, reported, that gives the same text again.
        var (_, drawn) = await Post(server, "lm/best", """{"length": 50}""");
        long seed = drawn.GetProperty("seed").GetInt64();
        Assert.Equal("\n", drawn.GetProperty("prime").GetString()); // the default prime, as `sample`'s
        var (_, again) = await Post(server, "lm/best", $$"""{"length": 50, "seed": {{seed}}}""");
        Assert.Equal(drawn.GetProperty("text").GetString(), again.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Serve_ConcurrentGenerationsOnOneModelGiveWhatEachGivesAlone()
    {
        await using var server = await Start(running: 8, waiting: 8);
        string Body(int seed) => $$"""{"prime": "All:", "length": 300, "temperature": 1, "seed": {{seed}}}""";
        var alone = new List<string>();
        for (int seed = 0; seed < 8; seed++) alone.Add((await Post(server, "lm", Body(seed))).Body.GetProperty("text").GetString()!);
        Assert.Equal(8, alone.Distinct().Count());
        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(seed => Task.Run(async () =>
            seed % 2 == 0
                ? (await Post(server, "lm", Body(seed))).Body.GetProperty("text").GetString()!
                : (await Events(server, "lm", Body(seed)))[^1].Data.GetProperty("text").GetString()!)));
        Assert.Equal(alone, together);
    }

    [Fact]
    public async Task Serve_FiftyConcurrentGenerationsOfTwoHundredCharactersAreAllAnswered()
    {
        // The server's defaults (inferences at once = the cores, 64 waiting): the load check of bench/serve-load.sh.
        await using var server = await ServeHost.StartAsync(new ServeOptions(f.Models, "127.0.0.1", 0));
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
            i % 2 == 0
                ? (await Post(server, "lm", $$"""{"length": 200, "seed": {{i}}}""")).Body
                : (await Events(server, "lm", $$"""{"length": 200, "seed": {{i}}}"""))[^1].Data)));
        Assert.All(answers, a => Assert.Equal(200, a.GetProperty("characters").GetInt32()));
        Assert.Equal(50, answers.Select(a => a.GetProperty("seed").GetInt64()).Distinct().Count());
        Assert.Equal(0, server.Gate.Inside);
    }

    public static TheoryData<string, string, string> BadBodies() => new()
    {
        { """{"length": 0}""", "length", "between 1 and 5000" },
        { """{"length": 5001}""", "length", "between 1 and 5000 (got 5001)" },
        { """{"length": 2.5}""", "length", "whole number" },
        { """{"length": "10"}""", "length", "whole number" },
        { """{"temperature": -0.1}""", "temperature", "between 0 and 100" },
        { """{"temperature": "hot"}""", "temperature", "must be a number" },
        { """{"top_k": -1}""", "top_k", "between 0 and" },
        { """{"seed": -3}""", "seed", "between 0 and" },
        { """{"prime": ""}""", "prime", "must not be empty" },
        { """{"prime": 7}""", "prime", "must be a string" },
        { """{"prime": "Zebra€"}""", "prime", "not in the model's vocabulary" },
        { """{"lenght": 10}""", "lenght", "unknown field \"lenght\"" },
        { """{"condition": "pos"}""", "condition", "unknown field" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Serve_AnOutOfRangeOrUnknownFieldIs400NamingIt(string body, string field, string message)
    {
        await using var server = await Start();
        foreach (bool stream in new[] { false, true })
        {
            var (status, json) = await Post(server, "lm", body, stream);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(field, json.GetProperty("field").GetString());
            Assert.Contains(message, json.GetProperty("error").GetString());
            Assert.Contains(field, json.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task Serve_AMalformedOrOversizedBodyIsRefused()
    {
        await using var server = await Start();
        foreach (string body in new[] { "{\"length\": 5", "[1, 2]", "", "\"text\"" })
        {
            var (status, json) = await Post(server, "lm", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Matches("not valid JSON|must be a JSON object", json.GetProperty("error").GetString());
        }
        // 64 KB is the limit: a prime of 70,000 characters is refused before it is read, one just under it is read.
        var (large, error) = await Post(server, "lm", $$"""{"prime": "{{new string('a', 70_000)}}", "length": 1}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large);
        Assert.Contains("65536 bytes", error.GetProperty("error").GetString());
        var (ok, _) = await Post(server, "lm", $$"""{"prime": "{{new string('a', 60_000)}}", "length": 1}""");
        Assert.Equal(HttpStatusCode.OK, ok);
    }

    [Fact]
    public async Task Serve_AnUnknownModelOrATaskTheModelDoesNotDoIs404()
    {
        await using var server = await Start();
        foreach (var (path, message) in new[]
                 {
                     ("nope/generate", "no model 'nope'"), ("lm/nope/generate", "no model 'lm/nope'"),
                     ("cls/generate", "'cls' is a classify model"), ("lm/classify", "'lm' is a char-lm model: it does not classify"),
                     ("lm/fly", "no such endpoint"), ("lm", "no such endpoint"),
                     ("gen/classify", "'gen' is a generate model: it does not classify (classify takes classify models)"),
                     ("cls/tag", "'cls' is a classify model: it does not tag (tag takes tag models)"),
                     ("tag/classify", "'tag' is a tag model: it does not classify"),
                     ("tr/tag", "'tr' is a translate model: it does not tag"),
                     ("lm/translate", "'lm' is a char-lm model: it does not translate (translate takes translate models)"),
                     ("tag/best/translate", "'tag/best' is a tag model: it does not translate"),
                     ("nope/translate", "no model 'nope'"),
                 })
        {
            using var response = await Http.PostAsync($"{server.Url}api/models/{path}", new StringContent("{}"));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains(message, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }
        using var missing = await Http.GetAsync($"{server.Url}api/models/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Serve_BeyondTheRunningAndWaitingInferencesIs503()
    {
        await using var server = await Start(running: 1, waiting: 1);
        const string body = """{"prime": "A", "length": 20, "seed": 1}""";
        var held = await server.Gate.EnterAsync(CancellationToken.None);  // the one running inference
        Assert.NotNull(held);
        var waiting = Post(server, "lm", body);                           // waits for it
        Assert.True(SpinWait.SpinUntil(() => server.Gate.Inside == 2, TimeSpan.FromSeconds(30)));
        var (status, json) = await Post(server, "lm", body);             // no room left
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("busy", json.GetProperty("error").GetString());
        Assert.False(waiting.IsCompleted);
        held!.Dispose();
        Assert.Equal(HttpStatusCode.OK, (await waiting).Status);
        Assert.Equal(HttpStatusCode.OK, (await Post(server, "lm", body)).Status);
        Assert.Equal(0, server.Gate.Inside);
    }

    [Fact]
    public async Task Serve_AConditionedGeneratorTakesALabel()
    {
        await using var server = await Start();
        const string body = """{"condition": "pos", "length": 12, "seed": 4, "temperature": 0.5}""";
        var (status, json) = await Post(server, "gen", body);
        Assert.Equal(HttpStatusCode.OK, status);
        string text = json.GetProperty("text").GetString()!;
        string expected = Ok("sample", "--model", Path.Combine(f.Models, "gen"), "--last", "--condition", "pos", "--length", "12", "--seed", "4",
            "--temperature", "0.5").TrimEnd('\n');
        Assert.Equal(expected, text);
        var events = await Events(server, "gen", body);
        Assert.Equal(text, string.Concat(events[..^1].Select(e => e.Data.GetProperty("text").GetString())));

        foreach (var (bad, message) in new[] { ("""{"condition": "meh"}""", "one of the model's labels (neg, pos)"), ("{}", "\"condition\" is required"),
                                               ("""{"condition": "pos", "prime": "a"}""", "unknown field \"prime\"") })
        {
            var (code, error) = await Post(server, "gen", bad);
            Assert.Equal(HttpStatusCode.BadRequest, code);
            Assert.Contains(message, error.GetProperty("error").GetString());
        }
    }

    private static Task<(HttpStatusCode Status, JsonElement Body)> Classify(ServeHost server, string model, string json) =>
        ServeHttp.Post(server, model, "classify", json);
    [Fact]
    public async Task Serve_ClassifyGivesPredictsLabel_AndEveryLabelsProbability()
    {
        await using var server = await Start();
        string[] texts = ["the film was good and very good", "a bad plot but quite bad", "it was good bad and zebra"];
        string input = Path.Combine(f.Models, "..", "classify-input.txt");
        File.WriteAllText(input, string.Join('\n', texts) + "\n");
        var predicted = Ok("predict", "--model", Path.Combine(f.Models, "cls"), "--last", "--input", input).TrimEnd('\n').Split('\n');
        for (int i = 0; i < texts.Length; i++)
        {
            var (status, json) = await Classify(server, "cls", JsonSerializer.Serialize(new { text = texts[i] }));
            Assert.Equal(HttpStatusCode.OK, status);
            string[] expected = predicted[i].Split('\t');
            Assert.Equal(expected[0], json.GetProperty("label").GetString());
            Assert.Equal(expected[1], json.GetProperty("probability").GetDouble().ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
            var probabilities = json.GetProperty("probabilities").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            Assert.Equal(["neg", "pos"], probabilities.Keys.Order());
            Assert.Equal(1.0, probabilities.Values.Sum(), 5);
            Assert.Equal(json.GetProperty("probability").GetDouble(), probabilities[expected[0]]);
            Assert.Equal(texts[i].Split(' '), json.GetProperty("words").EnumerateArray().Select(w => w.GetString()));
            Assert.Equal(i == 2 ? 1 : 0, json.GetProperty("unknown_words").GetInt32()); // "zebra"
        }

        foreach (var (body, field, message) in new[]
                 {
                     ("{}", "text", "\"text\" is required"), ("""{"text": "   "}""", "text", "\"text\" has no words"),
                     ("""{"text": 5}""", "text", "must be a string"), ("""{"txt": "good"}""", "txt", "unknown field \"txt\""),
                     (JsonSerializer.Serialize(new { text = string.Join(' ', Enumerable.Repeat("good", 401)) }), "text", "401 words; at most 400"),
                 })
        {
            var (status, json) = await Classify(server, "cls/best", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(field, json.GetProperty("field").GetString());
            Assert.Contains(message, json.GetProperty("error").GetString());
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await Classify(server, "cls", "[")).Status);
    }

    private static Task<(HttpStatusCode Status, JsonElement Body)> PostTo(ServeHost server, string model, string action, string json) =>
        ServeHttp.Post(server, model, action, json);
    [Fact]
    public async Task Serve_TagGivesPredictsTags_AndTheEntitiesConllevalReadsInThem()
    {
        await using var server = await Start();
        string[] texts = ["Anna and Bob saw City Bank", "the film was very good", "  Carla   went to City Bank with Zebra1999  ", "Eve"];
        string input = Path.Combine(f.Models, "..", "tag-input.txt");
        File.WriteAllText(input, string.Join('\n', texts) + "\n");
        // predict's CoNLL lines: token<TAB>tag, a blank line after each sentence.
        var sentences = Ok("predict", "--model", Path.Combine(f.Models, "tag"), "--last", "--input", input).TrimEnd('\n').Split("\n\n")
            .Select(s => s.Split('\n').Select(l => l.Split('\t')).ToArray()).ToArray();
        Assert.Equal(texts.Length, sentences.Length);
        int entitiesSeen = 0;
        for (int i = 0; i < texts.Length; i++)
        {
            var (status, json) = await PostTo(server, "tag", "tag", JsonSerializer.Serialize(new { text = texts[i] }));
            Assert.Equal(HttpStatusCode.OK, status);
            string[] tokens = json.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
            string[] tags = json.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray();
            Assert.Equal(texts[i].Split(' ', StringSplitOptions.RemoveEmptyEntries), tokens);
            Assert.Equal(sentences[i].Select(l => l[0]), tokens);
            Assert.Equal(sentences[i].Select(l => l[1]), tags);
            var entities = json.GetProperty("entities").EnumerateArray()
                .Select(e => (e.GetProperty("type").GetString()!, e.GetProperty("start").GetInt32(), e.GetProperty("end").GetInt32(), e.GetProperty("text").GetString()!))
                .ToList();
            Assert.Equal(Metrics.EntityMetrics.Entities(tags).Select(e => (e.Type, e.Start, e.End, string.Join(' ', tokens[e.Start..e.End]))), entities);
            entitiesSeen += entities.Count;
        }
        Assert.True(entitiesSeen > 0, "the tagger found no entity at all");

        // The rule of the data, learned: names are PER, "City Bank" is one ORG of two tokens (end exclusive).
        var (_, anna) = await PostTo(server, "tag/best", "tag", """{"text": "Anna and Bob saw City Bank"}""");
        Assert.Equal("B-PER", anna.GetProperty("tags")[0].GetString());
        Assert.Equal(1, anna.GetProperty("unknown_words").GetInt32()); // "saw"

        foreach (var (body, field, message) in new[]
                 {
                     ("{}", "text", "\"text\" is required: the sentence to tag"), ("""{"text": " \n "}""", "text", "\"text\" has no words"),
                     ("""{"text": ["Anna"]}""", "text", "must be a string"), ("""{"text": "Anna", "beam": 2}""", "beam", "unknown field \"beam\""),
                     (JsonSerializer.Serialize(new { text = string.Join(' ', Enumerable.Repeat("Anna", 401)) }), "text", "401 words; at most 400"),
                 })
        {
            var (status, json) = await PostTo(server, "tag", "tag", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(field, json.GetProperty("field").GetString());
            Assert.Contains(message, json.GetProperty("error").GetString());
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await PostTo(server, "tag", "tag", "[1]")).Status);
    }

    [Fact]
    public async Task Serve_TranslateGivesPredictsTranslation_WithAttentionPerTargetToken()
    {
        await using var server = await Start();
        string[] texts = ["one two three .", "six five four four one ."];
        string input = Path.Combine(f.Models, "..", "translate-input.txt");
        File.WriteAllText(input, string.Join('\n', texts) + "\n");
        string tr = Path.Combine(f.Models, "tr");
        foreach (int beam in new[] { 1, 3, 5, 16 })
        {
            var predicted = Ok("predict", "--model", tr, "--last", "--beam", beam.ToString(), "--input", input).TrimEnd('\n').Split('\n');
            for (int i = 0; i < texts.Length; i++)
            {
                var (status, json) = await PostTo(server, "tr", "translate", JsonSerializer.Serialize(new { text = texts[i], beam }));
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Equal(predicted[i], json.GetProperty("translation").GetString());
                Assert.Equal(beam, json.GetProperty("beam").GetInt32());
                string[] source = json.GetProperty("source_tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
                string[] target = json.GetProperty("target_tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
                Assert.Equal(Data.TranslationTokenizer.Tokenize(texts[i]), source);
                Assert.Equal(predicted[i], Data.TranslationTokenizer.Detokenize(target.Where(t => t != "</s>").ToArray()));
                var attention = json.GetProperty("attention").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
                Assert.Equal(target.Length, attention.Length);                          // a row per target token
                Assert.All(attention, row => Assert.Equal(source.Length, row.Length));  // a column per source token
                Assert.All(attention, row => Assert.Equal(1.0, row.Sum(), 4));          // each a softmax over the source
            }
        }
        // The default beam is 5; the model learned the word-by-word rule.
        var (_, greedy) = await PostTo(server, "tr/best", "translate", """{"text": "one two three ."}""");
        Assert.Equal(5, greedy.GetProperty("beam").GetInt32());
        Assert.Equal("un deux trois.", greedy.GetProperty("translation").GetString());
        Assert.Equal("</s>", greedy.GetProperty("target_tokens").EnumerateArray().Last().GetString());

        foreach (var (body, field, message) in new[]
                 {
                     ("""{"text": "one", "beam": 0}""", "beam", "\"beam\" must be between 1 and 16 (got 0)"),
                     ("""{"text": "one", "beam": 17}""", "beam", "between 1 and 16 (got 17)"),
                     ("""{"text": "one", "beam": 2.5}""", "beam", "whole number"), ("""{"text": "one", "beam": "5"}""", "beam", "whole number"),
                     ("""{"beam": 5}""", "text", "\"text\" is required: the sentence to translate"), ("""{"text": "   "}""", "text", "has no words"),
                     ("""{"text": 1}""", "text", "must be a string"), ("""{"text": "one", "bean": 5}""", "bean", "unknown field \"bean\""),
                     (JsonSerializer.Serialize(new { text = string.Join(' ', Enumerable.Repeat("one", 101)) }), "text", "101 tokens; at most 100"),
                 })
        {
            var (status, json) = await PostTo(server, "tr", "translate", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(field, json.GetProperty("field").GetString());
            Assert.Contains(message, json.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task Serve_ThePagesAndTheirFilesComeFromTheServer()
    {
        await using var server = await Start();
        foreach (var (path, type, content) in new[]
                 {
                     ("", "text/html", "/static/index.js"), ("generate?model=lm", "text/html", "/static/generate.js"),
                     ("static/app.css", "text/css", "pre#output"), ("static/index.js", "text/javascript", "/api/models"),
                     ("static/generate.js", "text/javascript", "text/event-stream"),
                     ("classify?model=cls", "text/html", "/static/classify.js"), ("static/classify.js", "text/javascript", "/classify"),
                     ("tag?model=tag", "text/html", "/static/tag.js"), ("static/tag.js", "text/javascript", "/tag"),
                     ("translate?model=tr", "text/html", "/static/translate.js"), ("static/translate.js", "text/javascript", "/translate"),
                     ("classify?model=cls", "text/html", "/static/page.js"), ("static/page.js", "text/javascript", "async function openModel"),
                     ("cells?model=lm", "text/html", "/static/cells.js"), ("static/cells.js", "text/javascript", "/cells"),
                     ("training?model=lm", "text/html", "/static/training.js"), ("static/training.js", "text/javascript", "/log"),
                 })
        {
            using var response = await Http.GetAsync(server.Url + path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType!.MediaType);
            string text = await response.Content.ReadAsStringAsync();
            Assert.Contains(content, text);
            Assert.DoesNotContain("http://", text.Replace("http://www.w3.org", "")); // nothing loaded from elsewhere
        }
        using var missing = await Http.GetAsync(server.Url + "static/nothing.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
