using Recurrent.Distributed;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Training;

/// <summary>What one training step did.</summary>
/// <param name="Loss">the step's mean training loss (nats per predicted token, label or character).</param>
/// <param name="GradNorm">the global gradient norm before clipping.</param>
/// <param name="Tokens">input tokens the step read (characters or words), for throughput.</param>
public readonly record struct StepResult(float Loss, float GradNorm, long Tokens);

/// <summary>A model's score on the held-out data.</summary>
/// <param name="Loss">mean loss, in the unit of the training loss.</param>
/// <param name="MetricName">the task's selection metric in log.jsonl and --json ("dev_accuracy", "dev_f1"), or null when
/// the loss itself selects the best model (char-lm).</param>
/// <param name="Metric">its value, higher is better.</param>
public sealed record ValidationResult(double Loss, string? MetricName = null, double? Metric = null)
{
    /// <summary>Whether this result is better than the best so far: by the metric when there is one, else by the loss.</summary>
    public bool Improves(TrainingProgress progress) => Metric is { } m
        ? progress.BestMetric is not { } bestMetric || m > bestMetric
        : progress.BestValLoss is not { } best || Loss < best;
}

/// <summary>
/// A task's side of training, which <see cref="TrainingRun"/> drives the same way for every task: steps, validation,
/// samples (char-lm only) and checkpoints. The step's data position is a function of Progress.Step, so a trainer built
/// from a checkpoint continues exactly as the uninterrupted run would have.
/// </summary>
public interface ITaskTrainer : IDisposable
{
    /// <summary>The ranks of data-parallel training: every rank runs the same steps on its share of each batch;
    /// rank 0 alone logs, samples and checkpoints. One process by default.</summary>
    ICollective Group => SingleProcess.Instance;

    /// <summary>The model being trained.</summary>
    ITaskModel Model { get; }
    /// <summary>The optimizer over the model's trainable parameters.</summary>
    Optimizer Optimizer { get; }
    /// <summary>The run's settings (limits, intervals, batch, learning rate), as config.json's "training" stores them.</summary>
    TrainingSettings Settings { get; }
    /// <summary>Where training stands; <see cref="Step"/> advances it and checkpoints save it.</summary>
    TrainingProgress Progress { get; }
    /// <summary>Optimizer steps in one pass over the training data.</summary>
    long StepsPerEpoch { get; }
    /// <summary>Epochs done, fractional: Progress.Step / StepsPerEpoch.</summary>
    double Epoch => (double)Progress.Step / StepsPerEpoch;
    /// <summary>There is held-out data to <see cref="Validate"/> on.</summary>
    bool HasValidation { get; }

    /// <summary>
    /// One optimizer step on the next batch (a function of Progress.Step), which it increments; a step whose loss or gradient
    /// norm is not finite leaves the weights unchanged.
    /// </summary>
    StepResult Step();
    /// <summary>The model on the held-out data (only when <see cref="HasValidation"/>).</summary>
    ValidationResult Validate();
    /// <summary>A text the model generates while training, or null for tasks that do not generate.</summary>
    string? Sample(int length) => null;
    /// <summary>Tensors besides weights and optimizer moments that a resume needs (char-lm: the carried state); in
    /// data-parallel training every rank calls it before a checkpoint (it may gather from the ranks).</summary>
    IEnumerable<(string Name, Tensor Value)> ExtraState() => [];
    /// <summary>Ends what the trainer started (the thread that reduces gradients while backward runs).</summary>
    void IDisposable.Dispose() { }
}
