using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Recurrent.Tensors;

namespace Recurrent.IO;

/// <summary>
/// A safetensors file, read whole into memory and validated up front (the files Recurrent deals in are small).
/// Layout: u64 little-endian header length N; N bytes of UTF-8 JSON
/// <c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end)}, ..., "__metadata__": {string: string}}</c>;
/// then the data, little-endian, tensors back to back with no gaps or overlaps, offsets relative to its first byte.
/// Every problem is an <see cref="InvalidDataException"/> whose one-line message names the file and what is wrong.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>One header entry; Begin/End are absolute offsets into the file's bytes.</summary>
    private sealed record Entry(string Name, SafeDType DType, int[] Shape, int Begin, int End);

    private const string MetadataKey = "__metadata__";
    private readonly byte[] _bytes;
    private readonly Dictionary<string, Entry> _entries;
    private readonly List<string> _names;

    /// <summary>The path the file was read from (or the name given to <see cref="Parse"/>); error messages start with it.</summary>
    public string Path { get; }
    /// <summary>The header's "__metadata__" string map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyList<string> Names => _names;

    private SafeTensorsFile(string path, byte[] bytes, List<Entry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _bytes = bytes;
        _names = entries.Select(e => e.Name).ToList();
        _entries = entries.ToDictionary(e => e.Name);
        Metadata = metadata;
    }

    /// <summary>Reads and validates a whole safetensors file; throws <see cref="InvalidDataException"/> naming the file and the problem.</summary>
    public static SafeTensorsFile Read(string path) => Parse(path, File.ReadAllBytes(path));

    /// <summary>Validates <paramref name="bytes"/> as a safetensors file; <paramref name="path"/> only names it in errors.</summary>
    public static SafeTensorsFile Parse(string path, byte[] bytes)
    {
        InvalidDataException Bad(string what) => new($"{path}: {what}");

        if (bytes.Length < 8)
            throw Bad($"file is {bytes.Length} bytes, too short for the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8))
            throw Bad($"header length {headerLength} goes beyond the end of the file ({bytes.Length} bytes)");
        int dataStart = 8 + (int)headerLength;
        long dataLength = bytes.Length - dataStart;

        // JSON text is UTF-8; checked first, as the parser would only fail on reading a bad name or string.
        if (!System.Text.Unicode.Utf8.IsValid(bytes.AsSpan(8, (int)headerLength))) throw Bad("header is not valid UTF-8");
        JsonDocument document;
        try { document = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength)); }
        catch (JsonException e) { throw Bad($"header is not valid JSON ({OneLine(e.Message)})"); }

        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad($"header is not a JSON object (it is {Kind(root)})");
            var seen = new HashSet<string>();
            foreach (JsonProperty property in root.EnumerateObject())
            {
                string name = property.Name;
                if (!seen.Add(name)) throw Bad($"'{name}' appears twice in the header");
                if (name == MetadataKey) { ReadMetadata(property.Value, metadata, Bad); continue; }
                entries.Add(ReadEntry(name, property.Value, dataStart, dataLength, Bad));
            }
        }
        CheckContiguous(entries, dataStart, dataLength, Bad);
        return new SafeTensorsFile(path, bytes, entries, metadata);
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, Func<string, InvalidDataException> bad)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw bad($"{MetadataKey} is not an object (it is {Kind(value)})");
        foreach (JsonProperty item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw bad($"{MetadataKey} value '{item.Name}' is not a string (it is {Kind(item.Value)})");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static Entry ReadEntry(string name, JsonElement info, int dataStart, long dataLength, Func<string, InvalidDataException> bad)
    {
        if (info.ValueKind != JsonValueKind.Object)
            throw bad($"header entry '{name}' is not an object (it is {Kind(info)})");

        if (!info.TryGetProperty("dtype", out JsonElement dtypeElement)) throw bad($"tensor '{name}' has no dtype");
        if (dtypeElement.ValueKind != JsonValueKind.String)
            throw bad($"tensor '{name}' has dtype {dtypeElement.GetRawText()}, not a string");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeDTypes.TryParse(dtypeName, out SafeDType dtype))
            throw bad($"tensor '{name}' has unsupported dtype '{dtypeName}' (supported: F32, I32, I64)");

        if (!info.TryGetProperty("shape", out JsonElement shapeElement)) throw bad($"tensor '{name}' has no shape");
        int[] shape = ReadNaturals(shapeElement, int.MaxValue)
            ?? throw bad($"tensor '{name}' has shape {shapeElement.GetRawText()}, not a list of non-negative integers");

        if (!info.TryGetProperty("data_offsets", out JsonElement offsetsElement)) throw bad($"tensor '{name}' has no data_offsets");
        long[]? offsets = ReadNaturalsLong(offsetsElement);
        if (offsets is not { Length: 2 } || offsets[0] > offsets[1])
            throw bad($"tensor '{name}' has data_offsets {offsetsElement.GetRawText()}, not [begin, end] with begin <= end");
        long begin = offsets[0], end = offsets[1];
        if (end > dataLength)
            throw bad($"tensor '{name}' has data_offsets [{begin}, {end}] outside the data ({dataLength} bytes)");

        // end <= dataLength < 2^31, so a shape whose byte size exceeds that cannot match; stop multiplying there.
        long needed = SafeDTypes.Size(dtype);
        foreach (int d in shape) needed = Math.Min(needed * d, long.MaxValue / int.MaxValue);
        if (end - begin != needed)
            throw bad($"tensor '{name}' has {end - begin} bytes at data_offsets [{begin}, {end}] but shape " +
                      $"{Tensor.Describe(shape)} of {dtype} needs {(needed < long.MaxValue / int.MaxValue ? needed.ToString() : "more than the file")}");
        return new Entry(name, dtype, shape, dataStart + (int)begin, dataStart + (int)end);
    }

    /// <summary>safetensors requires the data to be exactly the tensors, back to back: no gaps, no overlaps, nothing after.</summary>
    private static void CheckContiguous(List<Entry> entries, int dataStart, long dataLength, Func<string, InvalidDataException> bad)
    {
        long position = 0;
        Entry? previous = null;
        foreach (Entry e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            long begin = e.Begin - dataStart;
            if (begin < position)
                throw bad($"tensor '{e.Name}' (data_offsets [{begin}, {e.End - dataStart}]) overlaps tensor '{previous!.Name}' " +
                          $"(data_offsets [{previous.Begin - dataStart}, {previous.End - dataStart}])");
            if (begin > position)
                throw bad($"gap of {begin - position} bytes before tensor '{e.Name}' (data_offsets [{begin}, {e.End - dataStart}]); " +
                          "safetensors data must be contiguous");
            position = e.End - dataStart;
            previous = e;
        }
        if (position != dataLength)
            throw bad($"{dataLength - position} bytes after the last tensor belong to no tensor; safetensors data must be contiguous");
    }

    /// <summary>True when the file holds a tensor of this name.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);
    /// <summary>The stored element type of the tensor; throws <see cref="InvalidDataException"/> (listing the names it has) when there is none.</summary>
    public SafeDType DType(string name) => Get(name).DType;
    /// <summary>A copy of the tensor's stored shape; throws <see cref="InvalidDataException"/> when there is no such tensor.</summary>
    public int[] Shape(string name) => (int[])Get(name).Shape.Clone();

    /// <summary>A new float32 tensor of the stored shape.</summary>
    public Tensor Float(string name) => Float(Require(name, SafeDType.F32));

    /// <summary>A new float32 tensor; the stored shape must equal <paramref name="expectedShape"/>.</summary>
    public Tensor Float(string name, ReadOnlySpan<int> expectedShape) => Float(Require(name, SafeDType.F32, expectedShape));

    private Tensor Float(Entry e)
    {
        var tensor = new Tensor(e.Shape);
        CopyFloats(e, tensor.Data);
        return tensor;
    }

    /// <summary>Copies an F32 tensor into <paramref name="destination"/>, whose shape it must have; no allocation.</summary>
    public void CopyTo(string name, Tensor destination)
    {
        Entry e = Require(name, SafeDType.F32, destination.Shape);
        CopyFloats(e, destination.Data);
    }

    /// <summary>The values of an I64 tensor, flattened; throws <see cref="InvalidDataException"/> when it is missing or of another type.</summary>
    public long[] Int64(string name)
    {
        Entry e = Require(name, SafeDType.I64);
        ReadOnlySpan<byte> bytes = Bytes(e);
        var values = new long[bytes.Length / 8];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
        return values;
    }

    /// <summary>Token ids, lengths, targets: I32 or I64 elements as int, each required to fit.</summary>
    public int[] Indices(string name)
    {
        Entry e = Get(name);
        ReadOnlySpan<byte> bytes = Bytes(e);
        switch (e.DType)
        {
            case SafeDType.I32:
            {
                var values = new int[bytes.Length / 4];
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]);
                return values;
            }
            case SafeDType.I64:
            {
                var values = new int[bytes.Length / 8];
                for (int i = 0; i < values.Length; i++)
                {
                    long v = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
                    if (v is < int.MinValue or > int.MaxValue)
                        throw Bad($"tensor '{name}' element {i} is {v}, outside the range of int32");
                    values[i] = (int)v;
                }
                return values;
            }
            default:
                throw Bad($"tensor '{name}' is {e.DType}, expected I32 or I64");
        }
    }

    /// <summary>Checks that <paramref name="name"/> exists with this dtype without reading it.</summary>
    public void Check(string name, SafeDType dtype) => Require(name, dtype);

    /// <summary>Checks that <paramref name="name"/> exists with this dtype and shape without reading it.</summary>
    public void Check(string name, SafeDType dtype, ReadOnlySpan<int> expectedShape) => Require(name, dtype, expectedShape);

    private Entry Require(string name, SafeDType dtype)
    {
        Entry e = Get(name);
        if (e.DType != dtype) throw Bad($"tensor '{name}' is {e.DType}, expected {dtype}");
        return e;
    }

    private Entry Require(string name, SafeDType dtype, ReadOnlySpan<int> expectedShape)
    {
        Entry e = Require(name, dtype);
        if (!e.Shape.AsSpan().SequenceEqual(expectedShape))
            throw Bad($"tensor '{name}' has shape {Tensor.Describe(e.Shape)}, expected {Tensor.Describe(expectedShape)}");
        return e;
    }

    private Entry Get(string name)
    {
        if (_entries.TryGetValue(name, out Entry? e)) return e;
        const int Listed = 40;
        string has = _names.Count == 0 ? "no tensors"
            : "has: " + string.Join(", ", _names.Take(Listed)) + (_names.Count > Listed ? $", ... {_names.Count - Listed} more" : "");
        throw Bad($"no tensor '{name}' ({has})");
    }

    private ReadOnlySpan<byte> Bytes(Entry e) => _bytes.AsSpan(e.Begin, e.End - e.Begin);

    private void CopyFloats(Entry e, Span<float> destination)
    {
        ReadOnlySpan<byte> bytes = Bytes(e);
        if (BitConverter.IsLittleEndian)
            MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
        else
            for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
    }

    private InvalidDataException Bad(string what) => new($"{Path}: {what}");

    private static int[]? ReadNaturals(JsonElement element, long max)
    {
        long[]? values = ReadNaturalsLong(element);
        if (values == null || values.Any(v => v > max)) return null;
        return values.Select(v => (int)v).ToArray();
    }

    private static long[]? ReadNaturalsLong(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Array) return null;
        var values = new long[element.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v) || v < 0) return null;
            values[i++] = v;
        }
        return values;
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "an object",
    };

    private static string OneLine(string s) => string.Join(' ', s.Split('\n', '\r', StringSplitOptions.RemoveEmptyEntries));
}
