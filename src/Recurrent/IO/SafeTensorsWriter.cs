using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Recurrent.Tensors;

namespace Recurrent.IO;

/// <summary>
/// Collects named tensors and writes them as one safetensors file (the format <see cref="SafeTensorsFile"/> reads and
/// PyTorch's safetensors loads): u64 little-endian header length, JSON header padded with spaces to a multiple of 8,
/// then the tensors back to back in the order added. The arrays are referenced, not copied: Save writes the values
/// they hold at that moment.
/// </summary>
public sealed class SafeTensorsWriter
{
    private abstract record Item(string Name, SafeDType DType, int[] Shape)
    {
        public abstract ReadOnlySpan<byte> LittleEndianBytes { get; }
    }

    private sealed record FloatItem(string Name, int[] Shape, float[] Values) : Item(Name, SafeDType.F32, Shape)
    {
        public override ReadOnlySpan<byte> LittleEndianBytes => BitConverter.IsLittleEndian
            ? MemoryMarshal.AsBytes(Values.AsSpan())
            : Swapped(MemoryMarshal.Cast<float, int>(Values.AsSpan()));
    }

    private sealed record Int32Item(string Name, int[] Shape, int[] Values) : Item(Name, SafeDType.I32, Shape)
    {
        public override ReadOnlySpan<byte> LittleEndianBytes =>
            BitConverter.IsLittleEndian ? MemoryMarshal.AsBytes(Values.AsSpan()) : Swapped(Values);
    }

    private sealed record Int64Item(string Name, int[] Shape, long[] Values) : Item(Name, SafeDType.I64, Shape)
    {
        public override ReadOnlySpan<byte> LittleEndianBytes
        {
            get
            {
                if (BitConverter.IsLittleEndian) return MemoryMarshal.AsBytes(Values.AsSpan());
                var swapped = new long[Values.Length];
                BinaryPrimitives.ReverseEndianness(Values, swapped);
                return MemoryMarshal.AsBytes(swapped.AsSpan());
            }
        }
    }

    private readonly List<Item> _items = new();
    private readonly HashSet<string> _names = new();

    /// <summary>Written as "__metadata__": string keys and values, e.g. a model's configuration.</summary>
    public Dictionary<string, string> Metadata { get; } = new();

    /// <summary>
    /// Adds a float32 tensor under <paramref name="name"/> (the exact tensor's array is written at save time, not copied now).
    /// Throws <see cref="ArgumentException"/> for an empty, reserved ("__metadata__") or repeated name.
    /// </summary>
    public void Add(string name, Tensor t) => AddItem(new FloatItem(name, t.Shape.ToArray(), t.Data));

    /// <summary>Adds an I64 tensor of this shape; the values must fill it exactly, else <see cref="ArgumentException"/>.</summary>
    public void AddInt64(string name, long[] values, int[] shape) =>
        AddItem(new Int64Item(name, CheckShape(name, values.Length, shape), values));

    /// <summary>Adds an I32 tensor of this shape; the values must fill it exactly, else <see cref="ArgumentException"/>.</summary>
    public void AddInt32(string name, int[] values, int[] shape) =>
        AddItem(new Int32Item(name, CheckShape(name, values.Length, shape), values));

    private void AddItem(Item item)
    {
        if (string.IsNullOrEmpty(item.Name)) throw new ArgumentException("a tensor name must not be empty");
        if (item.Name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor");
        if (!_names.Add(item.Name)) throw new ArgumentException($"tensor '{item.Name}' added twice");
        _items.Add(item);
    }

    private static int[] CheckShape(string name, int length, int[] shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}': negative dimension in shape {Tensor.Describe(shape)}");
            n *= d;
        }
        if (n != length)
            throw new ArgumentException($"tensor '{name}': {length} values do not fill shape {Tensor.Describe(shape)} ({n} elements)");
        return (int[])shape.Clone();
    }

    /// <summary>Writes the file atomically (temp file, then rename).</summary>
    public void Save(string path) => AtomicFile.Write(path, WriteTo);

    /// <summary>Writes the safetensors bytes (8-byte header length, JSON header, then the tensors' data in the order added) to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        byte[] header = Header();
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (Item item in _items) stream.Write(item.LittleEndianBytes);
    }

    private byte[] Header()
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps "+", "<", "'" readable in metadata; the JSON stays valid (quotes and controls escaped).
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (Metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in Metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (Item item in _items)
            {
                long size = (long)item.Shape.Aggregate(1L, (n, d) => n * d) * SafeDTypes.Size(item.DType);
                json.WriteStartObject(item.Name);
                json.WriteString("dtype", SafeDTypes.Name(item.DType));
                json.WriteStartArray("shape");
                foreach (int d in item.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + size);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += size;
            }
            json.WriteEndObject();
        }
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static ReadOnlySpan<byte> Swapped(ReadOnlySpan<int> values)
    {
        var swapped = new int[values.Length];
        BinaryPrimitives.ReverseEndianness(values, swapped);
        return MemoryMarshal.AsBytes(swapped.AsSpan());
    }
}
