using Recurrent.Tensors;

namespace Recurrent.Analysis;

/// <summary>
/// The adding problem (Hochreiter &amp; Schmidhuber 1997; Le, Jaitly &amp; Hinton 2015), a regression that needs memory
/// over many steps. T = sequence length, B = batch. Each sequence has two input channels per step: x_t = (u_t, m_t)
/// with values u_t ~ U(0, 1) and a marker m_t that is 1 at exactly two steps and 0 elsewhere; the target, read after
/// the last step, is the sum of the two marked values.
///
/// Where the markers fall: one uniformly in the first half [0, ⌊T/2⌋), the other uniformly in the second half
/// [⌊T/2⌋, T), as the IRNN paper's experiments are usually reproduced (Le et al. only say "two random positions";
/// Hochreiter &amp; Schmidhuber put the first marker early). The first-half marker is what makes the task hard: its value
/// must be carried over at least T/2 steps (75 at T = 150, 200 at T = 400) to the end, so a network whose gradient
/// fades over that span cannot learn it, while the second value alone can be learnt over short spans and gives a
/// partial answer. Both markers in one sequence are always at different steps.
///
/// Baseline: the sum of two U(0, 1) has mean 1 and variance 2/12, so always answering 1 scores MSE 1/6 ≈ 0.167; a
/// network that learns nothing about the markers ends there. Batches are laid out time-major for RecurrentLayer:
/// input [T, B, 2] (channel 0 the value, 1 the marker), target [B, 1].
/// </summary>
public sealed class AddingProblem
{
    /// <summary>Var(u + v) for independent u, v ~ U(0, 1): the test MSE of always answering the mean, 1.</summary>
    public const double BaselineMse = 1.0 / 6.0;

    /// <summary>Input channels per step: the value and the marker.</summary>
    public const int Channels = 2;

    /// <summary>T: steps per sequence.</summary>
    public int Length { get; }

    /// <summary>The problem at sequence length T = <paramref name="length"/>; throws <see cref="ArgumentException"/> when it is below 2.</summary>
    public AddingProblem(int length)
    {
        if (length < 2) throw new ArgumentException($"AddingProblem: the sequence length must be at least 2 (got {length})");
        Length = length;
    }

    /// <summary>Tensors shaped for a batch of B sequences: input [T, B, 2], target [B, 1].</summary>
    public (Tensor Input, Tensor Target) NewBatch(int batch)
    {
        if (batch <= 0) throw new ArgumentException($"AddingProblem: the batch size must be positive (got {batch})");
        return (new Tensor(Length, batch, Channels), new Tensor(batch, 1));
    }

    /// <summary>Fills input [T, B, 2] and target [B, 1] with B fresh sequences drawn from rng (no allocation).</summary>
    public void Sample(Rng rng, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int T = Length;
        if (input.Rank != 3 || input.Dim(0) != T || input.Dim(2) != Channels)
            throw new ShapeException($"AddingProblem.Sample: input must be [{T}, B, {Channels}], got {Tensor.Describe(input.Shape)}");
        int B = input.Dim(1);
        if (!target.HasShape(B, 1))
            throw new ShapeException($"AddingProblem.Sample: target must be [{B}, 1], got {Tensor.Describe(target.Shape)}");
        var x = input.Span;
        var y = target.Span;
        int half = T / 2;
        for (int b = 0; b < B; b++)
        {
            for (int t = 0; t < T; t++)
            {
                x[(t * B + b) * Channels] = rng.NextFloat();
                x[(t * B + b) * Channels + 1] = 0f;
            }
            int first = rng.NextInt(half), second = half + rng.NextInt(T - half);
            x[(first * B + b) * Channels + 1] = 1f;
            x[(second * B + b) * Channels + 1] = 1f;
            y[b] = x[(first * B + b) * Channels] + x[(second * B + b) * Channels];
        }
    }

    /// <summary>
    /// A fixed test set of count sequences drawn from seed alone (so every cell and run is scored on the same one),
    /// cut into batches of at most batch sequences.
    /// </summary>
    public IReadOnlyList<(Tensor Input, Tensor Target)> TestSet(int count, int batch, ulong seed)
    {
        if (count <= 0) throw new ArgumentException($"AddingProblem.TestSet: the number of sequences must be positive (got {count})");
        if (batch <= 0) throw new ArgumentException($"AddingProblem.TestSet: the batch size must be positive (got {batch})");
        var rng = new Rng(seed);
        var batches = new List<(Tensor, Tensor)>();
        for (int start = 0; start < count; start += batch)
        {
            var (input, target) = NewBatch(Math.Min(batch, count - start));
            Sample(rng, input, target);
            batches.Add((input, target));
        }
        return batches;
    }
}
