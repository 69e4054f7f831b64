using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Recurrent.IO;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("recurrent-st-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string ReferenceDir(string set = "default") => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "reference", set);

    [Fact]
    public void RoundTrip_AllDTypes_Metadata_ScalarsAndEmptyTensors()
    {
        var weight = new Tensor(new float[] { 1.5f, -2f, float.MaxValue, float.Epsilon, -0f, 3.25e-8f }, 2, 3);
        var scalar = new Tensor(new float[] { 42.5f }); // shape []: one element
        var empty = new Tensor(0, 4);
        long[] tokens = { 0, -1, long.MaxValue, long.MinValue };
        int[] lengths = { 3, 1, int.MinValue };

        var writer = new SafeTensorsWriter();
        writer.Metadata["mode"] = "lstm";
        writer.Metadata["loss"] = "(output*R).sum() + <h_n> & 'c' \"quoted\" \\ ünï\n";
        writer.Add("weight", weight);
        writer.AddInt64("tokens", tokens, new[] { 2, 2 });
        writer.Add("scalar", scalar);
        writer.Add("empty", empty);
        writer.AddInt32("lengths", lengths, new[] { 3 });
        string path = System.IO.Path.Combine(_dir, "all.safetensors");
        writer.Save(path);

        var file = SafeTensorsFile.Read(path);
        Assert.Equal(path, file.Path);
        Assert.Equal(new[] { "weight", "tokens", "scalar", "empty", "lengths" }, file.Names);
        Assert.Equal(writer.Metadata, file.Metadata);
        Assert.Equal(SafeDType.F32, file.DType("weight"));
        Assert.Equal(SafeDType.I64, file.DType("tokens"));
        Assert.Equal(SafeDType.I32, file.DType("lengths"));
        Assert.Equal(weight.Data, file.Float("weight", new[] { 2, 3 }).Data);
        Assert.Equal(tokens, file.Int64("tokens"));
        Assert.Equal(new[] { 2, 2 }, file.Shape("tokens"));
        Assert.Equal(lengths, file.Indices("lengths"));
        Assert.Contains("element 2 is 9223372036854775807, outside the range of int32",
            Assert.Throws<InvalidDataException>(() => file.Indices("tokens")).Message);

        Tensor s = file.Float("scalar", Array.Empty<int>());
        Assert.Equal(0, s.Rank);
        Assert.Equal(42.5f, s[0]);
        Tensor e = file.Float("empty");
        Assert.Equal(new[] { 0, 4 }, e.Shape);
        Assert.Equal(0, e.Length);
        Assert.True(file.Contains("empty"));
        Assert.False(file.Contains("Empty"));

        // Layout: header length a multiple of 8, header is a JSON object, data exactly the tensors' bytes.
        byte[] bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        Assert.Equal((byte)'{', bytes[8]);
        Assert.Equal(8 + (long)n + 6 * 4 + 4 * 8 + 4 + 0 + 3 * 4, bytes.Length);
    }

    [Fact]
    public void NegativeZeroAndNaNBitsSurvive()
    {
        float nan = BitConverter.Int32BitsToSingle(0x7FC0_1234);
        var t = new Tensor(new[] { -0f, nan, float.NegativeInfinity }, 3);
        var writer = new SafeTensorsWriter();
        writer.Add("t", t);
        string path = System.IO.Path.Combine(_dir, "bits.safetensors");
        writer.Save(path);
        float[] back = SafeTensorsFile.Read(path).Float("t").Data;
        Assert.Equal(t.Data.Select(BitConverter.SingleToInt32Bits), back.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void ReadsEveryReferenceFile_MatchesIndex_AndRewritesByteForByte()
    {
        string dir = ReferenceDir();
        using var index = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(dir, "index.json")));
        var cases = index.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(17, cases.Count);
        foreach (JsonElement c in cases)
        {
            string path = System.IO.Path.Combine(dir, c.GetProperty("file").GetString()!);
            byte[] original = File.ReadAllBytes(path);
            Assert.Equal(c.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(original)));
            var file = SafeTensorsFile.Read(path);
            Assert.Equal(c.GetProperty("tensors").GetInt32(), file.Names.Count);
            Assert.Equal("1.13.0a0", file.Metadata["torch_version"]);

            // Rewriting the same tensors in the same order gives the same bytes as PyTorch's side wrote.
            var writer = new SafeTensorsWriter();
            foreach (var (k, v) in file.Metadata) writer.Metadata[k] = v;
            foreach (string name in file.Names)
            {
                int[] shape = file.Shape(name);
                if (file.DType(name) == SafeDType.F32) writer.Add(name, file.Float(name));
                else writer.AddInt64(name, file.Int64(name), shape);
            }
            string copy = System.IO.Path.Combine(_dir, "copy.safetensors");
            writer.Save(copy);
            Assert.Equal(original, File.ReadAllBytes(copy));
        }
    }

    [Fact]
    public void ReferenceFilesHaveTheDocumentedShapes()
    {
        var lstm = SafeTensorsFile.Read(System.IO.Path.Combine(ReferenceDir(), "lstm_l2_bi.safetensors"));
        Assert.Equal("lstm", lstm.Metadata["mode"]);
        Assert.Equal(new[] { 44, 7 }, lstm.Shape("weight_ih_l0"));
        Assert.Equal(new[] { 44, 22 }, lstm.Shape("weight_ih_l1_reverse"));
        Assert.Equal(new[] { 4, 3, 11 }, lstm.Shape("expected.c_n"));
        Assert.Equal(new[] { 1 }, lstm.Shape("expected.loss"));
        Assert.Equal("weight_ih_l0", lstm.Names[0]);

        var lm = SafeTensorsFile.Read(System.IO.Path.Combine(ReferenceDir(), "charlm_lstm.safetensors"));
        Assert.Equal(SafeDType.I64, lm.DType("tokens"));
        int[] tokens = lm.Indices("tokens");
        int[] targets = lm.Indices("targets");
        Assert.Equal(24, tokens.Length);
        Assert.All(tokens, t => Assert.InRange(t, 0, 64));
        Assert.Equal(tokens[1..12], targets[..11]); // targets are tokens shifted by one
    }

    // ---------------------------------------------------------------- malformed files, one message each

    /// <summary>8-byte length + header (unpadded) + <paramref name="dataBytes"/> zero bytes.</summary>
    private static byte[] Build(string header, int dataBytes, ulong? lengthOverride = null)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, lengthOverride ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    private static string ParseError(byte[] bytes)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Parse("bad.safetensors", bytes));
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith("bad.safetensors: ", e.Message);
        return e.Message["bad.safetensors: ".Length..];
    }

    private const string Ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    [Fact]
    public void WellFormedBaseCaseParses() => Assert.Equal(2, SafeTensorsFile.Parse("ok", Build(Ok, 8)).Float("a").Length);

    [Fact]
    public void TooShortForHeaderLength() =>
        Assert.Equal("file is 5 bytes, too short for the 8-byte header length", ParseError(new byte[5]));

    [Fact]
    public void HeaderLengthBeyondFile()
    {
        Assert.Equal("header length 1000 goes beyond the end of the file (70 bytes)", ParseError(Build(Ok, 8, 1000)));
        Assert.Contains("header length 18446744073709551615 goes beyond", ParseError(Build(Ok, 8, ulong.MaxValue)));
    }

    [Fact]
    public void HeaderNotJsonOrNotObject()
    {
        Assert.StartsWith("header is not valid JSON (", ParseError(Build("{\"a\": ", 0)));
        Assert.StartsWith("header is not valid JSON (", ParseError(Build("", 0)));
        Assert.StartsWith("header is not valid JSON (", ParseError(Build("{\"a\":1}xyz", 0)));
        Assert.Equal("header is not a JSON object (it is an array)", ParseError(Build("[1, 2]   ", 0)));
        Assert.Equal("header entry 'a' is not an object (it is a number)", ParseError(Build("{\"a\": 3}", 0)));
    }

    [Fact]
    public void EntryMissingAField()
    {
        Assert.Equal("tensor 'a' has no dtype", ParseError(Build("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8)));
        Assert.Equal("tensor 'a' has no shape", ParseError(Build("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8)));
        Assert.Equal("tensor 'a' has no data_offsets", ParseError(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8)));
        Assert.Equal("tensor 'a' has shape [2,-1], not a list of non-negative integers",
            ParseError(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", 8)));
        Assert.Equal("tensor 'a' has data_offsets [8,0], not [begin, end] with begin <= end",
            ParseError(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8)));
        Assert.Equal("tensor 'a' has data_offsets [0], not [begin, end] with begin <= end",
            ParseError(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8)));
    }

    [Fact]
    public void UnsupportedDType() =>
        Assert.Equal("tensor 'a' has unsupported dtype 'BF16' (supported: F32, I32, I64)",
            ParseError(Build("{\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 8)));

    [Fact]
    public void OffsetsOutsideDataOrNotMatchingShape()
    {
        Assert.Equal("tensor 'a' has data_offsets [0, 8] outside the data (4 bytes)", ParseError(Build(Ok, 4)));
        Assert.Equal("tensor 'a' has 8 bytes at data_offsets [0, 8] but shape [3] of F32 needs 12",
            ParseError(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)));
        Assert.Equal("tensor 'a' has 8 bytes at data_offsets [0, 8] but shape [2] of I64 needs 16",
            ParseError(Build("{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8)));
        Assert.Equal("tensor 'a' has 8 bytes at data_offsets [0, 8] but shape [2147483647, 2147483647, 2147483647] of F32 needs more than the file",
            ParseError(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", 8)));
    }

    [Fact]
    public void OverlapGapAndTrailingBytes()
    {
        Assert.Equal("tensor 'b' (data_offsets [4, 12]) overlaps tensor 'a' (data_offsets [0, 8])", ParseError(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)));
        Assert.Equal("gap of 4 bytes before tensor 'b' (data_offsets [12, 20]); safetensors data must be contiguous", ParseError(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20)));
        Assert.Equal("gap of 8 bytes before tensor 'a' (data_offsets [8, 16]); safetensors data must be contiguous", ParseError(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16)));
        Assert.Equal("4 bytes after the last tensor belong to no tensor; safetensors data must be contiguous", ParseError(Build(Ok, 12)));
        // Header order may differ from data order: that is allowed.
        var swapped = SafeTensorsFile.Parse("x", Build(
            "{\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[8,12]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12));
        Assert.Equal(new[] { "b", "a" }, swapped.Names);
    }

    [Fact]
    public void BadMetadataAndDuplicates()
    {
        Assert.Equal("__metadata__ value 'seed' is not a string (it is a number)",
            ParseError(Build("{\"__metadata__\":{\"seed\":7}}", 0)));
        Assert.Equal("__metadata__ is not an object (it is a string)", ParseError(Build("{\"__metadata__\":\"x\"}", 0)));
        Assert.Equal("'a' appears twice in the header", ParseError(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16)));
    }

    [Fact]
    public void MissingTensorWrongDTypeWrongShape_NameFileAndTensor()
    {
        var writer = new SafeTensorsWriter();
        writer.Add("weight_ih_l0", new Tensor(8, 3));
        writer.AddInt64("x", new long[] { 1, 2 }, new[] { 2 });
        writer.AddInt64("big", new long[] { 5, 1L << 40 }, new[] { 2 });
        writer.Add("f", new Tensor(2));
        string path = System.IO.Path.Combine(_dir, "m.safetensors");
        writer.Save(path);
        var file = SafeTensorsFile.Read(path);

        Assert.Equal($"{path}: no tensor 'weight_hh_l1' (has: weight_ih_l0, x, big, f)",
            Assert.Throws<InvalidDataException>(() => file.Float("weight_hh_l1")).Message);
        Assert.Equal($"{path}: tensor 'x' is I64, expected F32", Assert.Throws<InvalidDataException>(() => file.Float("x")).Message);
        Assert.Equal($"{path}: tensor 'f' is F32, expected I64", Assert.Throws<InvalidDataException>(() => file.Int64("f")).Message);
        Assert.Equal($"{path}: tensor 'f' is F32, expected I32 or I64", Assert.Throws<InvalidDataException>(() => file.Indices("f")).Message);
        Assert.Equal($"{path}: tensor 'weight_ih_l0' has shape [8, 3], expected [8, 4]",
            Assert.Throws<InvalidDataException>(() => file.Float("weight_ih_l0", new[] { 8, 4 })).Message);
        Assert.Equal($"{path}: tensor 'big' element 1 is 1099511627776, outside the range of int32",
            Assert.Throws<InvalidDataException>(() => file.Indices("big")).Message);
        Assert.Throws<InvalidDataException>(() => file.CopyTo("weight_ih_l0", new Tensor(3, 8)));
        Assert.Throws<InvalidDataException>(() => file.DType("nope"));
    }

    [Fact]
    public void WriterRejectsDuplicatesBadShapesAndReservedNames()
    {
        var writer = new SafeTensorsWriter();
        writer.Add("a", new Tensor(2));
        Assert.Contains("'a' added twice", Assert.Throws<ArgumentException>(() => writer.AddInt32("a", new[] { 1 }, new[] { 1 })).Message);
        Assert.Contains("3 values do not fill shape [2, 2]",
            Assert.Throws<ArgumentException>(() => writer.AddInt64("b", new long[3], new[] { 2, 2 })).Message);
        Assert.Throws<ArgumentException>(() => writer.Add("__metadata__", new Tensor(1)));
        Assert.Throws<ArgumentException>(() => writer.Add("", new Tensor(1)));
    }

    [Fact]
    public void TruncatedReferenceFileIsRejected()
    {
        byte[] bytes = File.ReadAllBytes(System.IO.Path.Combine(ReferenceDir(), "gru_l1_uni.safetensors"));
        string message = ParseError(bytes[..^4]);
        Assert.Contains("outside the data", message);
    }
}
