using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Recurrent.IO;

/// <summary>
/// The counts of an n-gram model (counts.bin), compact and checked. N = order, V = vocabulary size. Layout:
///   8 bytes  "RNGRAMC1"
///   u32 LE   N,  u32 LE V
///   for each order k = 1..N:  varint m_k (entries), then m_k entries in increasing key order, each
///            varint (key − previous key; the first: the key itself)  and  varint count (≥ 1)
///   32 bytes SHA-256 of every byte before it
/// Varints are LEB128 (7 bits a byte, low first). Keys are the n-gram's ids as base-V digits (below V^k), so sorted
/// keys differ by little and most entries take 2–4 bytes. Every problem is an <see cref="InvalidDataException"/>
/// whose one line names the file, the byte offset and what is wrong.
/// </summary>
public static class NgramCountsFile
{
    private static readonly byte[] Magic = "RNGRAMC1"u8.ToArray();
    private const int HashLength = 32;

    /// <summary>The bytes of <paramref name="counts"/> ([N]: order k's key → count).</summary>
    public static byte[] Encode(IReadOnlyList<IReadOnlyDictionary<ulong, int>> counts, int vocabSize)
    {
        using var buffer = new MemoryStream();
        buffer.Write(Magic);
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(u32, (uint)counts.Count); buffer.Write(u32);
        BinaryPrimitives.WriteUInt32LittleEndian(u32, (uint)vocabSize); buffer.Write(u32);
        foreach (var level in counts)
        {
            WriteVarint(buffer, (ulong)level.Count);
            ulong previous = 0;
            foreach (ulong key in level.Keys.Order())
            {
                int c = level[key];
                if (c < 1) throw new ArgumentException($"n-gram counts must be ≥ 1 (key {key} has {c})");
                WriteVarint(buffer, key - previous);
                WriteVarint(buffer, (ulong)c);
                previous = key;
            }
        }
        byte[] body = buffer.ToArray();
        byte[] file = new byte[body.Length + HashLength];
        body.CopyTo(file, 0);
        SHA256.HashData(body, file.AsSpan(body.Length));
        return file;
    }

    /// <summary>Writes <paramref name="counts"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IReadOnlyList<IReadOnlyDictionary<ulong, int>> counts, int vocabSize)
    {
        byte[] bytes = Encode(counts, vocabSize);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>
    /// Reads and checks counts written by <see cref="Write"/> for an order-<paramref name="order"/> model over
    /// <paramref name="vocabSize"/> characters; <paramref name="where"/> names the file in errors.
    /// </summary>
    public static Dictionary<ulong, int>[] Read(string path, int order, int vocabSize, string where)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{where} not found");
        return Decode(File.ReadAllBytes(path), order, vocabSize, where);
    }

    /// <summary>
    /// Checks and decodes the bytes of a counts file, as <see cref="Read"/> does for a file on disk: [N] dictionaries, order
    /// k's key → count. Throws <see cref="InvalidDataException"/> (naming <paramref name="where"/> and the byte offset) for a
    /// bad signature or checksum, another order or vocabulary size, or a malformed entry.
    /// </summary>
    public static Dictionary<ulong, int>[] Decode(byte[] bytes, int order, int vocabSize, string where)
    {
        InvalidDataException Bad(long offset, string what) => new($"{where}: {what} at byte {offset}");

        if (bytes.Length < Magic.Length + 8 + HashLength)
            throw new InvalidDataException($"{where}: {bytes.Length} bytes, too short for an n-gram counts file (truncated?)");
        if (!bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw Bad(0, "not an n-gram counts file (no \"RNGRAMC1\" signature)");
        int end = bytes.Length - HashLength;
        if (!SHA256.HashData(bytes.AsSpan(0, end)).AsSpan().SequenceEqual(bytes.AsSpan(end)))
            throw new InvalidDataException($"{where}: its SHA-256 does not match its content: the file is damaged or truncated");
        uint fileOrder = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        uint fileVocab = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
        if (fileOrder != order || fileVocab != vocabSize)
            throw Bad(8, $"holds order {fileOrder} over {fileVocab} characters, but config.json says order {order} over {vocabSize}");

        var counts = new Dictionary<ulong, int>[order];
        int pos = 16;
        UInt128 limit = 1;
        for (int k = 1; k <= order; k++)
        {
            limit *= (uint)vocabSize;
            ulong entries = ReadVarint(bytes, ref pos, end, where);
            if (entries > (ulong)(end - pos) / 2) throw Bad(pos, $"order {k} claims {entries} entries, more than the bytes left can hold");
            var level = new Dictionary<ulong, int>((int)entries);
            ulong key = 0;
            for (ulong i = 0; i < entries; i++)
            {
                long at = pos;
                ulong delta = ReadVarint(bytes, ref pos, end, where);
                if (i > 0 && delta == 0) throw Bad(at, $"order {k}: keys are not in increasing order (entry {i})");
                if ((UInt128)key + delta >= limit) throw Bad(at, $"order {k}: n-gram key {(UInt128)key + delta} is not below {vocabSize}^{k}");
                key += delta;
                at = pos;
                ulong c = ReadVarint(bytes, ref pos, end, where);
                if (c < 1 || c > int.MaxValue) throw Bad(at, $"order {k}: count {c} of entry {i} is not in 1..{int.MaxValue}");
                level.Add(key, (int)c);
            }
            counts[k - 1] = level;
        }
        if (pos != end) throw Bad(pos, $"{end - pos} bytes left over after the last order");
        return counts;
    }

    private static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80)
        {
            s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        s.WriteByte((byte)v);
    }

    private static ulong ReadVarint(byte[] bytes, ref int pos, int end, string where)
    {
        ulong v = 0;
        int start = pos;
        for (int shift = 0; ; shift += 7)
        {
            if (pos >= end) throw new InvalidDataException($"{where}: the data ends inside a number at byte {start} (truncated?)");
            if (shift > 63) throw new InvalidDataException($"{where}: a number at byte {start} is longer than 64 bits");
            byte b = bytes[pos++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
    }
}
