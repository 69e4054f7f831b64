using System.Globalization;
using System.Text;
using System.Text.Json;
using Recurrent.Data;
using Recurrent.IO;
using Recurrent.Models;

namespace Recurrent.Training;

/// <summary>Where an n-gram model's counts came from: the text (absolute path, SHA-256), the held-out fraction and how
/// many characters were counted, so eval can rebuild the same validation split.</summary>
public sealed record NgramTrainingData(string Data, string DataSha256, double ValFraction, long TrainCharacters);

/// <summary>
/// An n-gram model's directory, beside the neural models' (the same config.json header, so <see cref="Checkpoint.ReadTask"/>
/// and the verbs dispatch on it):
///   counts.bin   the counts of every order (<see cref="NgramCountsFile"/>), written first
///   config.json  "task": "ngram", the order, the vocabulary, each order's discounts and n-gram count, and the data it
///                was counted on ("training"), written last
/// Both are written atomically, so a directory holds a whole model or the previous one. On load the discounts are
/// recomputed from the counts and must equal config.json's: a mismatched pair is an error, not a silently other model.
/// </summary>
public static class NgramCheckpoint
{
    /// <summary>The counts file of an n-gram model directory.</summary>
    public const string CountsFile = "counts.bin";
    /// <summary>config.json's "smoothing": the only one there is.</summary>
    public const string Smoothing = "interpolated modified Kneser-Ney";

    /// <summary>Writes counts.bin, then config.json (with <paramref name="data"/>: what the counts came from), into <paramref name="dir"/>, each atomically.</summary>
    public static void Save(string dir, NgramLanguageModel model, NgramTrainingData data)
    {
        Directory.CreateDirectory(dir);
        NgramCountsFile.Write(Path.Combine(dir, CountsFile), Enumerable.Range(1, model.Order).Select(model.Counts).ToList(), model.VocabSize);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Checkpoint.Format);
            w.WriteNumber("format_version", Checkpoint.FormatVersion);
            w.WriteString("task", NgramLanguageModel.Task);
            w.WriteString("smoothing", Smoothing);
            w.WriteNumber("order", model.Order);
            w.WriteNumber("vocab_size", model.VocabSize);
            w.WriteString("vocabulary", model.Vocabulary.AsString());
            w.WriteStartObject("discounts");
            for (int k = 1; k <= model.Order; k++)
            {
                var d = model.Discounts[k - 1];
                w.WriteStartObject(Key(k));
                w.WriteNumber("d1", d.D1);
                w.WriteNumber("d2", d.D2);
                w.WriteNumber("d3_plus", d.D3Plus);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("ngrams");
            for (int k = 1; k <= model.Order; k++) w.WriteNumber(Key(k), model.Counts(k).Count);
            w.WriteEndObject();
            w.WriteStartObject("training");
            w.WriteString("data", data.Data);
            w.WriteString("data_sha256", data.DataSha256);
            w.WriteNumber("val_fraction", data.ValFraction);
            w.WriteNumber("train_characters", data.TrainCharacters);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        AtomicFile.WriteAllText(Path.Combine(dir, Checkpoint.ConfigFile), Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
    }

    /// <summary>The model in <paramref name="dir"/> and the data it was counted on; anything missing, damaged or
    /// inconsistent is a one-line <see cref="InvalidDataException"/> naming the file.</summary>
    public static (NgramLanguageModel Model, NgramTrainingData Data) Load(string dir)
    {
        var (task, f) = Checkpoint.OpenConfig(dir);
        if (task != NgramLanguageModel.Task) throw new InvalidDataException($"'{dir}' holds a '{task}' model, not an {NgramLanguageModel.Task} model");
        int order = f.Int("order", 1, NgramLanguageModel.MaxOrder);
        var vocabulary = f.Read(() => Vocabulary.Parse(f.String("vocabulary")));
        int vocabSize = f.Int("vocab_size", 1);
        if (vocabSize != vocabulary.Count)
            throw new InvalidDataException($"{f.Where}: \"vocab_size\" is {vocabSize} but \"vocabulary\" has {vocabulary.Count} characters");
        var t = f.Object("training");
        var data = new NgramTrainingData(t.String("data"), t.String("data_sha256"), t.Double("val_fraction", 0, 0.999999),
            t.Long("train_characters", 1));

        var counts = NgramCountsFile.Read(Path.Combine(dir, CountsFile), order, vocabSize, $"{CountsFile} in '{dir}'");
        var model = f.Read(() => NgramLanguageModel.FromCounts(vocabulary, order, counts));
        var discounts = f.Object("discounts");
        var ngrams = f.Object("ngrams");
        for (int k = 1; k <= order; k++)
        {
            var d = discounts.Object(Key(k));
            var computed = model.Discounts[k - 1];
            if (!Same(d.Double("d1"), computed.D1) || !Same(d.Double("d2"), computed.D2) || !Same(d.Double("d3_plus"), computed.D3Plus))
                throw new InvalidDataException($"{f.Where}: the discounts of order {k} do not match those of {CountsFile} " +
                                               $"({computed.D1:G6}, {computed.D2:G6}, {computed.D3Plus:G6}): the files are not one model");
            long n = ngrams.Long(Key(k), 0);
            if (n != counts[k - 1].Count)
                throw new InvalidDataException($"{f.Where}: \"ngrams\" of order {k} is {n} but {CountsFile} holds {counts[k - 1].Count}");
        }
        return (model, data);
    }

    private static string Key(int k) => k.ToString(CultureInfo.InvariantCulture);

    private static bool Same(double a, double b) => Math.Abs(a - b) <= 1e-12 * Math.Max(1, Math.Abs(b));
}
