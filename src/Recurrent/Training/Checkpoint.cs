using System.Globalization;
using System.Text;
using System.Text.Json;
using Recurrent.IO;
using Recurrent.Models;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Training;

/// <summary>Where training stands: enough, with the weights and optimizer state, to continue exactly.</summary>
public sealed class TrainingProgress
{
    /// <summary>Optimizer steps taken over all runs: the next step's index.</summary>
    public long Step { get; set; }
    /// <summary>Wall-clock seconds of training over all runs (what --time limits).</summary>
    public double Seconds { get; set; }
    /// <summary>Input tokens (characters or words) trained on over all runs.</summary>
    public long Tokens { get; set; }
    /// <summary>The lowest validation loss so far (what best/ holds for tasks selected by loss); null before any validation.</summary>
    public double? BestValLoss { get; set; }
    /// <summary>The best value of the task's selection metric (dev accuracy, dev F1), for tasks that select by one.</summary>
    public double? BestMetric { get; set; }
    /// <summary>The step at which best/ was saved.</summary>
    public long BestStep { get; set; }
    /// <summary>The state of the Rng that draws training samples (char-lm), so a resumed run samples the same text.</summary>
    public uint[] SampleRngState { get; set; } = [];
    /// <summary>The dropout streams of ranks 1, 2, … of the data-parallel run that saved it (rank 0's is the model's);
    /// empty for one process. A run on as many ranks continues each of them.</summary>
    public uint[][] RankDropoutRngStates { get; set; } = [];
}

/// <summary>
/// The model directory, the same for every task:
///   config.json            format version, the task ("char-lm", "classify", "tag"), the model (cell, sizes,
///                          vocabularies) and the training settings
///   weights.safetensors    the parameters under their PyTorch names
///   optimizer.safetensors  everything a resume needs, self-contained: a copy of the weights ("model.*"), the
///                          optimizer's moments ("optimizer.*"), the task's extra state (char-lm: the state carried
///                          between chunks, "carry.*"), and in the metadata the step, both RNG states, time and the best
///                          validation score so far
///   log.jsonl              one line per logged step (see <see cref="TrainLog"/>)
///   best/                  config.json + weights.safetensors of the best validation score (lowest loss, or highest
///                          dev metric for tasks that have one)
/// Every file is written atomically (temp file, then rename), weights and state before config.json, so a save that is
/// interrupted leaves each file whole — the old version or the new — and every pair a reader uses consistent:
/// sample/eval read config.json + weights.safetensors (the config never changes a model's shapes), a resume reads
/// config.json + optimizer.safetensors, whose weights and moments were written together.
/// </summary>
public static class Checkpoint
{
    /// <summary>The file and directory names of a model directory (see the class comment).</summary>
    public const string ConfigFile = "config.json", WeightsFile = "weights.safetensors",
        StateFile = "optimizer.safetensors", LogFile = "log.jsonl", BestDir = "best";
    /// <summary>config.json's "format" (and weights.safetensors' metadata "format"): marks a Recurrent model directory.</summary>
    public const string Format = "recurrent-model";
    /// <summary>config.json's "format_version": the layout this code reads and writes.</summary>
    public const int FormatVersion = 1;

    /// <summary>Writes config.json in <paramref name="dir"/> atomically: format, version, task, the model's fields and the "training" settings.</summary>
    public static void SaveConfig(string dir, ITaskModel model, TrainingSettings training)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("format_version", FormatVersion);
            w.WriteString("task", model.Task);
            model.WriteConfig(w);
            w.WriteStartObject("training");
            training.WriteJson(w, model.Task);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
    }

    /// <summary>
    /// Reads config.json and checks it is a Recurrent model of this format version; a missing, foreign or malformed one
    /// is a one-line error. Returns the task it holds and its fields.
    /// </summary>
    internal static (string Task, JsonFields Fields) OpenConfig(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"model directory '{dir}' not found");
        string path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw new InvalidDataException($"'{dir}' is not a model directory (it has no {ConfigFile})");
        var f = JsonFields.Parse(File.ReadAllText(path), $"{ConfigFile} in '{dir}'");
        if (!f.Has("format") || f.String("format") != Format)
            throw new InvalidDataException($"{f.Where} is not a Recurrent model configuration (no \"format\": \"{Format}\")");
        long version = f.Long("format_version");
        if (version != FormatVersion)
            throw new InvalidDataException($"{f.Where} has format version {version}; this build reads version {FormatVersion}");
        return (f.String("task"), f);
    }

    /// <summary>The task of the model in <paramref name="dir"/> ("char-lm", "classify", "tag").</summary>
    public static string ReadTask(string dir) => OpenConfig(dir).Task;

    /// <summary>The training settings of config.json, or null when it has none.</summary>
    internal static TrainingSettings? ReadTraining(JsonFields f, string task) =>
        f.Has("training") ? TrainingSettings.ReadJson(f.Object("training"), task) : null;

    /// <summary>Reads and validates a char-lm's config.json.</summary>
    public static (CharLanguageModelConfig Model, TrainingSettings? Training) LoadConfig(string dir)
    {
        var (task, f) = OpenConfig(dir);
        if (task != CharLanguageModelConfig.Task)
            throw new InvalidDataException($"'{dir}' holds a '{task}' model, not a {CharLanguageModelConfig.Task} model");
        var model = CharLanguageModelConfig.ReadJson(f);
        try { model.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{f.Where}: {e.Message}"); }
        RequireStoredModelHolds(dir, f.Where, MemoryEstimate.CharLanguageModelParameters(model));
        return (model, ReadTraining(f, task));
    }

    /// <summary>
    /// config.json's sizes are trusted only as far as the files that must hold the model: before a model is built from
    /// them, <paramref name="parameters"/> (its parameter count, or a lower bound: tensors it certainly has) must fit in
    /// the larger of weights.safetensors and optimizer.safetensors (which holds a copy). A corrupt "hidden_size":
    /// 2147483647 is then a one-line error, not an allocation of 2⁶⁴ bytes. Without either file nothing is checked
    /// (the load that needs one says it is missing).
    /// </summary>
    private static void RequireStoredModelHolds(string dir, string where, double parameters)
    {
        var largest = new[] { WeightsFile, StateFile }.Select(f => new FileInfo(Path.Combine(dir, f)))
            .Where(f => f.Exists).MaxBy(f => f.Length);
        if (largest != null && parameters * 4 > largest.Length)
            throw new InvalidDataException($"{where}: its sizes make a model of at least {parameters.ToString("G4", CultureInfo.InvariantCulture)} " +
                                           $"parameters, more than its {largest.Name} holds ({largest.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes)");
    }

    /// <summary>Reads and validates a word-level model's (classify, tag) config.json.</summary>
    public static (WordModelConfig Model, TrainingSettings? Training) LoadWordConfig(string dir)
    {
        var (task, f) = OpenConfig(dir);
        if (task is not (WordModelConfig.ClassifyTask or WordModelConfig.TagTask))
            throw new InvalidDataException($"'{dir}' holds a '{task}' model, not a classify or tag model");
        var model = WordModelConfig.ReadJson(f, task);
        // Tensors it certainly has: the word embedding, every layer's recurrent weights (one gate, one direction at
        // least), the first layer's input weights, the output layer (a row per label), and the character encoder's.
        double h = model.HiddenSize, e = model.EmbeddingSize, ch = model.CharHidden;
        RequireStoredModelHolds(dir, f.Where, (double)model.Vocabulary.Count * e + model.NumLayers * h * h + h * e
                                              + (double)model.Labels.Count * h + ch * ch + ch * model.CharEmbedding);
        return (model, ReadTraining(f, task));
    }

    /// <summary>config.json + weights.safetensors of a classify or tag model, ready to evaluate (Training off).</summary>
    public static ITaskModel LoadWordModel(string dir)
    {
        var (config, _) = LoadWordConfig(dir);
        return config.Task == WordModelConfig.ClassifyTask
            ? LoadWeights(dir, new SequenceClassifier(config, new Rng(0)))
            : LoadWeights(dir, new SequenceTagger(config, new Rng(0)));
    }

    /// <summary>Reads and validates a translation model's config.json.</summary>
    public static (Seq2SeqConfig Model, TrainingSettings? Training) LoadSeq2SeqConfig(string dir) =>
        LoadTaskConfig(dir, Seq2SeqConfig.TranslateTask, Seq2SeqConfig.ReadJson, m =>
        {
            // Both embeddings, the encoder's recurrent weights (H/2 a direction), the decoder's, and its output layer.
            double h = m.HiddenSize, e = m.EmbeddingSize;
            return ((double)m.SourceVocabulary.Count + m.TargetVocabulary.Count) * e + m.NumLayers * (h / 2 * (h / 2) + h * h)
                   + (double)m.TargetVocabulary.Count * h;
        });

    /// <summary>config.json + weights.safetensors of a translation model, ready to evaluate (Training off).</summary>
    public static Seq2SeqModel LoadSeq2SeqModel(string dir) =>
        LoadWeights(dir, new Seq2SeqModel(LoadSeq2SeqConfig(dir).Model, new Rng(0)));

    /// <summary>Reads and validates a conditioned generator's config.json.</summary>
    public static (GeneratorConfig Model, TrainingSettings? Training) LoadGeneratorConfig(string dir) =>
        LoadTaskConfig(dir, GeneratorConfig.GenerateTask, GeneratorConfig.ReadJson,
            // The word embedding, the recurrent weights, the output layer, and the label embedding (or the vector's bridge).
            m => (double)m.Vocabulary.Count * m.EmbeddingSize + (double)m.NumLayers * m.HiddenSize * m.HiddenSize
                 + (double)m.Vocabulary.Count * m.HiddenSize + ((double)(m.Labels?.Count ?? 0) * m.EmbeddingSize + m.VectorSize));

    /// <summary>config.json + weights.safetensors of a conditioned generator, ready to sample (Training off).</summary>
    public static ConditionedGenerator LoadGenerator(string dir) =>
        LoadWeights(dir, new ConditionedGenerator(LoadGeneratorConfig(dir).Model, new Rng(0)));

    /// <param name="parameters">a lower bound of the parameters of the model the config describes (tensors it certainly has).</param>
    /// <param name="dir">the model directory.</param>
    /// <param name="expected">the task config.json must hold.</param>
    /// <param name="read">reads the model's fields.</param>
    private static (T Model, TrainingSettings? Training) LoadTaskConfig<T>(string dir, string expected, Func<JsonFields, T> read,
        Func<T, double> parameters)
    {
        var (task, f) = OpenConfig(dir);
        if (task != expected) throw new InvalidDataException($"'{dir}' holds a '{task}' model, not a {expected} model");
        var model = read(f);
        RequireStoredModelHolds(dir, f.Where, parameters(model));
        return (model, ReadTraining(f, task));
    }

    /// <summary>Writes weights.safetensors atomically: the model's parameters under their PyTorch names, with format, task and step in its metadata.</summary>
    public static void SaveWeights(string dir, ITaskModel model, long step) =>
        StateDict.Save(Path.Combine(dir, WeightsFile), model, new Dictionary<string, string>
        {
            ["format"] = Format,
            ["task"] = model.Task,
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
        });

    /// <summary>Fills <paramref name="model"/> from weights.safetensors in <paramref name="dir"/> and turns Training off.</summary>
    public static T LoadWeights<T>(string dir, T model) where T : ITaskModel
    {
        string weights = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weights)) throw new InvalidDataException($"'{dir}' has {ConfigFile} but no {WeightsFile}");
        StateDict.Load(SafeTensorsFile.Read(weights), model);
        model.Training = false;
        return model;
    }

    /// <summary>config.json + weights.safetensors of a char-lm → the model, ready to evaluate (Training off).</summary>
    public static CharLanguageModel LoadModel(string dir) =>
        LoadWeights(dir, new CharLanguageModel(LoadConfig(dir).Model, new Rng(0)));

    /// <summary>
    /// Writes a complete checkpoint: training state, weights, then config.json. A failure (a full disk, a directory made
    /// read-only) is one IOException naming the step and the directory; each file is then whole, the old version or
    /// the new (see the class comment), so sample and --resume still find a checkpoint.
    /// </summary>
    public static void Save(string dir, ITaskModel model, TrainingSettings training, Optimizer optimizer,
        TrainingProgress progress, IEnumerable<(string Name, Tensor Value)> extraState)
    {
        try
        {
            Directory.CreateDirectory(dir);
            SaveTrainingState(dir, model, optimizer, progress, extraState);
            SaveWeights(dir, model, progress.Step);
            SaveConfig(dir, model, training);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"the checkpoint of step {progress.Step} could not be saved in '{dir}' ({OneLine(e.Message)}); " +
                                  "the files already there are kept, each whole", e);
        }
    }

    private static string OneLine(string s) => string.Join(' ', s.Split('\n', '\r', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>A char-lm's checkpoint, with the state carried between chunks.</summary>
    public static void Save(string dir, CharLanguageModel model, TrainingSettings training, Optimizer optimizer,
        TrainingProgress progress, RecurrentState carried) => Save(dir, model, training, optimizer, progress, carried.Named());

    /// <summary>A complete checkpoint of a trainer's model, optimizer and progress.</summary>
    public static void Save(string dir, ITaskTrainer trainer) =>
        Save(dir, trainer.Model, trainer.Settings, trainer.Optimizer, trainer.Progress, trainer.ExtraState());

    /// <summary>The best model so far: best/weights.safetensors then best/config.json.</summary>
    public static void SaveBest(string dir, ITaskModel model, TrainingSettings training, long step)
    {
        string best = Path.Combine(dir, BestDir);
        try
        {
            Directory.CreateDirectory(best);
            SaveWeights(best, model, step);
            SaveConfig(best, model, training);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"the best model (step {step}) could not be saved in '{best}' ({OneLine(e.Message)}); " +
                                  "the files already there are kept, each whole", e);
        }
    }

    private static void SaveTrainingState(string dir, ITaskModel model, Optimizer optimizer,
        TrainingProgress progress, IEnumerable<(string Name, Tensor Value)> extraState)
    {
        var w = new SafeTensorsWriter();
        foreach (var p in model.Parameters()) w.Add("model." + p.Name, p.Value);
        foreach (var (name, value) in optimizer.State()) w.Add("optimizer." + name, value);
        foreach (var (name, value) in extraState) w.Add("carry." + name, value);
        var m = w.Metadata;
        m["format"] = Format;
        m["step"] = Invariant(progress.Step);
        m["optimizer_steps"] = Invariant(optimizer.StepCount);
        m["seconds"] = progress.Seconds.ToString("R", CultureInfo.InvariantCulture);
        m["tokens"] = Invariant(progress.Tokens);
        m["best_val_loss"] = progress.BestValLoss?.ToString("R", CultureInfo.InvariantCulture) ?? "";
        m["best_step"] = Invariant(progress.BestStep);
        if (progress.BestMetric is { } metric) m["best_metric"] = metric.ToString("R", CultureInfo.InvariantCulture);
        m["sample_rng"] = string.Join(',', progress.SampleRngState);
        m["dropout_rng"] = string.Join(',', model.DropoutRngState);
        if (progress.RankDropoutRngStates.Length > 0)
            m["rank_dropout_rngs"] = string.Join(';', progress.RankDropoutRngStates.Select(s => string.Join(',', s)));
        w.Save(Path.Combine(dir, StateFile));
    }

    /// <summary>
    /// Restores the weights, optimizer moments, extra state and dropout RNG from optimizer.safetensors and returns
    /// the progress. The model and optimizer must have been built from the same config.json.
    /// </summary>
    public static TrainingProgress LoadTrainingState(string dir, CharLanguageModel model, Optimizer optimizer, RecurrentState carried) =>
        LoadTrainingState(dir, model, optimizer, carried.Named());

    /// <inheritdoc cref="LoadTrainingState(string, CharLanguageModel, Optimizer, RecurrentState)"/>
    public static TrainingProgress LoadTrainingState(string dir, ITaskModel model, Optimizer optimizer,
        IEnumerable<(string Name, Tensor Value)> extraState)
    {
        string path = Path.Combine(dir, StateFile);
        if (!File.Exists(path)) throw new InvalidDataException($"'{dir}' has no {StateFile}: it cannot be resumed (only sampled or evaluated)");
        var file = SafeTensorsFile.Read(path);
        string where = $"{StateFile} in '{dir}'";
        var meta = file.Metadata;
        string Meta(string key) => meta.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{where}: missing metadata \"{key}\"");
        if (Meta("format") != Format) throw new InvalidDataException($"{where} is not a Recurrent training state");

        // Check every tensor before changing anything.
        var parameters = model.Parameters().ToList();
        foreach (var p in parameters) file.Check("model." + p.Name, SafeDType.F32, p.Shape);
        var extra = extraState.ToList();
        foreach (var (name, value) in extra) file.Check("carry." + name, SafeDType.F32, value.Shape);
        var optimizerState = file.Names.Where(n => n.StartsWith("optimizer.", StringComparison.Ordinal))
            .ToDictionary(n => n["optimizer.".Length..], n => file.Float(n));
        var progress = new TrainingProgress
        {
            Step = ParseLong(Meta("step"), where, "step"),
            Seconds = ParseDouble(Meta("seconds"), where, "seconds"),
            Tokens = ParseLong(Meta("tokens"), where, "tokens"),
            BestValLoss = Meta("best_val_loss") is "" ? null : ParseDouble(Meta("best_val_loss"), where, "best_val_loss"),
            BestMetric = meta.TryGetValue("best_metric", out var metric) ? ParseDouble(metric, where, "best_metric") : null,
            BestStep = ParseLong(Meta("best_step"), where, "best_step"),
            SampleRngState = ParseRng(Meta("sample_rng"), where, "sample_rng"),
            RankDropoutRngStates = meta.TryGetValue("rank_dropout_rngs", out var ranks)
                ? [.. ranks.Split(';').Select(s => ParseRng(s, where, "rank_dropout_rngs"))] : [],
        };
        uint[] dropoutRng = ParseRng(Meta("dropout_rng"), where, "dropout_rng");
        long optimizerSteps = ParseLong(Meta("optimizer_steps"), where, "optimizer_steps");
        try { optimizer.LoadState(optimizerState, optimizerSteps); }
        catch (ArgumentException e) { throw new InvalidDataException($"{where}: {e.Message}"); }

        foreach (var p in parameters) file.CopyTo("model." + p.Name, p.Value);
        foreach (var (name, value) in extra) file.CopyTo("carry." + name, value);
        model.DropoutRngState = dropoutRng;
        return progress;
    }

    private static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static long ParseLong(string s, string where, string key) =>
        long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= 0 ? v
            : throw new InvalidDataException($"{where}: metadata \"{key}\" = '{s}' is not a count");

    private static double ParseDouble(string s, string where, string key) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
            : throw new InvalidDataException($"{where}: metadata \"{key}\" = '{s}' is not a number");

    private static uint[] ParseRng(string s, string where, string key)
    {
        string[] parts = s.Split(',');
        var state = new uint[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!uint.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out state[i]))
                throw new InvalidDataException($"{where}: metadata \"{key}\" = '{s}' is not an RNG state");
        if (state.Length != 4 || state.All(x => x == 0)) throw new InvalidDataException($"{where}: metadata \"{key}\" = '{s}' is not an RNG state");
        return state;
    }
}
