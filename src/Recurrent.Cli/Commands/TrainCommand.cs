using System.Runtime.InteropServices;
using System.Globalization;
using System.Text.Json;
using Recurrent.Data;
using Recurrent.Metrics;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent train`: a character-level language model, char-rnn style, from flags (or a preset) or from a model
/// directory to resume. Everything is validated — flags, data, output directory — before anything is written.
/// </summary>
internal static class TrainCommand
{
    public const string Summary = "train a model: char-lm (tiny-shakespeare by default), or --task classify|tag|translate|generate|ngram";

    private const string DefaultData = "data/tinyshakespeare.txt";

    private const string Usage = $"""
        usage: recurrent train [options]
          --data FILE            training text, UTF-8 (default data/tinyshakespeare.txt)
          --val-fraction F       last fraction of the text held out for validation (default 0.1)
          --cell lstm|gru|rnn|rnn-relu|leaky   recurrent cell (default lstm)
          --leak A | learned | learned:A   the leaky cell's α per unit: fixed A in (0, 1], or learned
                                 (α = σ(leak), starting at A, default 0.5) (default 0.5 fixed)
          --hidden N  --layers N  hidden size and layers (default 256, 2)
          --embedding N          embedding size, 0 = one-hot input (default 64)
          --dropout P            dropout between layers and before the output (default 0.2)
          --residual             layers 2.. add the layer below's output to their own (skip connections)
          --weight-drop P        drop each weight of W_hh with probability P for a whole training pass
                                 (DropConnect, AWD-LSTM's WeightDrop) (default 0)
          --seq-len T  --batch B truncated-BPTT length and parallel streams (default 100, 32)
          --optimizer adam|adamw|rmsprop|adagrad|sgd  --lr LR   (default adam 2e-3)
          --clip NORM            clip the global gradient norm (default 5, 0 = off)
          --clip-value V         clip each gradient element to ±V (default 0 = off)
        {TaskTrainCommand.ScheduleUsage}
          --max-chars N          read only the first N characters of the text (default 0 = all)
          --init-std S           weights from N(0, S²), biases 0, instead of the layers' own initialization (default 0 = off)
          --steps N | --epochs N | --time 10m   totals for the model (default --time 10m)
          --eval-every N  --sample-every N  --sample-length N  --checkpoint-every N  --log-every N
          --temperature T        temperature of the samples printed while training (default 0.8)
          --out DIR              model directory (default runs/charlm-DATE-TIME)
          --resume DIR           continue training the model in DIR (exactly where it stopped)
          --force                replace the model already in --out
          --preset min-char-rnn  Karpathy's min-char-rnn: tanh RNN, one-hot, hidden 100, seq 25, batch 1, weights
                                 N(0, 0.01²), biases 0, Adagrad lr 0.1, element-wise clip ±5 on the summed loss
                                 (--clip-value 0.2 on the mean), the first 100,000 characters, no validation split;
                                 --json adds its smoothed loss "smooth_loss" (flags given override it)
          --seed S  --threads N  --json
          --task classify|tag|translate|generate|ngram   a sentence classifier, a sequence tagger, a translation model,
                                 a conditioned text generator or a Kneser–Ney character n-gram model instead
                                 (see train --task classify --help)
        """;

    private static readonly string[] TaskNames = [CharLanguageModelConfig.Task, WordModelConfig.ClassifyTask, WordModelConfig.TagTask, Seq2SeqConfig.TranslateTask,
         GeneratorConfig.GenerateTask, NgramLanguageModel.Task];

    /// <summary>Flags that define the model or its optimization: fixed once a model exists.</summary>
    private static readonly string[] FixedFlags =
        ["cell", "leak", "hidden", "layers", "embedding", "dropout", "residual", "weight-drop", "seq-len", "batch",
         .. TaskTrainCommand.OptimizationFlags, "val-fraction", "seed", "preset", "max-chars", "init-std"];

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        // The task: --task, or the one of the model to resume; char-lm (this file) by default.
        string? taskArg = args.Has("task") ? args.Choice("task", CharLanguageModelConfig.Task, TaskNames) : null;
        string? resumeArg = args.OptionalDirectory("resume", "a model directory to continue");
        string task = taskArg ?? (resumeArg != null && !args.Has("help") ? Checkpoint.ReadTask(resumeArg) : CharLanguageModelConfig.Task);
        if (taskArg != null && resumeArg != null && taskArg != Checkpoint.ReadTask(resumeArg))
            throw CliArgs.Usage($"--task {taskArg} but '{resumeArg}' holds a '{Checkpoint.ReadTask(resumeArg)}' model");
        if (task == NgramLanguageModel.Task)
        {
            if (args.Flag("help")) { stdout.Write(NgramCommands.TrainUsage); return 0; }
            if (DataParallel.Place.Size > 1)
                throw new CliException("--task ngram counts n-grams in one pass of one process: run it without mpirun", 2);
            return NgramCommands.Train(args, stdout);
        }
        if (task != CharLanguageModelConfig.Task)
        {
            TaskTrainSetup setup = task switch
            {
                WordModelConfig.ClassifyTask => WordTrainCommand.Classify,
                WordModelConfig.TagTask => WordTrainCommand.Tag,
                Seq2SeqConfig.TranslateTask => TranslateTrainCommand.Instance,
                _ => GenerateTrainCommand.Instance,
            };
            if (args.Flag("help")) { stdout.Write(setup.Usage); return 0; }
            return TaskTrainCommand.Run(setup, args, stdout, stderr);
        }
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        bool json = args.Flag("json");
        bool force = args.Flag("force");
        bool skipNonFinite = args.Flag("skip-nonfinite");
        string? resume = args.String("resume");
        string? outArg = args.String("out");
        string? dataArg = args.String("data");
        bool overlap = DataParallel.Overlap(args);
        DataParallel.SetThreads(args);
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");

        var (limitsGiven, steps, epochs, seconds) = Limits(args);

        CharLanguageModelConfig config;
        TrainingSettings settings;
        CharCorpus corpus;
        string outDir;
        if (resume == null)
        {
            (config, settings, corpus) = FromFlags(args, dataArg);
            if (!limitsGiven) seconds = 600; // with no limit, a ten-minute run
            settings = settings with { MaxSteps = steps, MaxEpochs = epochs, MaxSeconds = seconds };
            outDir = outArg ?? Path.Combine("runs", "charlm-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        }
        else
        {
            RejectFixedFlags(args, FixedFlags, resume);
            (config, var saved) = Checkpoint.LoadConfig(resume);
            settings = Resumed(args, resume, saved, Intervals, (limitsGiven, steps, epochs, seconds));
            string data = dataArg ?? settings.Data;
            ModelDirectory.RequireSameData(data, settings.DataSha256, resume, "--data", "text");
            corpus = LoadCorpus(data, settings.ValFraction, settings.MaxChars, config.Vocabulary);
            settings = settings with { Data = Path.GetFullPath(data) };
            outDir = outArg ?? resume;
        }
        RequireTrainable(corpus, settings);
        RequireMemory(config, settings, corpus);
        DataParallel.RequireBatch(settings.Batch, "stream");

        var model = new CharLanguageModel(config, new Rng(settings.Seed));
        if (resume == null && settings.InitStd is { } initStd) MinCharRnn.InitNormal(model.Parameters(), initStd, new Rng(settings.Seed));
        var optimizer = Trainer.CreateOptimizer(settings, model.Parameters());
        var carried = model.NewState(settings.Batch);
        var progress = resume == null
            ? new TrainingProgress { SampleRngState = new Rng(settings.Seed ^ 0x5A3B1E_C0FFEEUL).State }
            : Checkpoint.LoadTrainingState(resume, model, optimizer, carried);

        // Everything is checked: only now is anything written (by rank 0 alone under mpirun).
        if (DataParallel.Place.Rank == 0)
        {
            if (resume == null) ModelDirectory.PrepareNew(outDir, force);
            else ModelDirectory.PrepareResume(resume, outDir, progress.Step, force);
            Checkpoint.Save(outDir, model, settings, optimizer, progress, carried); // loadable from the first moment
        }

        var parallel = DataParallel.Join();
        using var trainer = new Trainer(model, optimizer, settings, corpus, progress, carried, parallel.Group, overlap);
        // The preset reports min-char-rnn's smoothed loss, the number the gist prints.
        var smoothed = settings.Preset == MinCharRnn.Preset ? new SmoothedLossTrainer(trainer) : null;
        if (!json)
        {
            stdout.WriteLine($"{Describe(config)}, {model.Parameters().Sum(p => (long)p.Value.Length):N0} parameters");
            stdout.WriteLine($"data '{settings.Data}': {corpus.TrainLength:N0} training / {corpus.Validation.Length:N0} validation characters, " +
                             $"{config.VocabSize} symbols");
            stdout.WriteLine($"batch {settings.Batch} × seq {trainer.SeqLen}, {trainer.ChunksPerEpoch:N0} steps/epoch, {settings.Optimizer} lr {settings.LearningRate:G4}" +
                             $"{(settings.Clip > 0 ? $", clip {settings.Clip:G4}" : "")}{(settings.ClipValue > 0 ? $", clip-value {settings.ClipValue:G4}" : "")}; " +
                             $"{(resume != null ? $"resuming at step {progress.Step}, " : "")}until {LimitsText(settings)} → {outDir}");
        }

        var result = parallel.Run(() => TrainingConsole.Run(smoothed ?? (ITaskTrainer)trainer, outDir, stdout, stderr, json, skipNonFinite));

        if (json)
        {
            WriteJson(stdout, w =>
            {
                WriteResult(w, result, outDir);
                Number(w, "val_loss", result.ValLoss);
                Number(w, "val_bits_per_char", result.ValLoss is { } v ? LanguageModelMetrics.BitsPerChar(v) : null);
                if (smoothed != null) Number(w, "smooth_loss", smoothed.SmoothLoss);
            });
        }
        else
        {
            if (result.StepsThisRun == 0)
                stdout.WriteLine($"nothing to train: the model is already at its limit ({LimitsText(settings)}); pass a larger --steps, --epochs or --time");
            string val = result.ValLoss is { } v ? $", val loss {v:F4} ({LanguageModelMetrics.BitsPerChar(v):F3} bits/char)" : "";
            if (smoothed != null) val += $", min-char-rnn smooth loss {smoothed.SmoothLoss:F4}";
            stdout.WriteLine($"done: step {result.Steps}, epoch {result.Epochs:F2}, train loss {result.TrainLoss:F4}{val}, " +
                             $"{result.TokensPerSecond:N0} tokens/s, {FormatDuration(result.Seconds)} → {outDir}");
            stdout.WriteLine($"sample it: {TrainingConsole.Command()} sample --model {outDir}");
        }
        return 0;
    }

    private static (CharLanguageModelConfig, TrainingSettings, CharCorpus) FromFlags(CliArgs args, string? dataArg)
    {
        bool minCharRnn = args.Choice("preset", "none", "none", MinCharRnn.Preset) == MinCharRnn.Preset;
        var cell = CharLanguageModelConfig.ParseCell(args.Choice("cell", minCharRnn ? "rnn" : "lstm", CharLanguageModelConfig.CellNames));
        string? leakArg = args.String("leak");
        if (leakArg != null && cell != Layers.CellKind.Leaky) throw CliArgs.Usage($"--leak {leakArg} is for --cell leaky only");
        Layers.Leak leak;
        try { leak = leakArg == null ? Layers.Leak.Default : Layers.Leak.Parse(leakArg); }
        catch (ArgumentException e) { throw CliArgs.Usage("--leak: " + e.Message); }
        int hidden = args.Int("hidden", minCharRnn ? MinCharRnn.Hidden : 256, 1, 1 << 16);
        int layers = args.Int("layers", minCharRnn ? 1 : 2, 1, 64);
        int embedding = args.Int("embedding", minCharRnn ? 0 : 64, 0, 1 << 16);
        double dropout = args.Double("dropout", minCharRnn ? 0 : 0.2, 0, 0.99);
        bool residual = args.Flag("residual");
        double weightDrop = args.Double("weight-drop", 0, 0, 0.99);
        int seqLen = args.Int("seq-len", minCharRnn ? MinCharRnn.SeqLen : 100, 1, 1 << 20);
        int batch = args.Int("batch", minCharRnn ? MinCharRnn.Batch : 32, 1, 1 << 16);
        string optimizer = args.Choice("optimizer", minCharRnn ? "adagrad" : "adam", TrainingSettings.Optimizers);
        double lr = args.Double("lr", minCharRnn ? MinCharRnn.LearningRate : TrainingSettings.DefaultLearningRate(optimizer), double.Epsilon, 100);
        double clip = args.Double("clip", minCharRnn ? 0 : 5, 0);
        // The gist clips its summed loss's gradient at ±5: the mean loss's at ±5/(T·B) (see MinCharRnn).
        double clipValue = args.Double("clip-value", minCharRnn ? MinCharRnn.ClipValue(seqLen, batch) : 0, 0);
        double valFraction = args.Double("val-fraction", minCharRnn ? 0 : 0.1, 0, 0.9);
        int maxChars = args.Int("max-chars", minCharRnn ? MinCharRnn.Characters : 0, 0);
        double initStd = args.Double("init-std", minCharRnn ? MinCharRnn.InitStd : 0, 0, 100);
        int seed = args.Int("seed", 1, 0);

        string data = dataArg ?? FindDefaultData();
        var intervals = TaskTrainCommand.Schedule(args, Intervals(args, new TrainingSettings
        {
            Data = "", DataSha256 = "", Optimizer = optimizer,
            EvalEvery = minCharRnn ? 1000 : 500,
            SampleEvery = minCharRnn ? 1000 : 500,
            CheckpointEvery = minCharRnn ? 1000 : 500,
            LogEvery = minCharRnn ? 100 : 10,
        }));
        args.RejectUnknown(); // every flag is known before the data is read
        var corpus = LoadCorpus(data, valFraction, maxChars > 0 ? maxChars : null);
        var config = new CharLanguageModelConfig(cell, corpus.Vocabulary, embedding, hidden, layers, (float)dropout, residual)
        {
            Leak = leak,
            WeightDrop = (float)weightDrop,
        };
        var settings = intervals with
        {
            Data = Path.GetFullPath(data),
            DataSha256 = ModelDirectory.Sha256(data),
            ValFraction = valFraction,
            SeqLen = seqLen,
            Batch = batch,
            Optimizer = optimizer,
            LearningRate = lr,
            Clip = clip,
            ClipValue = clipValue,
            Seed = (ulong)seed,
            Preset = minCharRnn ? MinCharRnn.Preset : null,
            MaxChars = maxChars > 0 ? maxChars : null,
            InitStd = initStd > 0 ? initStd : null,
        };
        settings.Validate();
        return (config, settings, corpus);
    }

    /// <summary>The text split for training, all of it or (--max-chars) its first characters.</summary>
    private static CharCorpus LoadCorpus(string data, double valFraction, int? maxChars, Vocabulary? vocabulary = null) =>
        maxChars is { } n
            ? CharCorpus.FromText(MinCharRnn.FirstCharacters(Utf8Text.ReadFile(data), n), valFraction, $"the first {n:N0} characters of '{data}'", vocabulary)
            : CharCorpus.Load(data, valFraction, vocabulary);

    /// <summary>The schedule flags, which a resumed run may change: every task's, and the samples'.</summary>
    private static TrainingSettings Intervals(CliArgs args, TrainingSettings s) => TaskTrainCommand.Intervals(args, s) with
    {
        SampleEvery = args.Int("sample-every", s.SampleEvery, 0),
        SampleLength = args.Int("sample-length", s.SampleLength, 0, 1 << 20),
        SampleTemperature = args.Double("temperature", s.SampleTemperature, 0, 100),
    };

    /// <summary>The default text: data/tinyshakespeare.txt here, or in the repository this binary was built from.</summary>
    internal static string FindDefaultData()
    {
        if (File.Exists(DefaultData)) return DefaultData;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, DefaultData);
            if (File.Exists(candidate)) return candidate;
        }
        throw new CliException($"no --data given and the default '{DefaultData}' was not found");
    }

    private static void RequireTrainable(CharCorpus corpus, TrainingSettings s)
    {
        if (corpus.TrainLength < s.Batch + 1)
            throw new CliException($"the training text of {corpus.Source} has {corpus.TrainLength} characters, too short for " +
                                   $"--batch {s.Batch} (needs at least {s.Batch + 1}: one per stream plus the last target)");
    }

    /// <summary>Refuses, with the figures, a configuration whose training cannot fit in the memory available.</summary>
    private static void RequireMemory(CharLanguageModelConfig config, TrainingSettings s, CharCorpus corpus)
    {
        long seqLen = Math.Min(s.SeqLen, Math.Max(1, (corpus.TrainLength - 1) / s.Batch)); // as BatchStreams cuts it
        double needed = MemoryEstimate.CharLanguageModelBytes(config, seqLen, s.Batch);
        long available = MemoryEstimate.AvailableBytes();
        if (needed > available)
            throw new CliException($"this model needs ~{MemoryEstimate.GiB(needed)} to train with --seq-len {s.SeqLen}" +
                                   (seqLen < s.SeqLen ? $" (cut to {seqLen}, the stream length)" : "") +
                                   $" --batch {s.Batch} --hidden {config.HiddenSize} --layers {config.NumLayers}, " +
                                   $"{MemoryEstimate.GiB(available)} available; lower one of them");
    }

    /// <summary>A resumed model keeps what defines it: giving one of <paramref name="fixedFlags"/> is an error.</summary>
    internal static void RejectFixedFlags(CliArgs args, string[] fixedFlags, string resume)
    {
        foreach (string flag in fixedFlags)
            if (args.Has(flag))
                throw CliArgs.Usage($"--{flag} cannot change when resuming: the model in '{resume}' keeps its own");
    }

    /// <summary>
    /// The settings a resumed run continues with: the saved ones, with the schedule flags (<paramref name="intervals"/>)
    /// and the limits given now; then every flag has been read, and an unknown one is an error.
    /// </summary>
    internal static TrainingSettings Resumed(CliArgs args, string resume, TrainingSettings? saved,
        Func<CliArgs, TrainingSettings, TrainingSettings> intervals, (bool Given, long? Steps, double? Epochs, double? Seconds) limits)
    {
        var settings = intervals(args, saved ?? throw new CliException($"'{resume}' holds no training settings: it cannot be resumed"));
        if (limits.Given) settings = settings with { MaxSteps = limits.Steps, MaxEpochs = limits.Epochs, MaxSeconds = limits.Seconds };
        args.RejectUnknown();
        return settings;
    }

    /// <summary>--steps, --epochs, --time: whether any was given, and each (null when not).</summary>
    internal static (bool Given, long? Steps, double? Epochs, double? Seconds) Limits(CliArgs args) =>
        (args.Has("steps") || args.Has("epochs") || args.Has("time"),
         args.OptionalInt("steps", 1),                                   // 0 steps is a typo, not a run
         args.Has("epochs") ? args.Double("epochs", 0, double.Epsilon) : null,
         args.Has("time") ? ParseDuration(args.String("time")!) : null);

    /// <summary>"90" or "90s", "10m", "1.5h", "1h30m": seconds.</summary>
    internal static double ParseDuration(string text)
    {
        double total = 0;
        int i = 0;
        bool any = false;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (i == start || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                throw CliArgs.Usage($"--time must look like 90s, 10m, 1.5h or 1h30m (got '{text}')");
            char unit = i < text.Length ? text[i++] : 's';
            total += value * unit switch
            {
                's' => 1, 'm' => 60, 'h' => 3600,
                _ => throw CliArgs.Usage($"--time must look like 90s, 10m, 1.5h or 1h30m (got '{text}')"),
            };
            any = true;
        }
        if (!any || !(total > 0)) throw CliArgs.Usage($"--time must be a positive duration (got '{text}')");
        return total;
    }

    internal static string FormatDuration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.TotalSeconds:F1}s";
    }

    private static string Describe(CharLanguageModelConfig c) =>
        $"{CharLanguageModelConfig.CellName(c.Cell)}{(c.Cell == Layers.CellKind.Leaky ? $" (leak {c.Leak})" : "")} {c.NumLayers}×{c.HiddenSize}, " +
        (c.EmbeddingSize == 0 ? "one-hot input" : $"embedding {c.EmbeddingSize}") + (c.Dropout > 0 ? $", dropout {c.Dropout:G3}" : "")
        + (c.Residual ? ", residual" : "") + (c.WeightDrop > 0 ? $", weight drop {c.WeightDrop:G3}" : "");

    internal static string LimitsText(TrainingSettings s)
    {
        var parts = new List<string>();
        if (s.MaxSteps is { } n) parts.Add($"step {n}");
        if (s.MaxEpochs is { } e) parts.Add($"epoch {e:G4}");
        if (s.MaxSeconds is { } t) parts.Add(FormatDuration(t));
        return parts.Count == 0 ? "stopped" : string.Join(" or ", parts);
    }

    /// <summary>One JSON object on one line, numbers invariant; text as it is (no \u escapes for "+", accents or "<"):
    /// the output is read by people and parsers, never embedded in HTML.</summary>
    internal static void WriteJson(TextWriter output, Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>The fields of `train --json` every task prints.</summary>
    internal static void WriteResult(Utf8JsonWriter w, TrainingResult result, string outDir)
    {
        w.WriteNumber("steps", result.Steps);
        w.WriteNumber("epochs", Math.Round(result.Epochs, 6));
        Number(w, "train_loss", result.TrainLoss);
        w.WriteNumber("tokens_per_second", Math.Round(result.TokensPerSecond, 1));
        w.WriteNumber("seconds", Math.Round(result.Seconds, 3));
        w.WriteNumber("seconds_per_step", Math.Round(result.SecondsPerStep, 6));
        w.WriteNumber("parameters", result.Parameters);
        w.WriteNumber("steps_this_run", result.StepsThisRun);
        w.WriteNumber("skipped_nonfinite", result.SkippedNonFinite);
        w.WriteString("out", outDir);
    }

    /// <summary>A number, or null when missing or not finite (JSON has no NaN).</summary>
    internal static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
