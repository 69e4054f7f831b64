using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Recurrent.Models;
using Recurrent.Training;
using Xunit;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Reliability drill (issue 14): a seeded fuzzer over the loaders of a model directory. The seed corpus is what the
/// library writes for every task (char-lm, classify, tag, translate, generate): config.json (with its vocabularies and
/// label sets), weights.safetensors, optimizer.safetensors, and log.jsonl; and an n-gram model's config.json and
/// counts.bin (mutated past its SHA-256 too: the hash recomputed). Each of <see cref="Cases"/> cases mutates
/// one file — truncations, bit flips, inserted, deleted or repeated bytes, and structured mutations: safetensors header
/// lengths up to 2⁶⁴ − 1, wrong dtypes, huge or negative shapes, overlapping or out-of-range offsets, bad metadata; JSON
/// values of the wrong type, numbers up to 1e308, strings of a megabyte, lists of 50,000 words, nesting 100,000 deep — writes it into a copy of
/// the directory and loads it as `sample`/`eval` (config + weights) and `train --resume` (config + training state) do.
/// Every failure must be an InvalidDataException with a one-line message (what the CLI prints as one line), no case
/// may take more than <see cref="CaseLimit"/> (a hang), and none may allocate more than its files justify (a size
/// field is checked against the file's length before anything is allocated for it).
/// </summary>
public class LoaderFuzzTests(ITestOutputHelper output) : IDisposable
{
    public const int Cases = 10_000;
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(5);
    // Ten thousand files written and read: in memory (tmpfs) where there is one, as writes to a busy disk take ms each.
    private readonly string _root = Directory.Exists("/dev/shm")
        ? Directory.CreateDirectory(Path.Combine("/dev/shm", "recurrent-fuzz-" + Guid.NewGuid().ToString("N"))).FullName
        : Directory.CreateTempSubdirectory("fuzz").FullName;
    public void Dispose() => Directory.Delete(_root, true);

    private static readonly string[] Files = [Checkpoint.ConfigFile, Checkpoint.WeightsFile, Checkpoint.StateFile, Checkpoint.LogFile];

    /// <summary>One model directory of the seed corpus: its files (in the order the cases take them), and the loads
    /// that read one of them: (directory, file).</summary>
    private sealed record Seed(string Task, Dictionary<string, byte[]> Bytes, Action<string, string> Load);

    /// <summary>What the worker reports to the watching test thread.</summary>
    private sealed class Progress
    {
        public volatile string Current = "";
        public long Started;
        public int Loaded;
        public readonly Dictionary<string, int> Rejected = new();
        public long MaxAllocated;
        public readonly Dictionary<string, double> Seconds = new();
        public Exception? Error;
    }

    [Fact]
    public void MutatedModelFilesFailCleanlyQuicklyAndWithinTheirSize()
    {
        var clock = Stopwatch.StartNew();
        var seeds = MakeSeeds();
        double seedSeconds = clock.Elapsed.TotalSeconds;
        var progress = new Progress();
        var worker = new Thread(() =>
        {
            try { RunCases(seeds, progress); }
            catch (Exception e) { progress.Error = e; }
        });
        worker.Start();
        while (!worker.Join(50))
        {
            long t = Interlocked.Read(ref progress.Started);
            // A hang cannot be stopped in-process: fail the test (the worker is a background thread, ended with it).
            if (t != 0 && Stopwatch.GetElapsedTime(t) > CaseLimit)
                Assert.Fail($"{progress.Current}: still loading after {CaseLimit.TotalSeconds:F0} s (a hang)");
        }
        if (progress.Error != null) throw progress.Error;
        output.WriteLine($"{Cases:N0} mutated files: {progress.Loaded:N0} loaded, rejected with one line: " +
                         string.Join(", ", progress.Rejected.Select(f => $"{f.Key} {f.Value:N0}")) +
                         $"; most allocated by one case {progress.MaxAllocated:N0} bytes; seconds loading " +
                         string.Join(", ", progress.Seconds.Select(f => $"{f.Key} {f.Value:F1}")) +
                         $"; {seedSeconds:F1} s making the seeds, {clock.Elapsed.TotalSeconds:F1} s in all");
        Assert.Equal(Cases, progress.Loaded + progress.Rejected.Values.Sum());
        Assert.True(progress.Rejected.Values.Sum() > Cases / 2, "most mutations should be rejected: the mutator is not reaching the loaders");
    }

    private void RunCases(List<Seed> seeds, Progress progress)
    {
        Thread.CurrentThread.IsBackground = true;
        var rng = new Random(1414);
        for (int i = 0; i < Cases; i++)
        {
            var seed = seeds[i % seeds.Count];
            string file = seed.Bytes.Keys.ElementAt(i / seeds.Count % seed.Bytes.Count);
            long t0 = Stopwatch.GetTimestamp();
            var (how, bytes) = Mutate(seed.Bytes[file], file, rng);
            progress.Seconds["mutate"] = progress.Seconds.GetValueOrDefault("mutate") + Stopwatch.GetElapsedTime(t0).TotalSeconds;
            t0 = Stopwatch.GetTimestamp();
            progress.Current = $"case {i}: {seed.Task} {file}, {how}";
            string dir = Path.Combine(_root, "work-" + seed.Task);
            Directory.CreateDirectory(dir);
            foreach (var (name, content) in seed.Bytes) File.WriteAllBytes(Path.Combine(dir, name), name == file ? bytes : content);

            progress.Seconds["write"] = progress.Seconds.GetValueOrDefault("write") + Stopwatch.GetElapsedTime(t0).TotalSeconds;
            long started = Stopwatch.GetTimestamp();
            Interlocked.Exchange(ref progress.Started, started);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Exception? error = null;
            try { seed.Load(dir, file); }
            catch (Exception e) { error = e; }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Interlocked.Exchange(ref progress.Started, 0);
            progress.Seconds[file] = progress.Seconds.GetValueOrDefault(file) + Stopwatch.GetElapsedTime(started).TotalSeconds;

            if (error == null) progress.Loaded++;
            else if (error is not InvalidDataException || error.Message.Contains('\n'))
                throw new Xunit.Sdk.XunitException($"{progress.Current}: {error.GetType().Name}: {error.Message}\n{error.StackTrace}");
            else progress.Rejected[file] = progress.Rejected.GetValueOrDefault(file) + 1;
            // What a load may allocate: its files, each read whole and parsed (a JSON document's index, UTF-16 text: a
            // few times its size; config.json is read three times: for the task, the model, the resume), and a tiny
            // model. A size field trusted beyond the file (2^31 elements, a 2^64-byte header) is far beyond this.
            long files = seed.Bytes.Sum(f => (long)(f.Key == file ? bytes.Length : f.Value.Length));
            long justified = 32 * files + (4 << 20);
            progress.MaxAllocated = Math.Max(progress.MaxAllocated, allocated);
            if (allocated > justified)
                throw new Xunit.Sdk.XunitException($"{progress.Current}: allocated {allocated:N0} bytes, more than the {justified:N0} its files justify");
        }
    }

    /// <summary>Loads a neural model's directory as the command that reads <paramref name="file"/> does.</summary>
    private static void LoadNeural(Action<string> loadState, string dir, string file)
    {
        switch (file)
        {
            case Checkpoint.StateFile: loadState(dir); break;
            case Checkpoint.LogFile: TrainLog.Read(Path.Combine(dir, file)); break;
            default:
                LoadForInference(dir);
                loadState(dir); // a resume reads config.json too
                break;
        }
    }

    /// <summary>config.json + weights.safetensors, as sample, eval and predict load them for the task config.json names.</summary>
    private static ITaskModel LoadForInference(string dir) => Checkpoint.ReadTask(dir) switch
    {
        WordModelConfig.ClassifyTask or WordModelConfig.TagTask => Checkpoint.LoadWordModel(dir),
        Seq2SeqConfig.TranslateTask => Checkpoint.LoadSeq2SeqModel(dir),
        GeneratorConfig.GenerateTask => Checkpoint.LoadGenerator(dir),
        _ => Checkpoint.LoadModel(dir),
    };

    /// <summary>A tiny trained model of every task, written by the library itself through the command.</summary>
    private List<Seed> MakeSeeds()
    {
        using var chars = new CharLmFixture();
        using var words = new WordTaskFixture();
        using var pairs = new Seq2SeqTaskFixture();
        string Dir(string task) => Path.Combine(_root, "seed-" + task);
        CharLmFixture.Ok(["train", "--data", chars.Data, "--out", Dir("char-lm"), "--steps", "3", "--json", .. CharLmFixture.Tiny]);
        CharLmFixture.Ok(["train", "--task", "classify", "--train", words.ClassifyTrain, "--dev", words.ClassifyDev, "--out", Dir("classify"),
            "--steps", "3", "--json", .. WordTaskFixture.TinyClassify]);
        CharLmFixture.Ok(["train", "--task", "tag", "--train", words.TagTrain, "--dev", words.TagDev, "--out", Dir("tag"),
            "--steps", "3", "--json", .. WordTaskFixture.TinyTag]);
        CharLmFixture.Ok(["train", "--task", "translate", "--train", pairs.TranslateTrain, "--dev", pairs.TranslateDev, "--out", Dir("translate"),
            "--steps", "3", "--json", .. Seq2SeqTaskFixture.TinyTranslate]);
        CharLmFixture.Ok(["train", "--task", "generate", "--train", pairs.GenerateTrain, "--dev", pairs.GenerateDev, "--out", Dir("generate"),
            "--steps", "3", "--json", .. Seq2SeqTaskFixture.TinyGenerate]);
        CharLmFixture.Ok(["train", "--task", "ngram", "--data", chars.Data, "--order", "3", "--out", Dir("ngram"), "--json"]);

        var seeds = new List<Seed>();
        foreach (string task in new[] { "char-lm", "classify", "tag", "translate", "generate" })
        {
            string dir = Dir(task);
            var bytes = Files.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f)));
            var loadState = StateLoader(dir);
            var seed = new Seed(task, bytes, (d, f) => LoadNeural(loadState, d, f));
            seed.Load(dir, Checkpoint.ConfigFile); // the seed itself loads
            seed.Load(dir, Checkpoint.StateFile);
            seeds.Add(seed);
        }
        // The n-gram model: config.json and counts.bin, loaded by eval and sample alike.
        string ngram = Dir("ngram");
        var ngramBytes = new[] { Checkpoint.ConfigFile, NgramCheckpoint.CountsFile }.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(ngram, f)));
        var ngramSeed = new Seed("ngram", ngramBytes, (d, _) => NgramCheckpoint.Load(d));
        ngramSeed.Load(ngram, Checkpoint.ConfigFile);
        seeds.Add(ngramSeed);
        return seeds;
    }

    /// <summary>`train --resume`'s load of optimizer.safetensors (and config.json) into a model and an optimizer built
    /// once from the seed's valid files.</summary>
    private static Action<string> StateLoader(string seedDir)
    {
        var model = LoadForInference(seedDir);
        string task = model.Task;
        TrainingSettings settings = task switch
        {
            WordModelConfig.ClassifyTask or WordModelConfig.TagTask => Checkpoint.LoadWordConfig(seedDir).Training!,
            Seq2SeqConfig.TranslateTask => Checkpoint.LoadSeq2SeqConfig(seedDir).Training!,
            GeneratorConfig.GenerateTask => Checkpoint.LoadGeneratorConfig(seedDir).Training!,
            _ => Checkpoint.LoadConfig(seedDir).Training!,
        };
        var optimizer = Trainer.CreateOptimizer(settings, model.Parameters());
        var extra = model is CharLanguageModel lm ? lm.NewState(settings.Batch).Named().ToList() : [];
        return dir =>
        {
            // As a resume: the task's config (with its training settings) first, then the state.
            _ = task switch
            {
                WordModelConfig.ClassifyTask or WordModelConfig.TagTask => Checkpoint.LoadWordConfig(dir).Training,
                Seq2SeqConfig.TranslateTask => Checkpoint.LoadSeq2SeqConfig(dir).Training,
                GeneratorConfig.GenerateTask => Checkpoint.LoadGeneratorConfig(dir).Training,
                _ => Checkpoint.LoadConfig(dir).Training,
            };
            Checkpoint.LoadTrainingState(dir, model, optimizer, extra);
        };
    }

    // ---- the mutator ----

    private static (string How, byte[] Bytes) Mutate(byte[] seed, string file, Random rng)
    {
        bool safetensors = file.EndsWith(".safetensors", StringComparison.Ordinal);
        int kind = rng.Next(file == "counts body" ? 6 : 10);
        if (file == NgramCheckpoint.CountsFile && kind >= 4)
        {
            // Past its SHA-256 to the decoder: the body mutated, the hash made right (60%).
            var (how, body) = Mutate(seed[..^32], "counts body", rng);
            return (how + ", hash recomputed", [.. body, .. System.Security.Cryptography.SHA256.HashData(body)]);
        }
        if (kind >= 6) // structured, 40%
            return safetensors ? MutateSafeTensors(seed, rng) : file == Checkpoint.LogFile ? MutateLog(seed, rng) : MutateJson(seed, rng);
        if (seed.Length == 0) return ("empty", seed);
        var b = new List<byte>(seed);
        switch (kind)
        {
            case 0:
            {
                int n = rng.Next(seed.Length);
                return ($"truncated to {n} bytes", seed[..n]);
            }
            case 1:
            {
                var copy = (byte[])seed.Clone();
                int flips = 1 + rng.Next(8);
                for (int i = 0; i < flips; i++) copy[rng.Next(copy.Length)] ^= (byte)(1 << rng.Next(8));
                return ($"{flips} bits flipped", copy);
            }
            case 2:
            {
                var copy = (byte[])seed.Clone();
                byte[] interesting = [0, 0xFF, 0x7F, 0x80, (byte)'"', (byte)'{', (byte)'[', (byte)'\\', (byte)'9', (byte)'-'];
                int n = 1 + rng.Next(4);
                for (int i = 0; i < n; i++) copy[rng.Next(copy.Length)] = interesting[rng.Next(interesting.Length)];
                return ($"{n} bytes overwritten", copy);
            }
            case 3:
            {
                int at = rng.Next(b.Count + 1), n = 1 + rng.Next(16);
                var insert = new byte[n];
                rng.NextBytes(insert);
                b.InsertRange(at, insert);
                return ($"{n} random bytes inserted at {at}", [.. b]);
            }
            case 4:
            {
                int at = rng.Next(b.Count), n = Math.Min(1 + rng.Next(32), b.Count - at);
                b.RemoveRange(at, n);
                return ($"{n} bytes deleted at {at}", [.. b]);
            }
            default:
            {
                int from = rng.Next(b.Count), n = Math.Min(1 + rng.Next(64), b.Count - from), at = rng.Next(b.Count + 1);
                b.InsertRange(at, seed.AsSpan(from, n).ToArray());
                return ($"{n} bytes from {from} repeated at {at}", [.. b]);
            }
        }
    }

    private static readonly ulong[] HeaderLengths = [ulong.MaxValue, 1UL << 63, (1UL << 63) - 1, 1UL << 32, uint.MaxValue, 0, 1, 7];

    private static (string, byte[]) MutateSafeTensors(byte[] seed, Random rng)
    {
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(seed);
        byte[] data = seed[(8 + headerLength)..];
        if (rng.Next(6) == 0)
        {
            var copy = (byte[])seed.Clone();
            ulong claimed = rng.Next(2) == 0 ? HeaderLengths[rng.Next(HeaderLengths.Length)] : (ulong)(headerLength + rng.Next(-16, 17));
            BinaryPrimitives.WriteUInt64LittleEndian(copy, claimed);
            return ($"header length {claimed}", copy);
        }
        var header = JsonNode.Parse(seed.AsSpan(8, headerLength))!.AsObject();
        var tensors = header.Where(p => p.Key != "__metadata__").Select(p => p.Key).ToList();
        string name = tensors[rng.Next(tensors.Count)];
        var entry = header[name]!.AsObject();
        var offsets = entry["data_offsets"]!.AsArray();
        long begin = (long)offsets[0]!, end = (long)offsets[1]!;
        string how;
        switch (rng.Next(8))
        {
            case 0:
            {
                JsonNode?[] dtypes = ["F16", "BF16", "F64", "U8", "I8", "BOOL", "f32", "", 32, null, new JsonArray()];
                var d = dtypes[rng.Next(dtypes.Length)];
                entry["dtype"] = d?.DeepClone();
                how = $"'{name}' dtype {d?.ToJsonString() ?? "null"}";
                break;
            }
            case 1:
            {
                string[] shapes = ["[2147483647,2147483647]", "[-1]", "[1e30]", "[]", "[0]", "[\"3\"]", "[1099511627776]",
                    "[4294967296,1]", "[2147483648]", "[65536,65536,65536]", "3", "null"];
                string s = shapes[rng.Next(shapes.Length)];
                entry["shape"] = JsonNode.Parse(s);
                how = $"'{name}' shape {s}";
                break;
            }
            case 2:
            {
                string[] pairs = ["[0,9223372036854775807]", $"[{begin},{end + 4}]", $"[{Math.Max(0, begin - 4)},{end - 4}]", $"[{end},{begin}]",
                    "[0,0]", "[-8,8]", "[18446744073709551615,18446744073709551615]", $"[{begin}]", $"[{begin},{end},{end}]",
                    "[0.5,4]", $"[{begin + 1},{end + 1}]", "[9223372036854775800,9223372036854775807]"];
                string s = pairs[rng.Next(pairs.Length)];
                entry["data_offsets"] = JsonNode.Parse(s);
                how = $"'{name}' data_offsets {s}";
                break;
            }
            case 3:
            {
                string key = new[] { "dtype", "shape", "data_offsets" }[rng.Next(3)];
                entry.Remove(key);
                how = $"'{name}' without {key}";
                break;
            }
            case 4:
            {
                string other = tensors[rng.Next(tensors.Count)];
                entry["data_offsets"] = header[other]!["data_offsets"]!.DeepClone();
                how = $"'{name}' with the offsets of '{other}'";
                break;
            }
            case 5:
            {
                header.Remove(name);
                header[name + rng.Next(10)] = entry;
                how = $"'{name}' renamed";
                break;
            }
            default:
            {
                var metadata = header["__metadata__"]?.AsObject();
                if (metadata == null || metadata.Count == 0) { header["__metadata__"] = 1; how = "metadata 1"; break; }
                string key = metadata.Select(p => p.Key).ElementAt(rng.Next(metadata.Count));
                JsonNode?[] values = ["-1", "99999999999999999999", "1e3", "NaN", "", "0,0,0,0", "1,2,3", "x", 7, null, new string('9', 100_000)];
                var v = values[rng.Next(values.Length)];
                if (rng.Next(4) == 0) { metadata.Remove(key); how = $"metadata without '{key}'"; }
                else { metadata[key] = v?.DeepClone(); how = $"metadata '{key}' = {Shorten(v?.ToJsonString() ?? "null")}"; }
                break;
            }
        }
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return (how, bytes);
    }

    // Markers a mutation sets as a string value, replaced in the serialized text (quotes included) by the big values.
    private const string Deep = "@@deep@@", Words = "@@words@@", Huge = "@@huge@@";
    private static readonly string DeepText = new string('[', 100_000) + new string(']', 100_000),
        WordsText = "[" + string.Join(',', Enumerable.Range(0, 50_000).Select(i => $"\"w{i}\"")) + "]",
        HugeText = "\"" + new string('x', 1 << 20) + "\"";

    /// <summary>A value of a JSON document replaced by one of the wrong type, size or depth (or removed).</summary>
    private static string MutateJsonText(string text, Random rng, out string how)
    {
        var root = JsonNode.Parse(text)!;
        var nodes = new List<(JsonNode Parent, string? Key, int Index)>();
        void Walk(JsonNode node)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o.ToList()) { nodes.Add((o, k, -1)); if (v != null) Walk(v); }
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++) { nodes.Add((a, null, i)); if (a[i] != null) Walk(a[i]!); }
        }
        Walk(root);
        // A third of the time a vocabulary or label list, the loaders' "vocabulary files".
        var lists = nodes.Where(n => n.Key is { } k && (k.Contains("vocab") || k.Contains("label") || k.Contains("words"))).ToList();
        var (parent, key, index) = lists.Count > 0 && rng.Next(3) == 0 ? lists[rng.Next(lists.Count)] : nodes[rng.Next(nodes.Count)];
        Func<JsonNode?>[] values =
        [
            () => 2147483647, () => 2147483648L, () => 9223372036854775807L, () => JsonNode.Parse("18446744073709551616"),
            () => 1e308, () => -1, () => 0, () => 1.5, () => -0.0, () => true, () => null, () => new JsonObject(),
            () => new JsonArray(), () => "12", () => "", () => Huge, () => "\ud800", () => "aa",
            () => "a\u0000b", () => Deep, () => Words,
        ];
        var value = values[rng.Next(values.Length)]();
        bool remove = rng.Next(8) == 0;
        string where = key ?? $"[{index}]";
        if (parent is JsonObject obj)
        {
            if (remove) obj.Remove(key!); else obj[key!] = value;
        }
        else if (parent is JsonArray arr)
        {
            if (remove) arr.RemoveAt(index); else arr[index] = value;
        }
        how = remove ? $"{where} removed" : $"{where} = {Shorten(value?.ToJsonString() ?? "null")}";
        string result = root.ToJsonString();
        // Nesting deeper than any parser's default limit (which JsonNode cannot build) and the big values: spliced in as text.
        return result.Replace($"\"{Deep}\"", DeepText).Replace($"\"{Words}\"", WordsText).Replace($"\"{Huge}\"", HugeText);
    }

    private static (string, byte[]) MutateJson(byte[] seed, Random rng)
    {
        string text = MutateJsonText(Encoding.UTF8.GetString(seed), rng, out string how);
        return (how, Encoding.UTF8.GetBytes(text));
    }

    private static (string, byte[]) MutateLog(byte[] seed, Random rng)
    {
        string[] lines = Encoding.UTF8.GetString(seed).Split('\n');
        int i = rng.Next(lines.Length - 1); // the last is empty (after the final newline)
        lines[i] = MutateJsonText(lines[i], rng, out string how);
        return ($"line {i + 1}: {how}", Encoding.UTF8.GetBytes(string.Join('\n', lines)));
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + $"... ({s.Length:N0} characters)";

    /// <summary>The size checks the issue names, each alone: a header that claims 2⁶⁴ − 1 bytes, a tensor whose shape
    /// claims 2⁶² elements: rejected without allocating more than the file.</summary>
    [Fact]
    public void SizeFieldsBeyondTheFileAllocateNothingForThem()
    {
        var writer = new IO.SafeTensorsWriter();
        writer.Add("w", new Tensors.Tensor(4, 4));
        using var stream = new MemoryStream();
        writer.WriteTo(stream);
        byte[] valid = stream.ToArray();

        byte[] claimsAll = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(claimsAll, ulong.MaxValue);
        AssertRejectedWithin(claimsAll, "header length 18446744073709551615 goes beyond the end of the file");

        string header = Encoding.UTF8.GetString(valid, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(valid));
        string huge = header.Replace("\"shape\":[4,4]", "\"shape\":[2147483647,2147483647]").Replace("[0,64]", "[0,9223372036854775807]");
        Assert.NotEqual(header, huge);
        byte[] hugeBytes = Encoding.UTF8.GetBytes(huge);
        var claimsShape = new byte[8 + hugeBytes.Length + 64];
        BinaryPrimitives.WriteUInt64LittleEndian(claimsShape, (ulong)hugeBytes.Length);
        hugeBytes.CopyTo(claimsShape, 8);
        AssertRejectedWithin(claimsShape, "outside the data (64 bytes)");
    }

    private void AssertRejectedWithin(byte[] bytes, string message)
    {
        string path = Path.Combine(_root, "claims.safetensors");
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => IO.SafeTensorsFile.Read(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(message, e.Message);
        Assert.True(allocated < bytes.Length + (64 << 10), $"allocated {allocated:N0} bytes for a file of {bytes.Length:N0}");
    }
}
