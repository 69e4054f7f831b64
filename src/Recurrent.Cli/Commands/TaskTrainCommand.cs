using System.Globalization;
using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Tensors;
using Recurrent.Training;
using static Recurrent.Cli.Commands.TrainCommand;

namespace Recurrent.Cli.Commands;

/// <summary>What `train` needs to know of a task trained on a --train and a --dev file (classify, tag, translate).</summary>
internal abstract class TaskTrainSetup
{
    public abstract string Task { get; }
    public abstract string Usage { get; }
    /// <summary>Flags that define the model, its data or its optimization: fixed once a model exists.</summary>
    public abstract string[] FixedFlags { get; }
    /// <summary>The run's length when no --steps, --epochs or --time is given.</summary>
    public abstract double DefaultSeconds { get; }
    /// <summary>The dev metric `train --json` reports when the run had no dev file to name it; null when the dev loss
    /// alone chooses the best model.</summary>
    public abstract string? Metric { get; }

    /// <summary>A new model from the flags and the data files (every flag is read before the data).</summary>
    public abstract (IWordTask Task, TrainingSettings Settings) FromFlags(CliArgs args, string train, string? dev, TextWriter stdout, bool json);
    /// <summary>The training settings config.json in <paramref name="dir"/> holds (null when none).</summary>
    public abstract TrainingSettings? SavedSettings(string dir);
    /// <summary>The model of the checkpoint in <paramref name="dir"/> (weights still initial) over the settings' data.</summary>
    public abstract IWordTask FromCheckpoint(string dir, TrainingSettings settings);
    /// <summary>The model and data lines printed before training.</summary>
    public abstract string Describe(IWordTask task);
    public abstract string DescribeData(IWordTask task, TrainingSettings settings);
    /// <summary>Fields `train --json` adds beyond the shared ones and the dev metric.</summary>
    public virtual void WriteJson(Utf8JsonWriter w, ValidationResult? v, string metric) { }
}

/// <summary>
/// `recurrent train --task T` for the tasks trained on a --train and a --dev file, or (--resume) the model in a
/// directory. Everything is validated — flags, data, output directory — before anything is written.
/// </summary>
internal static class TaskTrainCommand
{
    public static int Run(TaskTrainSetup setup, CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        bool json = args.Flag("json");
        bool force = args.Flag("force");
        bool skipNonFinite = args.Flag("skip-nonfinite");
        string? resume = args.OptionalDirectory("resume", "a model directory to continue");
        string? outArg = args.String("out");
        string? trainArg = args.String("train"), devArg = args.String("dev");
        bool overlap = DataParallel.Overlap(args);
        DataParallel.SetThreads(args);
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        var (limitsGiven, steps, epochs, seconds) = Limits(args);

        TrainingSettings settings;
        string outDir;
        IWordTask task;
        Recurrent.Optimizers.Optimizer optimizer;
        TrainingProgress progress;
        if (resume == null)
        {
            string train = trainArg ?? args.Required("train", "FILE", "the training data");
            (task, settings) = setup.FromFlags(args, train, devArg, stdout, json);
            if (!limitsGiven) seconds = setup.DefaultSeconds;
            settings = settings with { MaxSteps = steps, MaxEpochs = epochs, MaxSeconds = seconds };
            outDir = outArg ?? Path.Combine("runs", setup.Task + "-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
            optimizer = Trainer.CreateOptimizer(settings, task.TrainableParameters());
            progress = new TrainingProgress { SampleRngState = new Rng(settings.Seed ^ 0x5A3B1E_C0FFEEUL).State };
        }
        else
        {
            RejectFixedFlags(args, setup.FixedFlags, resume);
            settings = Resumed(args, resume, setup.SavedSettings(resume), Intervals, (limitsGiven, steps, epochs, seconds));
            string train = trainArg ?? settings.Data;
            ModelDirectory.RequireSameData(train, settings.DataSha256, resume, "--train");
            string? dev = devArg ?? settings.Dev;
            if (dev != null && devArg == null) ModelDirectory.RequireSameData(dev, settings.DevSha256, resume, "--dev");
            settings = settings with
            {
                Data = Path.GetFullPath(train),
                Dev = dev == null ? null : Path.GetFullPath(dev),
                DevSha256 = dev == null ? null : ModelDirectory.Sha256(dev),
            };
            task = setup.FromCheckpoint(resume, settings);
            optimizer = Trainer.CreateOptimizer(settings, task.TrainableParameters());
            progress = Checkpoint.LoadTrainingState(resume, task.Model, optimizer, []);
            outDir = outArg ?? resume;
        }

        DataParallel.RequireBatch(settings.Batch, "sentence");
        // Everything is checked: only now is anything written (by rank 0 alone under mpirun).
        bool root = DataParallel.Place.Rank == 0;
        if (root)
        {
            if (resume == null) ModelDirectory.PrepareNew(outDir, force);
            else ModelDirectory.PrepareResume(resume, outDir, progress.Step, force);
        }
        var parallel = DataParallel.Join();
        using var trainer = new WordTaskTrainer(task, optimizer, settings, progress, parallel.Group, overlap);
        if (root) Checkpoint.Save(outDir, trainer); // loadable from the first moment
        if (!json)
        {
            stdout.WriteLine($"{setup.Describe(task)}, {task.Model.ParameterCount():N0} parameters");
            stdout.WriteLine(setup.DescribeData(task, settings) + (settings.Dev != null ? $"; dev '{settings.Dev}'" : "; no --dev: no best/ model"));
            stdout.WriteLine($"batch {settings.Batch}, {trainer.StepsPerEpoch:N0} steps/epoch, {settings.Optimizer} lr {settings.LearningRate:G4}" +
                             $"{(settings.Clip > 0 ? $", clip {settings.Clip:G4}" : "")}; " +
                             $"{(resume != null ? $"resuming at step {progress.Step}, " : "")}until {LimitsText(settings)} → {outDir}");
        }

        var result = parallel.Run(() => TrainingConsole.Run(trainer, outDir, stdout, stderr, json, skipNonFinite));
        var v = result.Validation;
        if (json)
        {
            WriteJson(stdout, w =>
            {
                w.WriteString("task", setup.Task);
                WriteResult(w, result, outDir);
                Number(w, "dev_loss", v?.Loss);
                if ((v?.MetricName ?? setup.Metric) is { } metric)
                {
                    Number(w, metric, v?.Metric);
                    setup.WriteJson(w, v, metric);
                    Number(w, "best_" + metric, progress.BestMetric);
                }
                else Number(w, "best_dev_loss", progress.BestValLoss);
                w.WriteNumber("best_step", progress.BestStep);
            });
        }
        else
        {
            if (result.StepsThisRun == 0)
                stdout.WriteLine($"nothing to train: the model is already at its limit ({LimitsText(settings)}); pass a larger --steps, --epochs or --time");
            string dev = v is null ? "" : $", dev loss {v.Loss:F4}" + (v.MetricName is { } n ? $", {n.Replace('_', ' ')} {v.Metric:F4}" : "") +
                                         ((progress.BestMetric ?? progress.BestValLoss) is { } best ? $" (best {best:F4} at step {progress.BestStep}, in best/)" : "");
            stdout.WriteLine($"done: step {result.Steps}, epoch {result.Epochs:F2}, train loss {result.TrainLoss:F4}{dev}, " +
                             $"{result.TokensPerSecond:N0} words/s, {FormatDuration(result.Seconds)} → {outDir}");
            string command = TrainingConsole.Command();
            stdout.WriteLine($"score it: {command} eval --model {outDir} --data FILE; use it: {command} predict --model {outDir}");
        }
        return 0;
    }

    /// <summary>The schedule flags, which a resumed run may change.</summary>
    internal static TrainingSettings Intervals(CliArgs args, TrainingSettings s) => s with
    {
        EvalEvery = args.Int("eval-every", s.EvalEvery, 0),
        CheckpointEvery = args.Int("checkpoint-every", s.CheckpointEvery, 0),
        LogEvery = args.Int("log-every", s.LogEvery, 1),
    };

    /// <summary>The flags of the optimization: fixed once a model exists (a resume continues with the saved ones).</summary>
    internal static readonly string[] OptimizationFlags =
        ["optimizer", "lr", "clip", "clip-value", "schedule", "lr-decay", "lr-decay-after", "warmup", "min-lr", "weight-decay", "ema"];

    /// <summary>The help lines every task's usage shares: the schedule, weight decay, non-finite steps, overlap.</summary>
    internal const string ScheduleUsage = """
          --schedule constant|step|cosine   learning-rate schedule (default constant): step multiplies the rate by
                         --lr-decay R (0.97) after every epoch from --lr-decay-after E (10) on, as char-rnn; cosine
                         anneals it to --min-lr F × lr (0) by the end of the run (needs --steps, --epochs or --time)
          --warmup N             raise the rate linearly over the first N steps (default 0)
          --weight-decay W       the optimizer's weight decay (default 0; adamw 0.01)
          --ema D                keep an exponential moving average of the weights with decay D (e.g. 0.999) and
                                 validate and save best/ with it (default 0: off)
          --skip-nonfinite       skip a step whose loss or gradient is NaN or infinite (counted) instead of stopping
          --overlap auto|on|off  under mpirun: sum each layer's gradients over the ranks while backward goes on below
                                 it (auto, the default: when the ranks span several machines; see docs/distributed.md)
        """;

    /// <summary>The schedule, weight decay and weight averaging from the flags.</summary>
    internal static TrainingSettings Schedule(CliArgs args, TrainingSettings s) => s with
    {
        Schedule = new LearningRateSchedule(args.Choice("schedule", "constant", LearningRateSchedule.Kinds),
            args.Double("lr-decay", 0.97, double.Epsilon, 1), args.Double("lr-decay-after", 10, 0),
            args.Int("warmup", 0, 0), args.Double("min-lr", 0, 0, 1)),
        WeightDecay = args.Double("weight-decay", 0, 0, 10),
        Ema = args.Double("ema", 0, 0, 0.999999),
    };

    /// <summary>The settings every task shares, from the flags (with the task's default batch); the evaluation and
    /// checkpoint intervals stay −1 ("once an epoch") until <see cref="OncePerEpoch"/> knows the data.</summary>
    internal static TrainingSettings SharedSettings(CliArgs args, string train, string? dev, int defaultBatch)
    {
        string optimizer = args.Choice("optimizer", "adam", TrainingSettings.Optimizers);
        var settings = Schedule(args, Intervals(args, new TrainingSettings { Data = "", DataSha256 = "", Optimizer = optimizer, EvalEvery = -1, CheckpointEvery = -1 }));
        return settings with
        {
            Data = Path.GetFullPath(train),
            DataSha256 = ModelDirectory.Sha256(train),
            Dev = dev == null ? null : Path.GetFullPath(dev),
            DevSha256 = dev == null ? null : ModelDirectory.Sha256(dev),
            Batch = args.Int("batch", defaultBatch, 1, 1 << 16),
            LearningRate = args.Double("lr", optimizer is "adam" or "adamw" ? 1e-3 : TrainingSettings.DefaultLearningRate(optimizer), double.Epsilon, 100),
            Clip = args.Double("clip", 5, 0),
            ClipValue = args.Double("clip-value", 0, 0),
            Seed = (ulong)args.Int("seed", 1, 0),
        };
    }

    /// <summary>Evaluate and checkpoint once an epoch of <paramref name="examples"/> unless told otherwise: dev scores
    /// are compared epoch to epoch, as Keras does. Then the settings are checked.</summary>
    internal static TrainingSettings OncePerEpoch(TrainingSettings settings, string task, int examples)
    {
        int stepsPerEpoch = Recurrent.Data.BucketedBatches.BatchesFor(examples, settings.Batch);
        settings = settings with
        {
            EvalEvery = settings.EvalEvery < 0 ? stepsPerEpoch : settings.EvalEvery,
            CheckpointEvery = settings.CheckpointEvery < 0 ? stepsPerEpoch : settings.CheckpointEvery,
        };
        settings.Validate(task);
        return settings;
    }
}
