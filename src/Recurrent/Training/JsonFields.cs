using System.Text.Json;

namespace Recurrent.Training;

/// <summary>
/// Reading a JSON object field by field with one-line errors that name the file and the field, so a hand-edited or
/// foreign config.json fails with "config.json in 'DIR': "hidden_size" must be a whole number" and not a stack trace.
/// </summary>
internal readonly struct JsonFields(JsonElement obj, string where)
{
    public string Where => where;

    public static JsonFields Parse(string json, string where)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e)
        {
            // One line: the parser's message may quote the text around the error, newlines and all.
            throw new InvalidDataException($"{where} is not valid JSON ({e.Message.Split('.')[0].ReplaceLineEndings(" ")})");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where} is not a JSON object");
        return new JsonFields(doc.RootElement, where);
    }

    public bool Has(string name) => obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    private JsonElement Get(string name) => obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
        ? v : throw new InvalidDataException($"{where}: missing \"{name}\"");

    public JsonFields Object(string name)
    {
        var v = Get(name);
        return v.ValueKind == JsonValueKind.Object ? new JsonFields(v, $"{where} \"{name}\"")
            : throw new InvalidDataException($"{where}: \"{name}\" must be an object");
    }

    public string String(string name)
    {
        var v = Get(name);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new InvalidDataException($"{where}: \"{name}\" must be a string");
    }

    public long Long(string name, long min = long.MinValue, long max = long.MaxValue)
    {
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x))
            throw new InvalidDataException($"{where}: \"{name}\" must be a whole number");
        if (x < min || x > max) throw new InvalidDataException($"{where}: \"{name}\" = {x} is out of range [{min}, {max}]");
        return x;
    }

    public int Int(string name, int min = int.MinValue, int max = int.MaxValue) => (int)Long(name, min, max);

    public double Double(string name, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double x) || !double.IsFinite(x))
            throw new InvalidDataException($"{where}: \"{name}\" must be a number");
        if (x < min || x > max) throw new InvalidDataException($"{where}: \"{name}\" = {x} is out of range [{min}, {max}]");
        return x;
    }

    public long? OptionalLong(string name, long min = long.MinValue) => Has(name) ? Long(name, min) : null;
    public double? OptionalDouble(string name, double min = double.NegativeInfinity) => Has(name) ? Double(name, min) : null;
    public string? OptionalString(string name) => Has(name) ? String(name) : null;

    public bool Bool(string name)
    {
        var v = Get(name);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"{where}: \"{name}\" must be true or false"),
        };
    }

    /// <summary>An array of strings (a vocabulary, a label set).</summary>
    /// <summary>
    /// Builds something from these fields (a model's configuration) and turns what goes wrong — a field's error, a
    /// setting the model refuses — into one InvalidDataException that names the file first.
    /// </summary>
    public T Read<T>(Func<T> build)
    {
        try { return build(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{where}: {e.Message}"); }
        catch (InvalidDataException e) when (!e.Message.StartsWith(where, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{where}: {e.Message}");
        }
    }

    /// <summary>Writes a list of strings (a vocabulary, labels) as a JSON array: what <see cref="StringArray"/> reads.</summary>
    public static void WriteList(Utf8JsonWriter w, string name, IEnumerable<string> items)
    {
        w.WriteStartArray(name);
        foreach (string item in items) w.WriteStringValue(item);
        w.WriteEndArray();
    }

    public string[] StringArray(string name)
    {
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: \"{name}\" must be an array of strings");
        var items = new string[v.GetArrayLength()];
        int i = 0;
        foreach (var item in v.EnumerateArray())
            items[i++] = item.ValueKind == JsonValueKind.String ? item.GetString()!
                : throw new InvalidDataException($"{where}: \"{name}\"[{i}] must be a string");
        return items;
    }
}
