using Recurrent.Data;
using Recurrent.Distributed;
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
    /// <summary>The number of terms the mean loss of <see cref="TrainOn"/> on these examples averages over (sentences,
    /// tokens or target words): how a rank's share of a batch is weighted in data-parallel training.</summary>
    long LossTerms(int[] examples);
    /// <summary>Loss and metrics on the dev data, with the model in evaluation mode; each rank of
    /// <paramref name="group"/> scores its share and every rank returns the whole data's result.</summary>
    ValidationResult Evaluate(ICollective group);
}

/// <summary>
/// One step of minibatch training for a word-level task (B = sentences per batch):
///   batch k = step mod (batches per epoch) of epoch ⌊step / batches per epoch⌋, from <see cref="BucketedBatches"/>
///   (sentences of similar length together, an order that is a function of the seed and the epoch);
///   mean loss over the batch, backward, gradients clipped element-wise (--clip-value), then by global norm (--clip);
///   one optimizer step.
/// The batch is a function of the step and every random draw comes from a saved Rng, so a trainer built from a
/// checkpoint continues exactly as the uninterrupted run would have.
/// In data-parallel training each rank trains on a contiguous share of the batch; the gradients, each of its share's
/// mean loss, are weighted by the share's loss terms and summed over the ranks (<see cref="GradientReducer"/>), so
/// every rank takes the step one process would have taken on the whole batch.
/// </summary>
public sealed class WordTaskTrainer : ITaskTrainer
{
    /// <inheritdoc/>
    public ICollective Group { get; }
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
    private readonly GradientReducer _reducer;

    /// <summary>A trainer over <paramref name="task"/>'s examples in length-bucketed batches of the settings' batch,
    /// shuffled from its seed, continuing from <paramref name="progress"/>. In data-parallel training
    /// <paramref name="group"/> holds the ranks (default: this process alone) and <paramref name="overlap"/> sums
    /// gradients over them while backward goes on (for models with <see cref="IGradientHooks"/>).</summary>
    public WordTaskTrainer(IWordTask task, Optimizer optimizer, TrainingSettings settings, TrainingProgress progress,
        ICollective? group = null, bool overlap = false)
    {
        Task = task; Optimizer = optimizer; Settings = settings; Progress = progress;
        Group = group ?? SingleProcess.Instance;
        SameRun.Require(Group, settings, task.Model, progress);
        _batches = new BucketedBatches(task.TrainLengths, settings.Batch, settings.Seed);
        _reducer = new GradientReducer(Group, optimizer.Parameters, overlap);
        if (_reducer.Overlap && task.Model is IGradientHooks hooks) hooks.GradientsReady = _reducer.Ready;
        if (Group.Rank > 0) task.Model.DropoutRngState = RankRng.For(task.Model.DropoutRngState, progress.RankDropoutRngStates, Group.Rank);
    }

    /// <inheritdoc/>
    public StepResult Step()
    {
        long epoch = Progress.Step / StepsPerEpoch;
        int index = (int)(Progress.Step % StepsPerEpoch);
        int[] examples = _batches.Batch(epoch, index);
        Model.Training = true;
        Optimizer.ZeroGrad();
        var (loss, tokens) = Group.Size == 1 ? Task.TrainOn(examples) : TrainOnShare(examples);
        float norm = GradientClipping.Apply(Optimizer.Parameters, Settings.Clip, Settings.ClipValue);
        if (float.IsFinite(loss) && float.IsFinite(norm)) Optimizer.Step(); // a non-finite step changes no weight (TrainingRun stops or skips it)
        Progress.Step++;
        Progress.Tokens += tokens;
        return new StepResult(loss, norm, tokens);
    }

    // This rank's contiguous share of the batch (possibly none: a short last batch), then the gradients, the loss and
    // the words summed over the ranks.
    private (float Loss, long Tokens) TrainOnShare(int[] examples)
    {
        var (first, count) = Group.Share(examples.Length);
        int[] mine = examples[first..(first + count)];
        long terms = count == 0 ? 0 : Task.LossTerms(mine), allTerms = Task.LossTerms(examples);
        _reducer.Begin(terms, allTerms);
        var (loss, tokens) = count == 0 ? (0f, 0L) : Task.TrainOn(mine);
        _reducer.Finish();
        var sums = Group.Sum((double)loss * terms / allTerms, tokens);
        return ((float)sums[0], (long)sums[1]);
    }

    /// <summary>The task's dev evaluation, with the model in evaluation mode for it.</summary>
    public ValidationResult Validate()
    {
        bool wasTraining = Model.Training;
        Model.Training = false;
        try { return Task.Evaluate(Group); }
        finally { Model.Training = wasTraining; }
    }

    /// <inheritdoc/>
    public void Dispose() => _reducer.Dispose();
}
