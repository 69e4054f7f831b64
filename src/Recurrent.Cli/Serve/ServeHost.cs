using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Tensors;

namespace Recurrent.Cli.Serve;

/// <summary>What `recurrent serve` was asked for.</summary>
/// <param name="MaxRunning">inferences that run at once.</param>
/// <param name="MaxWaiting">requests that may wait for one of them; more are answered 503.</param>
internal sealed record ServeOptions(string ModelsDir, string Host = "127.0.0.1", int Port = ServeOptions.DefaultPort,
    int MaxRunning = 0, int MaxWaiting = ServeOptions.DefaultQueue)
{
    public const int DefaultPort = 8000, DefaultQueue = 64, MaxBodyBytes = 64 * 1024;

    /// <summary>Running inferences: the cores, when not given.</summary>
    public int Running => MaxRunning > 0 ? MaxRunning : Math.Max(2, Environment.ProcessorCount);
}

/// <summary>
/// The web server of `recurrent serve`: Kestrel on one address, the JSON API under /api and the pages (embedded in this
/// assembly). Start it with <see cref="StartAsync"/>, which returns once it listens (on the port asked for, or any
/// free one for port 0: <see cref="Url"/> says which), and stop it with <see cref="DisposeAsync"/>.
/// </summary>
internal sealed class ServeHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ModelCatalog Catalog { get; }
    public InferenceGate Gate { get; }
    /// <summary>"http://127.0.0.1:8000/": where it listens, with the port it got.</summary>
    public string Url { get; private set; } = "";

    private ServeHost(WebApplication app, ModelCatalog catalog, InferenceGate gate)
    {
        (_app, Catalog, Gate) = (app, catalog, gate);
    }

    /// <summary>The address to listen on: an IP address, or "localhost" (the IPv4 loopback).</summary>
    public static IPAddress ParseHost(string host) =>
        host == "localhost" ? IPAddress.Loopback
        : IPAddress.TryParse(host, out var address) ? address
        : throw new ArgumentException($"--host must be an IP address such as 127.0.0.1 or 0.0.0.0, or localhost (got '{host}')");

    /// <summary>
    /// Listens and serves. Throws <see cref="DirectoryNotFoundException"/> for a missing models directory and
    /// <see cref="IOException"/> when the address cannot be bound (the port is in use).
    /// </summary>
    public static async Task<ServeHost> StartAsync(ServeOptions options)
    {
        if (!Directory.Exists(options.ModelsDir))
            throw new DirectoryNotFoundException($"models directory '{options.ModelsDir}' not found (train a model first, or give --models DIR)");
        var address = ParseHost(options.Host);
        var catalog = new ModelCatalog(options.ModelsDir);
        catalog.Scan();
        var gate = new InferenceGate(options.Running, options.MaxWaiting);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "recurrent", ContentRootPath = AppContext.BaseDirectory, Args = [],
        });
        builder.Logging.ClearProviders();
        builder.Configuration.Sources.Clear();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(address, options.Port);
        });
        builder.Services.AddSingleton<IHostLifetime, QuietLifetime>(); // the command handles Ctrl+C and SIGTERM itself
        var app = builder.Build();
        var host = new ServeHost(app, catalog, gate);
        host.MapRoutes();
        try { await app.StartAsync(); }
        catch (IOException e)
        {
            await app.DisposeAsync();
            string why = e.InnerException?.Message ?? e.Message;
            throw new IOException($"cannot listen on {options.Host} port {options.Port}: {why}", e);
        }
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host.Url = bound.TrimEnd('/') + "/";
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { await _app.StopAsync(timeout.Token); }
        catch (OperationCanceledException) { }
        await _app.DisposeAsync();
    }

    private void MapRoutes()
    {
        _app.MapGet("/", context => Page(context, "index.html"));
        _app.MapGet("/generate", context => Page(context, "generate.html"));
        _app.MapGet("/classify", context => Page(context, "classify.html"));
        _app.MapGet("/tag", context => Page(context, "tag.html"));
        _app.MapGet("/translate", context => Page(context, "translate.html"));
        _app.MapGet("/training", context => Page(context, "training.html"));
        _app.MapGet("/cells", context => Page(context, "cells.html"));
        _app.MapGet("/static/{file}", context => Page(context, (string)context.Request.RouteValues["file"]!));
        _app.MapGet("/api/models", ListModels);
        _app.MapGet("/api/models/{**name}", ShowModel);
        _app.MapPost("/api/models/{**path}", Post);
    }

    // ---- pages ----

    private static readonly Dictionary<string, string> ContentTypes = new()
    {
        [".html"] = "text/html; charset=utf-8", [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8", [".png"] = "image/png",
    };

    private static async Task Page(HttpContext context, string file)
    {
        using var stream = typeof(ServeHost).Assembly.GetManifestResourceStream("serve/" + file);
        if (stream == null || !ContentTypes.TryGetValue(Path.GetExtension(file), out string? type))
        {
            await Error(context, 404, $"no page '{file}'");
            return;
        }
        context.Response.ContentType = type;
        context.Response.Headers.CacheControl = "no-cache";
        await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    // ---- GET /api/models ----

    private async Task ListModels(HttpContext context)
    {
        var models = Catalog.Scan();
        await Json(context, 200, w =>
        {
            w.WriteStartArray();
            foreach (var m in models) WriteModel(w, m);
            w.WriteEndArray();
        });
    }

    private async Task ShowModel(HttpContext context)
    {
        string name = (string)context.Request.RouteValues["name"]!;
        // NAME/log is the log of model NAME (a model named ".../log" itself is shown when NAME is no model).
        if (name.EndsWith("/log", StringComparison.Ordinal) && Catalog.Find(name[..^"/log".Length]) is { } logged)
        {
            try { await Log(context, logged); }
            catch (RequestException e) { await Error(context, e.Status, e.Message, e.Field); }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { await Error(context, 500, e.Message); }
            return;
        }
        if (Catalog.Find(name) is not { } info) { await Error(context, 404, $"no model '{name}' under the models directory"); return; }
        await Json(context, 200, w => WriteModel(w, info));
    }

    // ---- GET /api/models/{name}/log?after=STEP ----

    /// <summary>
    /// The lines of the model's log.jsonl (best/'s is its run's) after step <c>after</c> (every line without it), read
    /// again on each request so a page can follow a run as it trains; a torn last line is skipped until it is complete.
    /// </summary>
    private static async Task Log(HttpContext context, ModelInfo info)
    {
        long after = long.MinValue;
        var query = context.Request.Query;
        if (query.TryGetValue("after", out var values))
        {
            string? text = values.Count == 1 ? values[0] : null;
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out after))
                throw new RequestException($"\"after\" must be an integer step (got '{string.Join(",", values.ToArray())}')", "after");
        }
        string? path = ModelCatalog.LogPath(info.Dir);
        var entries = path != null ? Training.TrainLog.Read(path) : [];
        await Json(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("model", info.Name);
            w.WriteStartArray("entries");
            foreach (var e in entries)
            {
                if (e.Step <= after) continue;
                w.WriteStartObject();
                w.WriteNumber("step", e.Step);
                w.WriteNumber("epoch", e.Epoch);
                Number(w, "train_loss", e.TrainLoss);
                if (e.ValLoss is { } v) Number(w, "val_loss", v); else w.WriteNull("val_loss");
                if (e.MetricName != null && e.Metric is { } metric) Number(w, e.MetricName, metric);
                w.WriteNumber("seconds", e.Seconds);
                w.WriteNumber("tokens_per_second", e.TokensPerSecond);
                Number(w, "lr", e.LearningRate);
                Number(w, "grad_norm", e.GradNorm);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (entries.Count > 0) w.WriteNumber("last_step", entries[^1].Step); else w.WriteNull("last_step");
            w.WriteEndObject();
        });
    }

    /// <summary>A number, or null for NaN and infinities (a diverged loss), as log.jsonl writes them.</summary>
    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }

    /// <summary>A float as the log writes it (0.01, not its widening 0.009999999776482582), or null when not finite.</summary>
    private static void Number(Utf8JsonWriter w, string name, float value)
    {
        if (float.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }

    private static void WriteModel(Utf8JsonWriter w, ModelInfo m)
    {
        w.WriteStartObject();
        w.WriteString("name", m.Name);
        w.WriteString("task", m.Task);
        w.WriteNumber("parameters", m.Parameters);
        if (m.Step is { } step) w.WriteNumber("step", step); else w.WriteNull("step");
        if (m.Validation is { } v)
        {
            w.WriteStartObject("validation");
            w.WriteString("name", v.Name);
            w.WriteNumber("value", v.Value);
            w.WriteNumber("step", v.Step);
            w.WriteEndObject();
        }
        else w.WriteNull("validation");
        Strings(w, "pages", m.Pages);
        if (m.Labels != null)
        {
            Strings(w, "labels", m.Labels);
        }
        if (m.VectorSize > 0) w.WriteNumber("vector_size", m.VectorSize);
        w.WriteEndObject();
    }

    // ---- POST /api/models/{name}/{action} ----

    private async Task Post(HttpContext context)
    {
        string path = (string)context.Request.RouteValues["path"]!;
        int slash = path.LastIndexOf('/');
        string name = slash > 0 ? path[..slash] : "", action = path[(slash + 1)..];
        try
        {
            if (slash <= 0 || action is not ("generate" or "classify" or "tag" or "translate" or "cells"))
                throw new RequestException("no such endpoint: POST /api/models/{name}/ACTION takes generate, classify, tag, translate or cells", status: 404);
            if (Catalog.Find(name) is not { } info) throw new RequestException($"no model '{name}' under the models directory", status: 404);
            if (!info.Pages.Contains(action))
                throw new RequestException($"model '{name}' is a {info.Task} model: it does not {action}" + action switch
                {
                    "generate" => " (generate takes char-lm and generate models)",
                    "classify" => " (classify takes classify models)",
                    "tag" => " (tag takes tag models)",
                    "cells" => " (cells takes char-lm models)",
                    _ => " (translate takes translate models)",
                }, status: 404);
            byte[] body = await ReadBody(context);
            if (action == "classify")
            {
                string text = ClassifyRequest.Parse(body);
                await Classify(context, Catalog.Load(info), text);
                return;
            }
            if (action == "tag")
            {
                string text = ClassifyRequest.Parse(body, "the sentence to tag, words separated by spaces");
                await Tag(context, Catalog.Load(info), text);
                return;
            }
            if (action == "cells")
            {
                var (text, layer, unit) = CellsRequest.Parse(body);
                await Cells(context, Catalog.Load(info), text, layer, unit);
                return;
            }
            if (action == "translate")
            {
                var (text, beam) = TranslateRequest.Parse(body);
                await Translate(context, Catalog.Load(info), text, beam);
                return;
            }
            var request = GenerateRequest.Parse(body, conditioned: info.Task == GeneratorConfig.GenerateTask);
            var served = Catalog.Load(info);
            await Generate(context, served, request);
        }
        catch (RequestException e) { await Fail(context, e.Status, e.Message, e.Field); }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested) { }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException)
        {
            await Fail(context, 500, e.Message);
        }
    }

    /// <summary>An error as the answer, or as an "error" event when a stream of events has already begun.</summary>
    private static async Task Fail(HttpContext context, int status, string message, string? field = null)
    {
        if (!context.Response.HasStarted) { await Error(context, status, message, field); return; }
        if (context.RequestAborted.IsCancellationRequested) return;
        try { await Event(context.Response, "error", w => Object(w, "error", message), context.RequestAborted); }
        catch (Exception e) when (e is IOException or OperationCanceledException) { }
    }

    /// <summary>The request body, at most <see cref="ServeOptions.MaxBodyBytes"/> (else 413).</summary>
    private static async Task<byte[]> ReadBody(HttpContext context)
    {
        const int limit = ServeOptions.MaxBodyBytes;
        string tooLarge = $"the request body is larger than {limit} bytes";
        if (context.Request.ContentLength > limit) throw new RequestException(tooLarge, status: 413);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int n;
        while ((n = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > limit) throw new RequestException(tooLarge, status: 413);
        }
        return buffer.ToArray();
    }

    private async Task Generate(HttpContext context, ServedModel served, GenerateRequest request)
    {
        bool stream = context.Request.Headers.Accept.Any(a => a != null && a.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase));
        var text = TextSource(served, request, out string? prime); // validates the prime or condition: 400 before any work
        using var slot = await Slot(context);
        var clock = Stopwatch.StartNew();
        var all = new StringBuilder();
        int count = 0;
        if (!stream)
        {
            foreach (string piece in text) { all.Append(piece); count++; context.RequestAborted.ThrowIfCancellationRequested(); }
            await Json(context, 200, w => WriteResult(w, served, request, prime, all.ToString(), count, clock.Elapsed.TotalSeconds));
            return;
        }

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(context.RequestAborted);
        var chunk = new StringBuilder();
        long lastFlush = 0;
        foreach (string piece in text)
        {
            chunk.Append(piece);
            all.Append(piece);
            count++;
            // An event every 16 characters or 50 ms, whichever comes first: steady text without an event per character.
            if (chunk.Length >= 16 || clock.ElapsedMilliseconds - lastFlush >= 50)
            {
                await Event(response, "chunk", w => Object(w, "text", chunk.ToString()), context.RequestAborted);
                chunk.Clear();
                lastFlush = clock.ElapsedMilliseconds;
            }
        }
        if (chunk.Length > 0) await Event(response, "chunk", w => Object(w, "text", chunk.ToString()), context.RequestAborted);
        await Event(response, "done", w => WriteResult(w, served, request, prime, all.ToString(), count, clock.Elapsed.TotalSeconds), context.RequestAborted);
    }

    /// <summary>A running slot of the inference gate (dispose it to free it), after waiting if need be; 503 when full.</summary>
    private async Task<IDisposable> Slot(HttpContext context) =>
        await Gate.EnterAsync(context.RequestAborted)
        ?? throw new RequestException($"busy: {Gate.MaxRunning} inferences are running and {Gate.MaxWaiting} waiting; try again shortly", status: 503);

    /// <summary>The words of a classify or tag request's text, split on whitespace as `recurrent predict` splits them.</summary>
    private static string[] Words(string text)
    {
        string[] words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) throw new RequestException("\"text\" has no words", "text");
        if (words.Length > ClassifyRequest.MaxWords)
            throw new RequestException($"\"text\" has {words.Length} words; at most {ClassifyRequest.MaxWords}", "text");
        return words;
    }

    /// <summary>
    /// The label of one text and every label's probability (softmax of the logits), as `recurrent predict` computes
    /// them: the text split on whitespace, words the vocabulary lacks read as &lt;unk&gt;.
    /// </summary>
    private async Task Classify(HttpContext context, ServedModel served, string text)
    {
        var model = (SequenceClassifier)served.Model;
        var config = model.Config;
        string[] words = Words(text);
        int[] ids = config.Vocabulary.Encode(words);
        int C = config.Labels.Count;
        var probabilities = new float[C];
        using (var slot = await Slot(context))
        {
            var (tokens, lengths, steps) = Data.PaddedBatch.Pad([ids], [0]);
            var logits = new float[C];
            lock (served.Gate) model.Forward(tokens, lengths, steps, 1).Span[..C].CopyTo(logits);
            Kernels.SoftmaxRow(logits, probabilities);
        }
        int best = Kernels.ArgMax(probabilities);
        await Json(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("model", served.Info.Name);
            w.WriteString("label", config.Labels.Name(best));
            w.WriteNumber("probability", probabilities[best]);
            w.WriteStartObject("probabilities");
            for (int c = 0; c < C; c++) w.WriteNumber(config.Labels.Name(c), probabilities[c]);
            w.WriteEndObject();
            Strings(w, "words", words);
            w.WriteNumber("unknown_words", ids.Count(id => id == Data.WordVocabulary.UnknownId));
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// The tag of every word of one sentence, as `recurrent predict` gives them (the text split on whitespace, words the
    /// vocabulary lacks read as &lt;unk&gt;, the model's character features when it has them), and the entities those tags
    /// hold, read as conlleval reads BIO tags (<see cref="Metrics.EntityMetrics.Entities"/>): start and end are token
    /// indices, end exclusive.
    /// </summary>
    private async Task Tag(HttpContext context, ServedModel served, string text)
    {
        var model = (SequenceTagger)served.Model;
        var config = model.Config;
        string[] words = Words(text);
        int[] ids = config.Vocabulary.Encode(words);
        var characters = config.HasCharFeatures ? new[] { words.Select(w => Tasks.TaggingData.EncodeCharacters(w, config.Characters!)).ToArray() } : null;
        int[] tagIds;
        using (var slot = await Slot(context))
        {
            lock (served.Gate) tagIds = Tasks.TagTask.Predict(model, [ids], characters, 1)[0];
        }
        string[] tags = tagIds.Select(config.Labels.Name).ToArray();
        var entities = Metrics.EntityMetrics.Entities(tags);
        await Json(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("model", served.Info.Name);
            Strings(w, "tokens", words);
            Strings(w, "tags", tags);
            w.WriteStartArray("entities");
            foreach (var (type, start, end) in entities)
            {
                w.WriteStartObject();
                w.WriteString("type", type);
                w.WriteNumber("start", start);
                w.WriteNumber("end", end);
                w.WriteString("text", string.Join(' ', words[start..end]));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("unknown_words", ids.Count(id => id == Data.WordVocabulary.UnknownId));
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// The translation of one sentence, as `recurrent predict --beam N` gives it (the text tokenized as predict does,
    /// the same beam search), with the attention weights of every output step: a row per target token (the &lt;/s&gt; the
    /// search ended with included), a column per source token; null for a model without attention.
    /// </summary>
    private async Task Translate(HttpContext context, ServedModel served, string text, int beam)
    {
        var model = (Seq2SeqModel)served.Model;
        var config = model.Config;
        string[] source = Data.TranslationTokenizer.Tokenize(text);
        if (source.Length == 0) throw new RequestException("\"text\" has no words", "text");
        if (source.Length > Data.ParallelCorpus.MaxSourceTokens)
            throw new RequestException($"\"text\" has {source.Length} tokens; at most {Data.ParallelCorpus.MaxSourceTokens}", "text");
        int[] ids = config.SourceVocabulary.Encode(source);
        bool attention = config.Attention != null;
        Translation output;
        var clock = Stopwatch.StartNew();
        using (var slot = await Slot(context))
        {
            lock (served.Gate) output = new Seq2SeqDecoder(model).Decode([ids], beam, 1, keepAttention: attention)[0];
        }
        var vocabulary = config.TargetVocabulary.Words;
        string[] words = output.Words.Select(id => vocabulary[id]).ToArray();
        string[] target = output.Ended ? [.. words, Data.WordVocabulary.End] : words;
        await Json(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("model", served.Info.Name);
            w.WriteString("translation", Data.TranslationTokenizer.Detokenize(words));
            Strings(w, "source_tokens", source);
            Strings(w, "target_tokens", target);
            if (output.Attention is { } weights)
            {
                w.WriteStartArray("attention");
                for (int t = 0; t < target.Length; t++)
                {
                    w.WriteStartArray();
                    for (int s = 0; s < source.Length; s++) w.WriteNumberValue(Math.Round(weights[t * source.Length + s], 6));
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            }
            else w.WriteNull("attention");
            w.WriteNumber("beam", beam);
            w.WriteNumber("score", output.Score);
            w.WriteNumber("unknown_words", ids.Count(id => id == Data.WordVocabulary.UnknownId));
            w.WriteNumber("seconds", Math.Round(clock.Elapsed.TotalSeconds, 4));
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// One unit's activation after every character of the text, recorded by <see cref="Analysis.CellActivations"/> as
    /// `recurrent analyze cells` records them (tanh(c) of an LSTM, h otherwise), read from a zero state.
    /// </summary>
    private async Task Cells(HttpContext context, ServedModel served, string text, int layer, int unit)
    {
        var lm = (CharLanguageModel)served.Model;
        var config = lm.Config;
        if (layer >= config.NumLayers)
            throw new RequestException($"\"layer\" must be between 0 and {config.NumLayers - 1} (the model has {config.NumLayers} layer{(config.NumLayers == 1 ? "" : "s")})", "layer");
        if (unit >= config.HiddenSize)
            throw new RequestException($"\"unit\" must be between 0 and {config.HiddenSize - 1} (the model has {config.HiddenSize} units per layer)", "unit");
        int[] ids;
        try { ids = config.Vocabulary.Encode(text, "\"text\""); }
        catch (InvalidDataException e) { throw new RequestException(e.Message, "text"); }
        if (ids.Length == 0) throw new RequestException("\"text\" must not be empty", "text");
        if (ids.Length > CellsRequest.MaxCharacters)
            throw new RequestException($"\"text\" has {ids.Length} characters; at most {CellsRequest.MaxCharacters}", "text");
        using var slot = await Slot(context);
        var clock = Stopwatch.StartNew();
        Analysis.CellActivations activations;
        lock (served.Gate) activations = Analysis.CellActivations.Record(lm, ids);
        var values = activations.Unit(layer * config.HiddenSize + unit);
        var series = values.ToArray();
        await Json(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("model", served.Info.Name);
            w.WriteNumber("layer", layer);
            w.WriteNumber("unit", unit);
            w.WriteString("cell", $"{layer}:{unit}");
            w.WriteNumber("layers", config.NumLayers);
            w.WriteNumber("hidden", config.HiddenSize);
            w.WriteString("quantity", activations.Quantity);
            w.WriteBoolean("bounded", activations.Bounded);
            Strings(w, "characters", ids.Select(id => config.Vocabulary.Symbol(id)));
            w.WriteStartArray("activations");
            foreach (float a in series) w.WriteNumberValue(a);
            w.WriteEndArray();
            w.WriteNumber("seconds", Math.Round(clock.Elapsed.TotalSeconds, 4));
            w.WriteEndObject();
        });
    }

    private static void WriteResult(Utf8JsonWriter w, ServedModel served, GenerateRequest request, string? prime, string text, int count, double seconds)
    {
        w.WriteStartObject();
        w.WriteString("model", served.Info.Name);
        if (prime != null) w.WriteString("prime", prime);
        if (request.Condition is { } condition) { w.WritePropertyName("condition"); condition.WriteTo(w); }
        w.WriteString("text", text);
        w.WriteNumber(prime != null ? "characters" : "words", count);
        w.WriteNumber("length", request.Length);
        w.WriteNumber("temperature", request.Temperature);
        w.WriteNumber("top_k", request.TopK);
        w.WriteNumber("seed", request.Seed);
        w.WriteNumber("seconds", Math.Round(seconds, 4));
        w.WriteEndObject();
    }

    /// <summary>
    /// The generated pieces, drawn lazily as they are enumerated: characters of a char-lm after its prime (the same
    /// draws as `recurrent sample` with the same seed), or the words of one text of a conditioned generator.
    /// </summary>
    private static IEnumerable<string> TextSource(ServedModel served, GenerateRequest request, out string? prime)
    {
        switch (served.Model)
        {
            case CharLanguageModel lm:
            {
                var vocabulary = lm.Config.Vocabulary;
                prime = request.Prime ?? CharLanguageModelSampler.DefaultPrime(vocabulary);
                int[] ids;
                try { ids = vocabulary.Encode(prime, "\"prime\""); }
                catch (InvalidDataException e) { throw new RequestException(e.Message, "prime"); }
                var sampler = new TokenSampler(vocabulary.Count, (float)request.Temperature, request.TopK);
                return Characters(lm, served.Gate, ids, request.Length, sampler, new Rng((ulong)request.Seed));
            }
            case ConditionedGenerator generator:
            {
                prime = null;
                var config = generator.Config;
                var (label, vector) = Condition(config, request.Condition!.Value);
                var sampler = new TokenSampler(config.Vocabulary.Count, (float)request.Temperature, request.TopK);
                return Words(generator, served.Gate, label, vector, request.Length, sampler, new Rng((ulong)request.Seed));
            }
            default: throw new InvalidOperationException($"model '{served.Info.Name}' does not generate");
        }
    }

    /// <summary>
    /// <see cref="CharLanguageModelSampler"/>'s draws: the prime through Forward under the model's lock, then a
    /// character at a time through this request's own stepper, which only reads the weights, so requests on one model
    /// interleave.
    /// </summary>
    internal static IEnumerable<string> Characters(CharLanguageModel model, object gate, int[] prime, int length, TokenSampler sampler, Rng rng)
    {
        var vocabulary = model.Config.Vocabulary;
        int V = vocabulary.Count;
        var state = model.NewState(1);
        var logits = new float[V];
        RecurrentStepper stepper;
        lock (gate)
        {
            model.Forward(prime, prime.Length, 1, state).Span[^V..].CopyTo(logits);
            stepper = model.NewStepper(state);
        }
        for (int i = 0; i < length; i++)
        {
            int next = sampler.Next(logits, rng);
            yield return vocabulary.Symbol(next);
            if (i + 1 == length) break;
            stepper.Step(next).CopyTo(logits);
        }
    }

    private static IEnumerable<string> Words(ConditionedGenerator model, object gate, int? label, float[]? vector, int length, TokenSampler sampler, Rng rng)
    {
        int[] ids;
        lock (gate) ids = model.Sample(label, vector, 1, length, sampler, rng)[0];
        for (int i = 0; i < ids.Length; i++) yield return (i > 0 ? " " : "") + model.Config.Vocabulary.Words[ids[i]];
    }

    private static (int? Label, float[]? Vector) Condition(GeneratorConfig config, JsonElement condition)
    {
        if (config.Labels is { } labels)
        {
            string? name = condition.ValueKind == JsonValueKind.String ? condition.GetString()!.Trim() : null;
            int id = name != null ? labels.Id(name) : -1;
            if (id < 0) throw new RequestException($"\"condition\" must be one of the model's labels ({string.Join(", ", labels.Names)}); got {condition.GetRawText()}", "condition");
            return (id, null);
        }
        if (condition.ValueKind != JsonValueKind.Array || condition.GetArrayLength() != config.VectorSize)
            throw new RequestException($"\"condition\" must be an array of {config.VectorSize} numbers (the model's condition vectors)", "condition");
        var vector = new float[config.VectorSize];
        int i = 0;
        foreach (var v in condition.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !float.IsFinite(vector[i] = v.GetSingle()))
                throw new RequestException($"\"condition\" value {i + 1} must be a finite number (got {v.GetRawText()})", "condition");
            i++;
        }
        return (null, vector);
    }

    // ---- JSON and events ----

    private static async Task Json(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(Serialize(body), context.RequestAborted);
    }

    private static Task Error(HttpContext context, int status, string message, string? field = null)
    {
        if (status == 503) context.Response.Headers.RetryAfter = "1";
        return Json(context, status, w =>
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            if (field != null) w.WriteString("field", field);
            w.WriteEndObject();
        });
    }

    /// <summary>One server-sent event: "event: NAME", "data: {JSON}" (JSON escapes newlines, so one data line), a blank line.</summary>
    private static async Task Event(HttpResponse response, string name, Action<Utf8JsonWriter> data, CancellationToken cancel)
    {
        var bytes = Encoding.UTF8.GetBytes($"event: {name}\ndata: {Encoding.UTF8.GetString(Serialize(data))}\n\n");
        await response.Body.WriteAsync(bytes, cancel);
        await response.Body.FlushAsync(cancel);
    }

    /// <summary>A JSON array of strings under name.</summary>
    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (string value in values) w.WriteStringValue(value);
        w.WriteEndArray();
    }

    private static void Object(Utf8JsonWriter w, string name, string value)
    {
        w.WriteStartObject();
        w.WriteString(name, value);
        w.WriteEndObject();
    }

    /// <summary>Non-ASCII text as it is, not \uXXXX (the API's answers are JSON, never pasted into HTML by the server).</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static byte[] Serialize(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions)) body(w);
        return buffer.ToArray();
    }

    /// <summary>A host lifetime that leaves the process's signals alone: the command (or a test) decides when to stop.</summary>
    private sealed class QuietLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
