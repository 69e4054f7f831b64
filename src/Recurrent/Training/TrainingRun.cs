using System.Diagnostics;
using Recurrent.Distributed;
using Recurrent.Layers;

namespace Recurrent.Training;

/// <summary>What a run reports as it goes; the CLI turns it into a progress line and samples, the tests ignore it.</summary>
public interface ITrainingObserver
{
    /// <summary>After every step; <see cref="TrainingStatus.EtaSeconds"/> is null when no limit bounds the run.</summary>
    void OnStep(TrainingStatus status) { }
    /// <summary>After every logged step, with the line written to log.jsonl.</summary>
    void OnLog(TrainLogEntry entry) { }
    /// <summary>When the run samples (tasks that generate): the step and the text.</summary>
    void OnSample(long step, string text) { }
}

/// <summary>Where a run stands after a step, for a progress line.</summary>
/// <param name="Loss">this step's training loss.</param>
/// <param name="Validation">the latest validation (loss and the task's metric), if any.</param>
/// <param name="Step">optimizer steps taken over all runs.</param>
/// <param name="Epoch">epochs done, fractional.</param>
/// <param name="TokensPerSecond">training throughput of this run so far.</param>
/// <param name="Seconds">wall-clock training time of the model, over all runs.</param>
/// <param name="EtaSeconds">estimated seconds to the nearest limit, or null when no limit bounds the run.</param>
public readonly record struct TrainingStatus(long Step, double Epoch, float Loss, double TokensPerSecond,
    double Seconds, double? EtaSeconds, ValidationResult? Validation);

/// <summary>The numbers a finished run reports (the JSON of `recurrent train --json`).</summary>
/// <param name="TrainLoss">mean training loss over the last (up to) 100 steps; NaN if none ran.</param>
/// <param name="TokensPerSecond">training throughput of this run (optimizer steps only, not evaluation).</param>
/// <param name="Seconds">wall-clock training time of the model over all runs.</param>
/// <param name="Validation">the last validation (loss and the task's metric), if any.</param>
/// <param name="Steps">optimizer steps taken over all runs.</param>
/// <param name="Epochs">epochs done, fractional.</param>
/// <param name="Parameters">the model's parameter count, in floats.</param>
/// <param name="StepsThisRun">steps this run took.</param>
public sealed record TrainingResult(long Steps, double Epochs, double TrainLoss, double TokensPerSecond,
    double Seconds, long Parameters, long StepsThisRun, ValidationResult? Validation)
{
    /// <summary>The last validation's loss, or null when there was none.</summary>
    public double? ValLoss => Validation?.Loss;
    /// <summary>Steps of this run whose loss or gradient norm was NaN or infinite and that changed nothing
    /// (<see cref="TrainingRun.SkipNonFinite"/>).</summary>
    public long SkippedNonFinite { get; init; }
    /// <summary>Mean wall-clock seconds of one optimizer step of this run (forward, backward, the sum over the ranks,
    /// the update; not evaluation); 0 when none ran.</summary>
    public double SecondsPerStep { get; init; }
}

/// <summary>
/// The training loop around any task's <see cref="ITaskTrainer"/>: runs steps until a limit (total steps, epochs or
/// seconds for the model) is reached or cancellation is requested, and on schedule logs to log.jsonl, evaluates on the
/// held-out data (saving best/ when it improves), samples (tasks that generate), and checkpoints the model directory —
/// always once more at the end.
/// A step whose loss or gradient norm is NaN or infinite changes no weight (the trainers skip the optimizer step); the
/// run then stops with a <see cref="NonFiniteLossException"/> before anything more is written, so the model directory
/// keeps its last checkpoint, all of whose steps were finite — or, with <see cref="SkipNonFinite"/>, goes on to the next
/// step, counting the skipped ones (in log.jsonl and the result).
/// In data-parallel training (<see cref="ITaskTrainer.Group"/>) every rank runs this loop in step: after each step the
/// ranks agree on rank 0's clock and on whether any rank was asked to stop, so they take the same decisions (limits,
/// schedule, evaluation, checkpoints) at the same step; only rank 0 logs, samples and writes the model directory.
/// </summary>
public sealed class TrainingRun(ITaskTrainer trainer, string dir)
{
    private const int RecentSteps = 100, FirstSampleSteps = 100;
    private const double FirstSampleSeconds = 30;

    /// <summary>Skip non-finite steps and go on (--skip-nonfinite) instead of stopping at the first.</summary>
    public bool SkipNonFinite { get; init; }

    /// <summary>
    /// Trains until a limit or <paramref name="cancel"/>, reporting to <paramref name="observer"/>, and checkpoints at the end.
    /// Throws <see cref="NonFiniteLossException"/> at the first non-finite step unless <see cref="SkipNonFinite"/>, and
    /// <see cref="ArgumentException"/> for a cosine schedule without a limit.
    /// </summary>
    public TrainingResult Run(ITrainingObserver observer, CancellationToken cancel = default)
    {
        var s = trainer.Settings;
        s.Schedule.RequireLimit(s);
        var progress = trainer.Progress;
        var group = trainer.Group;
        bool root = group.IsRoot();
        double agreedSeconds = progress.Seconds; // the clock every rank decides by: rank 0's, as of the last step
        bool agreedStop = false;
        string log = Path.Combine(dir, Checkpoint.LogFile);
        var clock = Stopwatch.StartNew();
        double secondsBefore = progress.Seconds, stepSeconds = 0;
        long stepsThisRun = 0;
        var recent = new Queue<float>();
        double windowLoss = 0, windowSeconds = 0, windowTokens = 0, tokensThisRun = 0;
        int windowSteps = 0;
        ValidationResult? lastVal = null;
        long lastCheckpoint = progress.Step, lastEval = -1, skipped = 0;
        bool sampled = false;
        bool averaged = trainer.Optimizer.AverageDecay != null;

        while (!LimitReached() && !StopRequested())
        {
            if (!s.Schedule.IsConstant)
                trainer.Optimizer.LearningRate = (float)(s.LearningRate * s.Schedule.Factor(progress.Step, trainer.Epoch, RunFraction()));
            long t0 = Stopwatch.GetTimestamp();
            var (loss, norm, tokens) = trainer.Step();
            double dt = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            stepSeconds += dt;
            stepsThisRun++;
            tokensThisRun += tokens;
            long step = progress.Step;
            bool finite = float.IsFinite(loss) && float.IsFinite(norm);
            if (!finite && !SkipNonFinite)
                throw new NonFiniteLossException(step, float.IsFinite(loss) ? $"the gradient norm is {Invariant(norm)}" : $"the loss is {Invariant(loss)}", lastCheckpoint);
            if (finite)
            {
                windowLoss += loss; windowSteps++;
                recent.Enqueue(loss);
                if (recent.Count > RecentSteps) recent.Dequeue();
            }
            else skipped++;
            windowSeconds += dt; windowTokens += tokens;
            progress.Seconds = secondsBefore + clock.Elapsed.TotalSeconds;
            if (group.Size > 1)
            {
                var agreed = group.Sum(cancel.IsCancellationRequested ? 1.0 : 0.0, root ? progress.Seconds : 0);
                (agreedStop, agreedSeconds) = (agreed[0] > 0, agreed[1]);
            }

            bool last = LimitReached() || StopRequested();
            bool evaluate = trainer.HasValidation && ((s.EvalEvery > 0 && step % s.EvalEvery == 0) || last);
            double? rawValLoss = null;
            if (evaluate)
            {
                // With averaged weights (--ema) the scores and best/ are the average's; the weights being trained are
                // scored too, for the log.
                if (averaged) rawValLoss = trainer.Validate().Loss;
                lastVal = ValidateAverage(() =>
                {
                    var val = trainer.Validate();
                    if (val.Improves(progress))
                    {
                        progress.BestValLoss = val.Loss;
                        progress.BestMetric = val.Metric;
                        progress.BestStep = step;
                        if (root) Checkpoint.SaveBest(dir, trainer.Model, s, step);
                    }
                    return val;
                });
                lastEval = step;
                progress.Seconds = secondsBefore + clock.Elapsed.TotalSeconds;
            }
            if (evaluate || step % s.LogEvery == 0 || last)
            {
                // A window of skipped steps only has no loss (NaN, written as null).
                var entry = new TrainLogEntry(step, trainer.Epoch, windowSteps == 0 ? double.NaN : windowLoss / windowSteps,
                    evaluate ? lastVal!.Loss : null, windowTokens / windowSeconds, progress.Seconds, trainer.Optimizer.LearningRate, norm,
                    evaluate ? lastVal!.MetricName : null, evaluate ? lastVal!.Metric : null,
                    PerCharacter: trainer.Model.Task == Models.CharLanguageModelConfig.Task)
                { SkippedNonFinite = skipped, RawValLoss = rawValLoss };
                if (root) TrainLog.Append(log, entry);
                observer.OnLog(entry);
                windowLoss = 0; windowSteps = 0; windowSeconds = 0; windowTokens = 0;
            }
            // Samples every SampleEvery steps, and the first of a run early (its 100th step or 30 s), so that a short
            // run with the defaults shows one.
            bool sampleDue = s.SampleEvery > 0 && (step % s.SampleEvery == 0
                || (!sampled && (stepsThisRun == FirstSampleSteps || clock.Elapsed.TotalSeconds >= FirstSampleSeconds)));
            if (root && sampleDue && s.SampleLength > 0 && trainer.Sample(s.SampleLength) is { } sample)
            {
                observer.OnSample(step, sample);
                sampled = true;
            }
            if ((s.CheckpointEvery > 0 && step % s.CheckpointEvery == 0) || last)
            {
                progress.Seconds = secondsBefore + clock.Elapsed.TotalSeconds;
                Save();
                lastCheckpoint = step;
            }
            observer.OnStep(new TrainingStatus(step, trainer.Epoch, loss, tokensThisRun / stepSeconds,
                progress.Seconds, Eta(stepSeconds / stepsThisRun), lastVal));
        }

        // A run that trained nothing (its limits were already reached) still reports the model's validation score.
        if (lastEval != progress.Step && trainer.HasValidation) lastVal = ValidateAverage(trainer.Validate);
        progress.Seconds = secondsBefore + clock.Elapsed.TotalSeconds;
        if (lastCheckpoint != progress.Step) Save();
        return new TrainingResult(progress.Step, trainer.Epoch, recent.Count == 0 ? double.NaN : recent.Average(x => (double)x),
            stepsThisRun == 0 ? 0 : tokensThisRun / stepSeconds, progress.Seconds,
            trainer.Model.ParameterCount(), stepsThisRun, lastVal)
        { SkippedNonFinite = skipped, SecondsPerStep = stepsThisRun == 0 ? 0 : stepSeconds / stepsThisRun };

        static string Invariant(float x) => x.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // Every rank gathers what the checkpoint holds (a char-lm's carried state is shared out, each rank's dropout
        // stream is its own); rank 0 writes it.
        void Save()
        {
            var extra = trainer.ExtraState().ToArray();
            progress.RankDropoutRngStates = group.Size == 1 ? [] : DropoutStreams();
            if (root) Checkpoint.Save(dir, trainer.Model, s, trainer.Optimizer, progress, extra);
        }

        // Runs validate with the averaged weights in the parameters when there are some, and puts the trained ones back.
        ValidationResult ValidateAverage(Func<ValidationResult> validate)
        {
            if (!averaged) return validate();
            trainer.Optimizer.SwapAverage();
            try { return validate(); }
            finally { trainer.Optimizer.SwapAverage(); }
        }

        // The clock limits and schedules decide by: this process's, or in data-parallel training rank 0's as of the
        // last step, the same on every rank.
        double Seconds() => group.Size == 1 ? progress.Seconds : agreedSeconds;

        uint[][] DropoutStreams()
        {
            var mine = System.Runtime.InteropServices.MemoryMarshal.AsBytes(trainer.Model.DropoutRngState.AsSpan()).ToArray();
            return [.. group.AllGather(mine).Skip(1).Select(b => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(b).ToArray())];
        }

        bool StopRequested() => group.Size == 1 ? cancel.IsCancellationRequested : agreedStop;

        bool LimitReached() =>
            (s.MaxSteps is { } n && progress.Step >= n)
            || (s.MaxEpochs is { } e && progress.Step >= (long)Math.Ceiling(e * trainer.StepsPerEpoch))
            || (s.MaxSeconds is { } t && Seconds() >= t);

        // How far the run is towards its nearest limit, for schedules that anneal over the run.
        double RunFraction()
        {
            double f = 0;
            if (s.MaxSteps is { } n) f = Math.Max(f, (double)progress.Step / n);
            if (s.MaxEpochs is { } e) f = Math.Max(f, trainer.Epoch / e);
            if (s.MaxSeconds is { } t) f = Math.Max(f, Seconds() / t);
            return Math.Min(f, 1);
        }

        double? Eta(double secondsPerStep)
        {
            double? eta = null;
            void Consider(double value) => eta = eta is { } current ? Math.Min(current, value) : value;
            if (s.MaxSteps is { } n) Consider((n - progress.Step) * secondsPerStep);
            if (s.MaxEpochs is { } e) Consider(((long)Math.Ceiling(e * trainer.StepsPerEpoch) - progress.Step) * secondsPerStep);
            if (s.MaxSeconds is { } t) Consider(t - progress.Seconds);
            return eta is { } x ? Math.Max(0, x) : null;
        }
    }
}
