using System.Text.Json;

namespace Recurrent.Training;

/// <summary>
/// How a model is trained, saved in config.json's "training" so a resumed run continues with the same settings.
/// The limits (steps, epochs, seconds) are totals for the model, not for one run; null means no limit of that kind.
/// Intervals of 0 turn the periodic action off. Most settings are shared by every task; those of one task only are
/// marked, and config.json holds only the fields of its own task.
/// </summary>
public sealed record TrainingSettings
{
    /// <summary>The training data (absolute path) and the SHA-256 of its bytes, so a resume can check it is the same.</summary>
    public required string Data { get; init; }
    /// <summary>The SHA-256 of the training data's bytes, checked when a run resumes.</summary>
    public required string DataSha256 { get; init; }
    /// <summary>Word tasks: the held-out (dev) file and its SHA-256, or null for none.</summary>
    public string? Dev { get; init; }
    /// <summary>The SHA-256 of the dev file's bytes, or null without one.</summary>
    public string? DevSha256 { get; init; }
    /// <summary>Word tasks: the pretrained word vectors the embedding started from, or null.</summary>
    public string? Embeddings { get; init; }
    /// <summary>char-lm: the last fraction of the text is held out for validation.</summary>
    public double ValFraction { get; init; } = 0.1;

    /// <summary>char-lm: T, characters per chunk (truncated BPTT length). B: contiguous streams trained in parallel
    /// (char-lm) or sentences per batch (word tasks).</summary>
    public int SeqLen { get; init; }
    /// <summary>B (see <see cref="SeqLen"/>).</summary>
    public int Batch { get; init; }

    /// <summary>The optimizer's name, one of <see cref="Optimizers"/>.</summary>
    public required string Optimizer { get; init; }
    /// <summary>The base learning rate, before the schedule's factor.</summary>
    public double LearningRate { get; init; }
    /// <summary>Global gradient norm clip (0 = off) and element-wise clip (0 = off).</summary>
    public double Clip { get; init; }
    /// <summary>Element-wise gradient clip to ±ClipValue, applied before the norm clip (0 = off).</summary>
    public double ClipValue { get; init; }
    /// <summary>How the learning rate moves during training (constant by default).</summary>
    public LearningRateSchedule Schedule { get; init; } = new();
    /// <summary>The optimizer's weight decay: L2 added to the gradient (AdamW: decoupled), 0 = off.</summary>
    public double WeightDecay { get; init; }
    /// <summary>
    /// Decay of the weights' exponential moving average (<see cref="Optimizers.Optimizer.AverageWeights"/>), which the
    /// validations and best/ then use; 0 = none.
    /// </summary>
    public double Ema { get; init; }
    /// <summary>The run's seed: the weights' initialization, dropout masks and (word tasks) the batch order.</summary>
    public ulong Seed { get; init; }

    /// <summary>Stop once the model has taken this many steps in total; null = no limit.</summary>
    public long? MaxSteps { get; init; }
    /// <summary>Stop once the model has trained this many epochs in total; null = no limit.</summary>
    public double? MaxEpochs { get; init; }
    /// <summary>Stop once the model has trained this many seconds in total; null = no limit.</summary>
    public double? MaxSeconds { get; init; }

    /// <summary>Validate every this many steps (and at the end); 0 = only at the end.</summary>
    public int EvalEvery { get; init; }
    /// <summary>char-lm: print a sample every this many steps (0 = off).</summary>
    public int SampleEvery { get; init; }
    /// <summary>char-lm: characters per sample.</summary>
    public int SampleLength { get; init; } = 200;
    /// <summary>char-lm: the sampling temperature (see <see cref="Models.TokenSampler.Temperature"/>).</summary>
    public double SampleTemperature { get; init; } = 0.8;
    /// <summary>Save the model directory every this many steps (and at the end); 0 = only at the end.</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Write a line to log.jsonl every this many steps (≥ 1), and at validations and the end.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>char-lm: the --preset the run was started with (e.g. "min-char-rnn"), or null.</summary>
    public string? Preset { get; init; }
    /// <summary>char-lm: only the first this many characters of the text are read (min-char-rnn's 100,000); null = all.</summary>
    public int? MaxChars { get; init; }
    /// <summary>char-lm: the weights were drawn from N(0, InitStd²) and the biases zeroed (min-char-rnn); null = the
    /// layers' own initialization.</summary>
    public double? InitStd { get; init; }

    /// <summary>The optimizer names <see cref="Optimizer"/> may hold.</summary>
    public static readonly string[] Optimizers = ["adam", "adamw", "rmsprop", "adagrad", "sgd"];

    /// <summary>A learning rate that works for each optimizer on char-level LMs (char-rnn's 2e-3; min-char-rnn's 0.1).</summary>
    public static double DefaultLearningRate(string optimizer) => optimizer switch
    {
        "adagrad" => 0.1,
        "sgd" => 1.0,
        _ => 2e-3,
    };

    /// <summary>Throws a one-line <see cref="ArgumentException"/> for settings that cannot train (<paramref name="task"/> decides which fields apply).</summary>
    public void Validate(string task = Models.CharLanguageModelConfig.Task)
    {
        if (task == Models.CharLanguageModelConfig.Task && SeqLen < 1) throw new ArgumentException($"seq_len must be ≥ 1, got {SeqLen}");
        if (Batch < 1) throw new ArgumentException($"batch must be ≥ 1, got {Batch}");
        if (!Optimizers.Contains(Optimizer)) throw new ArgumentException($"unknown optimizer '{Optimizer}' (optimizers: {string.Join(", ", Optimizers)})");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"learning rate must be > 0, got {LearningRate}");
        if (!(Clip >= 0) || !(ClipValue >= 0)) throw new ArgumentException("clip thresholds must be ≥ 0 (0 = off)");
        if (!(ValFraction >= 0 && ValFraction < 1)) throw new ArgumentException($"val_fraction must be in [0, 1), got {ValFraction}");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay)) throw new ArgumentException($"weight decay must be ≥ 0, got {WeightDecay}");
        if (!(Ema >= 0 && Ema < 1)) throw new ArgumentException($"ema must be in [0, 1), got {Ema}");
        Schedule.Validate();
        if (MaxChars is < 2) throw new ArgumentException($"max_chars must be ≥ 2, got {MaxChars}");
        if (InitStd is { } std && !(std > 0 && double.IsFinite(std))) throw new ArgumentException($"init_std must be > 0, got {std}");
        if (EvalEvery < 0 || SampleEvery < 0 || CheckpointEvery < 0 || LogEvery < 1 || SampleLength < 0)
            throw new ArgumentException("intervals must be ≥ 0 (log_every ≥ 1)");
    }

    internal void WriteJson(Utf8JsonWriter w, string task)
    {
        bool charLm = task == Models.CharLanguageModelConfig.Task;
        w.WriteString("data", Data);
        w.WriteString("data_sha256", DataSha256);
        if (charLm)
        {
            w.WriteNumber("val_fraction", ValFraction);
            w.WriteNumber("seq_len", SeqLen);
        }
        else
        {
            WriteOptional(w, "dev", Dev);
            WriteOptional(w, "dev_sha256", DevSha256);
            WriteOptional(w, "embeddings", Embeddings);
        }
        w.WriteNumber("batch", Batch);
        w.WriteString("optimizer", Optimizer);
        w.WriteNumber("lr", LearningRate);
        w.WriteNumber("clip", Clip);
        w.WriteNumber("clip_value", ClipValue);
        Schedule.WriteJson(w);
        w.WriteNumber("weight_decay", WeightDecay);
        if (Ema > 0) w.WriteNumber("ema", Ema);
        w.WriteNumber("seed", Seed);
        WriteOptional(w, "max_steps", MaxSteps);
        WriteOptional(w, "max_epochs", MaxEpochs);
        WriteOptional(w, "max_seconds", MaxSeconds);
        w.WriteNumber("eval_every", EvalEvery);
        if (charLm)
        {
            w.WriteNumber("sample_every", SampleEvery);
            w.WriteNumber("sample_length", SampleLength);
            w.WriteNumber("sample_temperature", SampleTemperature);
        }
        w.WriteNumber("checkpoint_every", CheckpointEvery);
        w.WriteNumber("log_every", LogEvery);
        if (charLm) WriteOptional(w, "preset", Preset);
        if (charLm && MaxChars is { } maxChars) w.WriteNumber("max_chars", maxChars);
        if (charLm && InitStd is { } initStd) w.WriteNumber("init_std", initStd);
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value != null) w.WriteString(name, value);
        else w.WriteNull(name);
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    internal static TrainingSettings ReadJson(JsonFields f, string task)
    {
        bool charLm = task == Models.CharLanguageModelConfig.Task;
        var s = new TrainingSettings
        {
            Data = f.String("data"),
            DataSha256 = f.String("data_sha256"),
            Dev = f.OptionalString("dev"),
            DevSha256 = f.OptionalString("dev_sha256"),
            Embeddings = f.OptionalString("embeddings"),
            ValFraction = charLm ? f.Double("val_fraction", 0, 0.999999) : 0,
            SeqLen = charLm ? f.Int("seq_len", 1) : 0,
            Batch = f.Int("batch", 1),
            Optimizer = f.String("optimizer"),
            LearningRate = f.Double("lr", double.Epsilon),
            Clip = f.Double("clip", 0),
            ClipValue = f.Double("clip_value", 0),
            Schedule = LearningRateSchedule.ReadJson(f),
            WeightDecay = f.Has("weight_decay") ? f.Double("weight_decay", 0) : 0,
            Ema = f.Has("ema") ? f.Double("ema", 0, 0.999999) : 0,
            Seed = (ulong)f.Long("seed", 0),
            MaxSteps = f.OptionalLong("max_steps", 0),
            MaxEpochs = f.OptionalDouble("max_epochs", 0),
            MaxSeconds = f.OptionalDouble("max_seconds", 0),
            EvalEvery = f.Int("eval_every", 0),
            SampleEvery = charLm ? f.Int("sample_every", 0) : 0,
            SampleLength = charLm ? f.Int("sample_length", 0) : 0,
            SampleTemperature = charLm ? f.Double("sample_temperature", 0) : 0,
            CheckpointEvery = f.Int("checkpoint_every", 0),
            LogEvery = f.Int("log_every", 1),
            Preset = f.OptionalString("preset"),
            MaxChars = charLm && f.Has("max_chars") ? f.Int("max_chars", 2) : null,
            InitStd = charLm ? f.OptionalDouble("init_std", double.Epsilon) : null,
        };
        try { s.Validate(task); }
        catch (ArgumentException e) { throw new InvalidDataException($"{f.Where}: {e.Message}"); }
        return s;
    }
}
