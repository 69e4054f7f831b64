using System.Globalization;
using System.Text.Json;

namespace Recurrent.Cli.Serve;

/// <summary>A request the server refuses with 400 (or 413): the message names the field at fault, when one is.</summary>
internal sealed class RequestException(string message, string? field = null, int status = 400) : Exception(message)
{
    public string? Field { get; } = field;
    public int Status { get; } = status;
}

/// <summary>A request body: a JSON object whose fields are all known.</summary>
internal static class RequestBody
{
    /// <summary>The body parsed (the caller disposes it); not JSON, not an object or a field not in fields is a <see cref="RequestException"/>.</summary>
    public static JsonDocument Open(ReadOnlySpan<byte> body, string[] fields)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body.ToArray()); }
        catch (JsonException e) { throw new RequestException($"the body is not valid JSON: {e.Message}"); }
        var root = doc.RootElement;
        string? problem = root.ValueKind != JsonValueKind.Object ? "the body must be a JSON object" : null;
        string? field = problem == null ? root.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => !fields.Contains(n)) : null;
        if (problem == null && field == null) return doc;
        doc.Dispose();
        throw field == null
            ? new RequestException(problem!)
            : new RequestException($"unknown field \"{field}\" (fields: {string.Join(", ", fields)})", field);
    }

    /// <summary>An optional whole-number field in [min, max] (fallback when absent or null); else a RequestException naming it.</summary>
    public static long Whole(JsonElement root, string name, long fallback, long min, long max)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        string range = $"between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}";
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || d != Math.Floor(d))
            throw new RequestException($"\"{name}\" must be a whole number {range} (got {v.GetRawText()})", name);
        if (d < min || d > max) throw new RequestException($"\"{name}\" must be {range} (got {v.GetRawText()})", name);
        return (long)d;
    }

    /// <summary>An optional finite number field in [min, max] (fallback when absent or null); else a RequestException naming it.</summary>
    public static double Number(JsonElement root, string name, double fallback, double min, double max)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        string range = $"between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}";
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
            throw new RequestException($"\"{name}\" must be a number {range} (got {v.GetRawText()})", name);
        if (d < min || d > max) throw new RequestException($"\"{name}\" must be {range} (got {v.GetRawText()})", name);
        return d;
    }
}

/// <summary>
/// The body of POST /api/models/{name}/generate, checked field by field: an unknown field, a value of the wrong type
/// or out of its range is a <see cref="RequestException"/> naming it.
/// char-lm: {"prime", "length", "temperature", "top_k", "seed"}; generate: {"condition", ...the same but prime}.
/// </summary>
internal sealed record GenerateRequest(string? Prime, JsonElement? Condition, int Length, double Temperature, int TopK, long Seed)
{
    public const int MaxLength = 5000, DefaultLength = 200, DefaultWordLength = 50;
    public const double DefaultTemperature = 0.8, MaxTemperature = 100;

    public static GenerateRequest Parse(ReadOnlySpan<byte> body, bool conditioned)
    {
        string[] fields = conditioned ? ["condition", "length", "temperature", "top_k", "seed"] : ["prime", "length", "temperature", "top_k", "seed"];
        using (var doc = RequestBody.Open(body, fields))
        {
            var root = doc.RootElement;

            string? prime = null;
            if (root.TryGetProperty("prime", out var pr) && pr.ValueKind != JsonValueKind.Null)
            {
                if (pr.ValueKind != JsonValueKind.String) throw new RequestException("\"prime\" must be a string", "prime");
                prime = pr.GetString()!;
                if (prime.Length == 0) throw new RequestException("\"prime\" must not be empty (leave it out for the default, a newline)", "prime");
            }
            JsonElement? condition = null;
            if (conditioned)
            {
                if (!root.TryGetProperty("condition", out var c) || c.ValueKind == JsonValueKind.Null)
                    throw new RequestException("\"condition\" is required: a label of the model, or a vector of numbers", "condition");
                condition = c.Clone();
            }
            int length = (int)RequestBody.Whole(root, "length", conditioned ? DefaultWordLength : DefaultLength, 1, MaxLength);
            double temperature = RequestBody.Number(root, "temperature", DefaultTemperature, 0, MaxTemperature);
            int topK = (int)RequestBody.Whole(root, "top_k", 0, 0, 1_000_000);
            long seed = root.TryGetProperty("seed", out var s) && s.ValueKind != JsonValueKind.Null
                ? RequestBody.Whole(root, "seed", 0, 0, (1L << 53) - 1)
                : Random.Shared.NextInt64(0, 1L << 31);
            return new GenerateRequest(prime, condition, length, temperature, topK, seed);
        }
    }
}

/// <summary>The body of POST /api/models/{name}/classify and /tag: {"text": "one sentence"}.</summary>
internal static class ClassifyRequest
{
    /// <summary>Words of one text at most: the limit of the classify training data (a tagged sentence too).</summary>
    public const int MaxWords = 400;

    /// <param name="purpose">what the text is for, in the message when it is missing ("the sentence to classify").</param>
    public static string Parse(ReadOnlySpan<byte> body, string purpose = "the sentence to classify")
    {
        using (var doc = RequestBody.Open(body, ["text"]))
            return Text(doc.RootElement, purpose);
    }

    /// <summary>The "text" field: a string, required.</summary>
    internal static string Text(JsonElement root, string purpose)
    {
        if (!root.TryGetProperty("text", out var text) || text.ValueKind == JsonValueKind.Null)
            throw new RequestException($"\"text\" is required: {purpose}", "text");
        if (text.ValueKind != JsonValueKind.String) throw new RequestException("\"text\" must be a string", "text");
        return text.GetString()!;
    }
}

/// <summary>The body of POST /api/models/{name}/translate: {"text": "one sentence", "beam": 1..16 (default 5)}.</summary>
internal static class TranslateRequest
{
    public const int DefaultBeam = 5, MaxBeam = 16;

    public static (string Text, int Beam) Parse(ReadOnlySpan<byte> body)
    {
        using (var doc = RequestBody.Open(body, ["text", "beam"]))
        {
            var root = doc.RootElement;
            string text = ClassifyRequest.Text(root, "the sentence to translate");
            return (text, (int)RequestBody.Whole(root, "beam", DefaultBeam, 1, MaxBeam));
        }
    }
}

/// <summary>
/// The body of POST /api/models/{name}/cells: {"text": at most 5,000 characters, "layer": from 0 (default 0),
/// "unit": from 0 (default 0)}; the model's own ranges are checked once it is loaded.
/// </summary>
internal static class CellsRequest
{
    public const int MaxCharacters = 5000;

    public static (string Text, int Layer, int Unit) Parse(ReadOnlySpan<byte> body)
    {
        using (var doc = RequestBody.Open(body, ["text", "layer", "unit"]))
        {
            var root = doc.RootElement;
            string text = ClassifyRequest.Text(root, "the text whose characters are coloured by the cell");
            if (text.Length > 2 * MaxCharacters)
                throw new RequestException($"\"text\" is longer than {MaxCharacters} characters", "text");
            return (text, Index(root, "layer"), Index(root, "unit"));
        }
    }

    private static int Index(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return 0;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || i < 0)
            throw new RequestException($"\"{field}\" must be a whole number from 0 (got {v.GetRawText()})", field);
        return i;
    }
}
