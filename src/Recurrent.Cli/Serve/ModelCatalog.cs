using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text.Json;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Cli.Serve;

/// <summary>A dev or validation figure of a model: the log line of the step its weights were saved at (or before).</summary>
internal sealed record ValidationFigure(string Name, double Value, long Step);

/// <summary>
/// What the index shows of one model directory, read without loading its weights: the task from config.json, the
/// parameter count from weights.safetensors' header, the validation figure from log.jsonl (the parent's for best/).
/// </summary>
internal sealed record ModelInfo(string Name, string Dir, string Task, long Parameters, long? Step, ValidationFigure? Validation,
    IReadOnlyList<string>? Labels, int VectorSize)
{
    /// <summary>The pages (and API actions) the server has for the model's task: generate (and cells for a char-lm), classify, tag, translate, or none yet.</summary>
    public IReadOnlyList<string> Pages => Task switch
    {
        CharLanguageModelConfig.Task => ["generate", "cells"],
        GeneratorConfig.GenerateTask => ["generate"],
        WordModelConfig.ClassifyTask => ["classify"],
        WordModelConfig.TagTask => ["tag"],
        Seq2SeqConfig.TranslateTask => ["translate"],
        _ => [],
    };
}

/// <summary>
/// A loaded model and the lock that serializes its forward passes: a model's layers keep their activations in buffers
/// of their own, so two requests may not run one at the same time; each request keeps its own recurrent state, so
/// the lock is taken per forward pass and concurrent generations interleave step by step.
/// </summary>
internal sealed class ServedModel(ModelInfo info, ITaskModel model)
{
    public ModelInfo Info { get; } = info;
    public ITaskModel Model { get; } = model;
    public object Gate { get; } = new();
}

/// <summary>
/// The model directories under a root (a directory holding config.json + weights.safetensors, best/ included), named
/// by their path relative to the root with '/' ("RUN", "RUN/best"). The list is read again whenever it is asked for
/// (a run that finished after the server started appears); each model's weights are loaded once, on first use, and
/// shared by every request.
/// </summary>
internal sealed class ModelCatalog(string root)
{
    private const int MaxDepth = 8;
    private readonly ConcurrentDictionary<string, Lazy<ServedModel>> _loaded = new(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<string, ModelInfo> _models = new Dictionary<string, ModelInfo>();

    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Walks the root again; returns the models sorted by name.</summary>
    public IReadOnlyList<ModelInfo> Scan()
    {
        var found = new Dictionary<string, ModelInfo>(StringComparer.Ordinal);
        Walk(Root, 0, found);
        _models = found;
        return found.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The model of that name, or null; a name not seen yet makes the root be walked again.</summary>
    public ModelInfo? Find(string name)
    {
        if (_models.TryGetValue(name, out var info)) return info;
        Scan();
        return _models.GetValueOrDefault(name);
    }

    /// <summary>The model loaded (once: concurrent first requests wait for the same load).</summary>
    public ServedModel Load(ModelInfo info) =>
        _loaded.GetOrAdd(info.Name, _ => new Lazy<ServedModel>(() => new ServedModel(info, LoadModel(info)))).Value;

    private static ITaskModel LoadModel(ModelInfo info) => info.Task switch
    {
        CharLanguageModelConfig.Task => Checkpoint.LoadModel(info.Dir),
        GeneratorConfig.GenerateTask => Checkpoint.LoadGenerator(info.Dir),
        WordModelConfig.ClassifyTask or WordModelConfig.TagTask => Checkpoint.LoadWordModel(info.Dir),
        Seq2SeqConfig.TranslateTask => Checkpoint.LoadSeq2SeqModel(info.Dir),
        _ => throw new InvalidOperationException($"'{info.Name}' is a {info.Task} model, which this server cannot run yet"),
    };

    private void Walk(string dir, int depth, Dictionary<string, ModelInfo> found)
    {
        if (File.Exists(Path.Combine(dir, Checkpoint.ConfigFile)) && File.Exists(Path.Combine(dir, Checkpoint.WeightsFile))
            && Describe(dir) is { } info)
            found[info.Name] = info;
        if (depth >= MaxDepth) return;
        IEnumerable<string> children;
        try
        {
            children = Directory.EnumerateDirectories(dir, "*", new EnumerationOptions
            {
                IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint | FileAttributes.Hidden,
            }).Order(StringComparer.Ordinal).ToList();
        }
        catch (IOException) { return; }
        foreach (string child in children) Walk(child, depth + 1, found);
    }

    /// <summary>The index entry of a model directory, or null when it is not a Recurrent model this build reads.</summary>
    private ModelInfo? Describe(string dir)
    {
        try
        {
            string name = Name(dir);
            string task = Checkpoint.ReadTask(dir);
            var (parameters, step) = ReadWeightsHeader(Path.Combine(dir, Checkpoint.WeightsFile));
            IReadOnlyList<string>? labels = null;
            int vectorSize = 0;
            if (task == GeneratorConfig.GenerateTask)
            {
                var config = Checkpoint.LoadGeneratorConfig(dir).Model;
                labels = config.Labels?.Names;
                vectorSize = config.VectorSize;
            }
            else if (task is WordModelConfig.ClassifyTask or WordModelConfig.TagTask) labels = Checkpoint.LoadWordConfig(dir).Model.Labels.Names;
            return new ModelInfo(name, dir, task, parameters, step, Validation(dir, step), labels, vectorSize);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or ArgumentException
                                      or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private string Name(string dir)
    {
        string relative = Path.GetRelativePath(Root, dir);
        return relative == "." ? Path.GetFileName(Root) : relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    /// <summary>
    /// The tensors' element count and the "step" metadata, from the safetensors header alone (8 bytes of little-endian
    /// length, then that much JSON): the index does not read the weights themselves.
    /// </summary>
    internal static (long Parameters, long? Step) ReadWeightsHeader(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        file.ReadExactly(prefix);
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length > 100_000_000 || (long)length > file.Length - 8) throw new InvalidDataException($"'{path}' has a header of {length} bytes");
        var header = new byte[length];
        file.ReadExactly(header);
        using var json = JsonDocument.Parse(header);
        long parameters = 0;
        long? step = null;
        foreach (var entry in json.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                if (entry.Value.TryGetProperty("step", out var s) && long.TryParse(s.GetString(), out long st)) step = st;
                continue;
            }
            long count = 1;
            foreach (var d in entry.Value.GetProperty("shape").EnumerateArray()) count = checked(count * d.GetInt64());
            parameters += count;
        }
        return (parameters, step);
    }

    /// <summary>The model directory's log.jsonl, or its run's for best/; null when there is none.</summary>
    internal static string? LogPath(string dir)
    {
        string log = Path.Combine(dir, Checkpoint.LogFile);
        if (!File.Exists(log) && Path.GetFileName(dir) == Checkpoint.BestDir)
            log = Path.Combine(Path.GetDirectoryName(dir)!, Checkpoint.LogFile);
        return File.Exists(log) ? log : null;
    }

    /// <summary>
    /// The validation figure of the weights: from log.jsonl (best/'s is its run's), the last line at or before the
    /// weights' step that has one — the task's dev metric when it has one, else the validation loss.
    /// </summary>
    private static ValidationFigure? Validation(string dir, long? step)
    {
        if (LogPath(dir) is not { } log) return null;
        List<TrainLogEntry> entries;
        try { entries = TrainLog.Read(log); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return null; } // the model is still served
        var entry = entries.LastOrDefault(e => (step == null || e.Step <= step) && (e.Metric != null || e.ValLoss != null));
        if (entry == null) return null;
        return entry.MetricName != null && entry.Metric is { } metric
            ? new ValidationFigure(entry.MetricName, metric, entry.Step)
            : new ValidationFigure("val_loss", entry.ValLoss!.Value, entry.Step);
    }
}
