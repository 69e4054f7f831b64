using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Optimizers;

namespace Recurrent.Training;

/// <summary>A word-level task (classify, tag) as its trainer sees it: a model, its training examples and its dev score.</summary>
public interface IWordTask
{
    /// <summary>The model being trained.</summary>
    ITaskModel Model { get; }
    /// <summary>The parameters the optimizer updates (a frozen embedding left out).</summary>
    IEnumerable<Parameter> TrainableParameters();
    /// <summary>The length in words of each training example (for bucketing).</summary>
    int[] TrainLengths { get; }
    /// <summary>There is dev data to evaluate on.</summary>
    bool HasDev { get; }
    /// <summary>Forward, loss and backward on these training examples; gradients accumulate. Returns the mean loss
    /// and the words read.</summary>
    (float Loss, long Tokens) TrainOn(int[] examples);
    /// <summary>Loss and metrics on the dev data, with the model in evaluation mode.</summary>
    ValidationResult Evaluate();
}

/// <summary>
/// One step of minibatch training for a word-level task (B = sentences per batch):
///   batch k = step mod (batches per epoch) of epoch ⌊step / batches per epoch⌋, from <see cref="BucketedBatches"/>
///   (sentences of similar length together, an order that is a function of the seed and the epoch);
///   mean loss over the batch, backward, gradients clipped element-wise (--clip-value), then by global norm (--clip);
///   one optimizer step.
/// The batch is a function of the step and every random draw comes from a saved Rng, so a trainer built from a
/// checkpoint continues exactly as the uninterrupted run would have.
/// </summary>
public sealed class WordTaskTrainer : ITaskTrainer
{
    /// <summary>The task: model, training examples and dev evaluation.</summary>
    public IWordTask Task { get; }
    /// <inheritdoc/>
    public ITaskModel Model => Task.Model;
    /// <inheritdoc/>
    public Optimizer Optimizer { get; }
    /// <inheritdoc/>
    public TrainingSettings Settings { get; }
    /// <inheritdoc/>
    public TrainingProgress Progress { get; }
    /// <summary>Batches in one pass over the training examples.</summary>
    public long StepsPerEpoch => _batches.BatchesPerEpoch;
    /// <inheritdoc/>
    public bool HasValidation => Task.HasDev;

    private readonly BucketedBatches _batches;

    /// <summary>A trainer over <paramref name="task"/>'s examples in length-bucketed batches of the settings' batch, shuffled from its seed, continuing from <paramref name="progress"/>.</summary>
    public WordTaskTrainer(IWordTask task, Optimizer optimizer, TrainingSettings settings, TrainingProgress progress)
    {
        Task = task; Optimizer = optimizer; Settings = settings; Progress = progress;
        _batches = new BucketedBatches(task.TrainLengths, settings.Batch, settings.Seed);
    }

    /// <inheritdoc/>
    public StepResult Step()
    {
        long epoch = Progress.Step / StepsPerEpoch;
        int index = (int)(Progress.Step % StepsPerEpoch);
        int[] examples = _batches.Batch(epoch, index);
        Model.Training = true;
        Optimizer.ZeroGrad();
        var (loss, tokens) = Task.TrainOn(examples);
        float norm = GradientClipping.Apply(Optimizer.Parameters, Settings.Clip, Settings.ClipValue);
        if (float.IsFinite(loss) && float.IsFinite(norm)) Optimizer.Step(); // a non-finite step changes no weight (TrainingRun stops or skips it)
        Progress.Step++;
        Progress.Tokens += tokens;
        return new StepResult(loss, norm, tokens);
    }

    /// <summary>The task's dev evaluation, with the model in evaluation mode for it.</summary>
    public ValidationResult Validate()
    {
        bool wasTraining = Model.Training;
        Model.Training = false;
        try { return Task.Evaluate(); }
        finally { Model.Training = wasTraining; }
    }
}
