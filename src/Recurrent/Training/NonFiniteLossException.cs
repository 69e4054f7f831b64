namespace Recurrent.Training;

/// <summary>
/// A training step's loss or gradient norm was NaN or infinite: the run stopped there, with nothing written after its
/// last checkpoint (whose steps were all finite). The message is the whole line the CLI prints.
/// </summary>
public sealed class NonFiniteLossException(long step, string what, long lastCheckpoint) : InvalidOperationException(
    $"step {step}: {what}; training stopped, the last checkpoint (step {lastCheckpoint}) is kept " +
    "(--skip-nonfinite skips such steps instead; a lower --lr or a --clip may avoid them)")
{
    /// <summary>The step (1-based, as in log.jsonl) whose loss or gradient was not finite.</summary>
    public long Step { get; } = step;
    /// <summary>The step of the checkpoint the model directory keeps.</summary>
    public long LastCheckpoint { get; } = lastCheckpoint;
}
