using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// SequencePooling: each kind's values by hand on tiny inputs, finite differences with ragged lengths for every kind
/// and direction count, padding that changes nothing, the attention weights' support, names and errors.
/// </summary>
public class SequencePoolingTests
{
    public static TheoryData<PoolingKind, int> KindsAndDirections()
    {
        var data = new TheoryData<PoolingKind, int>();
        foreach (var kind in Enum.GetValues<PoolingKind>())
            foreach (int directions in new[] { 1, 2 })
                data.Add(kind, directions);
        return data;
    }

    private static Tensor Random(Rng rng, params int[] shape) => new(GradCheck.RandomArray(rng, shape.Aggregate(1, (a, d) => a * d)), shape);

    /// <summary>x [T, B, F] stored from its rows: rows[t][b] = x[t, b, :].</summary>
    private static Tensor FromRows(float[][][] rows)
    {
        int T = rows.Length, B = rows[0].Length, F = rows[0][0].Length;
        return new Tensor(rows.SelectMany(r => r.SelectMany(v => v)).ToArray(), T, B, F);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    // T = 3, B = 2, F = 4; sequence 0 has 3 steps, sequence 1 has 2 (its step 2 is padding, 99s).
    private static readonly Tensor Small = FromRows([
        [[1, 2, 3, 4], [10, -20, 30, 40]],
        [[5, -6, 7, 8], [50, 60, -70, 80]],
        [[-9, 2, 11, 0], [99, 99, 99, 99]],
    ]);
    private static readonly int[] SmallLengths = [3, 2];

    [Fact]
    public void LastTakesTheFinalValidStep()
    {
        var y = new SequencePooling(PoolingKind.Last, 4).Forward(Small, SmallLengths);
        Assert.Equal([2, 4], y.Shape);
        Assert.Equal([-9, 2, 11, 0, 50, 60, -70, 80], y.Data);
    }

    [Fact]
    public void LastWithTwoDirectionsTakesTheReverseHalfAtStepZero()
    {
        var y = new SequencePooling(PoolingKind.Last, 4, directions: 2).Forward(Small, SmallLengths);
        Assert.Equal([-9, 2, 3, 4, 50, 60, 30, 40], y.Data);
    }

    [Fact]
    public void MeanDividesByTheLength()
    {
        var y = new SequencePooling(PoolingKind.Mean, 4).Forward(Small, SmallLengths);
        AssertClose([-1, -2f / 3, 7, 4, 30, 20, -20, 60], y.Data);
    }

    [Fact]
    public void MaxTakesEachFeaturesLargestValidValueAndATieGoesToTheFirstStep()
    {
        var pool = new SequencePooling(PoolingKind.Max, 4);
        var y = pool.Forward(Small, SmallLengths);
        Assert.Equal([5, 2, 11, 8, 50, 60, 30, 80], y.Data);

        // Feature 1 of sequence 0 is 2 at steps 0 and 2: the gradient goes to step 0 only.
        var dy = new Tensor([1, 2, 3, 4, 5, 6, 7, 8], 2, 4);
        var dx = pool.Backward(dy);
        float[] expected =
        [
            0, 2, 0, 0, /**/ 0, 0, 7, 0,
            1, 0, 0, 4, /**/ 5, 6, 0, 8,
            0, 0, 3, 0, /**/ 0, 0, 0, 0,
        ];
        Assert.Equal(expected, dx.Data);
    }

    [Fact]
    public void MaxPropagatesAValidNaNAndIgnoresPadding()
    {
        // Sequence 0 has a NaN at step 1 of feature 0; sequence 1 has NaN and +∞ only in its padding.
        var x = FromRows([
            [[1, 2], [3, 4]],
            [[float.NaN, 5], [float.NaN, float.PositiveInfinity]],
            [[7, 0], [0, 0]],
        ]);
        var pool = new SequencePooling(PoolingKind.Max, 2);
        var y = pool.Forward(x, [3, 1]);
        Assert.True(float.IsNaN(y[0, 0]));
        Assert.Equal([5f, 3f, 4f], y.Data[1..]);
        var dx = pool.Backward(new Tensor([1, 2, 3, 4], 2, 2));
        Assert.Equal([0, 0, 3, 4, /**/ 1, 2, 0, 0, /**/ 0, 0, 0, 0], dx.Data);
    }

    [Fact]
    public void AttentionIsASoftmaxOfQueryScoresOverTheValidSteps()
    {
        const int T = 4, B = 3, F = 3;
        var rng = new Rng(11);
        var pool = new SequencePooling(PoolingKind.Attention, F, rng: rng);
        var x = Random(rng, T, B, F);
        int[] lengths = [4, 1, 2];
        var y = pool.Forward(x, lengths);

        // The definition, in double, one step at a time.
        var w = pool.AttentionWeight!.Value;
        var bias = pool.AttentionBias!.Value;
        var q = pool.AttentionQuery!.Value;
        for (int b = 0; b < B; b++)
        {
            var scores = new double[lengths[b]];
            for (int t = 0; t < lengths[b]; t++)
                for (int i = 0; i < F; i++)
                {
                    double pre = bias[i];
                    for (int j = 0; j < F; j++) pre += w[i, j] * (double)x[t, b, j];
                    scores[t] += q[i] * Math.Tanh(pre);
                }
            double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
            for (int t = 0; t < T; t++)
            {
                double alpha = t < lengths[b] ? Math.Exp(scores[t] - max) / sum : 0;
                Assert.Equal(alpha, pool.Weights![b, t], 1e-6);
            }
            for (int f = 0; f < F; f++)
            {
                double want = 0;
                for (int t = 0; t < lengths[b]; t++) want += Math.Exp(scores[t] - max) / sum * x[t, b, f];
                Assert.Equal(want, y[b, f], 1e-6);
            }
        }
        Assert.Equal(x.Data.AsSpan(1 * F, F).ToArray(), y.Data.AsSpan(1 * F, F).ToArray()); // one step: α = 1
    }

    [Theory, MemberData(nameof(KindsAndDirections))]
    public void BackwardMatchesFiniteDifferences(PoolingKind kind, int directions)
    {
        const int T = 4, B = 3, F = 4;
        var rng = new Rng((ulong)(23 + (int)kind * 2 + directions));
        var pool = new SequencePooling(kind, F, directions, rng);
        var x = Random(rng, T, B, F);
        if (kind == PoolingKind.Max)
        {
            // Keep every feature's steps ≥ 0.15 apart, so moving one by eps never changes which is largest.
            for (int b = 0; b < B; b++)
                for (int f = 0; f < F; f++)
                {
                    int[] order = Enumerable.Range(0, T).OrderBy(_ => rng.NextUInt()).ToArray();
                    for (int t = 0; t < T; t++) x[t, b, f] = 0.25f * order[t] - 0.5f + rng.Uniform(-0.05f, 0.05f);
                }
        }
        int[] lengths = [4, 1, 3];
        var r = GradCheck.RandomArray(rng, B * F); // loss = Σ y ⊙ r
        double Loss() => GradCheck.Dot(pool.Forward(x, lengths).Span, r);

        pool.ZeroGrad();
        pool.Forward(x, lengths);
        var dx = pool.Backward(new Tensor(r, B, F)).Data.ToArray();
        Assert.Equal(T * B * F, dx.Length);
        GradCheck.Check("dx", x.Data, dx, Loss);
        for (int b = 0; b < B; b++)
            for (int t = lengths[b]; t < T; t++)
                Assert.All(dx.AsSpan((t * B + b) * F, F).ToArray(), v => Assert.Equal(0f, v));
        foreach (var p in pool.Parameters()) GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), Loss);
        Assert.Equal(kind == PoolingKind.Attention ? 3 : 0, pool.Parameters().Count());
    }

    [Theory, MemberData(nameof(KindsAndDirections))]
    public void PaddingChangesNothing(PoolingKind kind, int directions)
    {
        const int T = 5, B = 3, F = 6;
        var rng = new Rng(31);
        int[] lengths = [2, 5, 3];
        var x = Random(rng, T, B, F);
        var r = new Tensor(GradCheck.RandomArray(rng, B * F), B, F);
        var (y, dx, grads) = Run(new SequencePooling(kind, F, directions, new Rng(4)), x, lengths, r);

        // Other garbage past each length: the same bits.
        var garbage = x.Clone();
        for (int b = 0; b < B; b++)
            for (int t = lengths[b]; t < T; t++)
                for (int f = 0; f < F; f++) garbage[t, b, f] = rng.Uniform(-50f, 50f);
        var (y2, dx2, grads2) = Run(new SequencePooling(kind, F, directions, new Rng(4)), garbage, lengths, r);
        Assert.Equal(y, y2);
        Assert.Equal(dx, dx2);
        Assert.Equal(grads, grads2);

        // Each sequence alone, T = its length: its row of the padded batch.
        var totalGrads = new float[grads.Length][];
        for (int b = 0; b < B; b++)
        {
            int n = lengths[b];
            var alone = new Tensor(n, 1, F);
            for (int t = 0; t < n; t++) x.Data.AsSpan((t * B + b) * F, F).CopyTo(alone.Data.AsSpan(t * F, F));
            var (yAlone, dxAlone, gradsAlone) = Run(new SequencePooling(kind, F, directions, new Rng(4)), alone, [n],
                new Tensor(r.Data.AsSpan(b * F, F).ToArray(), 1, F));
            AssertClose(y.AsSpan(b * F, F), yAlone);
            for (int t = 0; t < n; t++) AssertClose(dx.AsSpan((t * B + b) * F, F), dxAlone.AsSpan(t * F, F));
            for (int i = 0; i < grads.Length; i++)
                totalGrads[i] = totalGrads[i] == null ? gradsAlone[i] : totalGrads[i].Zip(gradsAlone[i], (u, v) => u + v).ToArray();
        }
        // The batch's parameter gradient is the sum of the sequences' own.
        for (int i = 0; i < grads.Length; i++) AssertClose(grads[i], totalGrads[i], 1e-5);
    }

    private static (float[] Y, float[] Dx, float[][] Grads) Run(SequencePooling pool, Tensor x, int[] lengths, Tensor dy)
    {
        var y = pool.Forward(x, lengths).Data.ToArray();
        var dx = pool.Backward(dy).Data.ToArray();
        return (y, dx, pool.Parameters().Select(p => p.Grad.Data.ToArray()).ToArray());
    }

    [Fact]
    public void AttentionWeightsSumToOneOverValidStepsAndAreZeroPastTheLength()
    {
        const int T = 6, B = 4, F = 5;
        var rng = new Rng(41);
        var pool = new SequencePooling(PoolingKind.Attention, F, rng: rng);
        int[] lengths = [6, 1, 3, 4];
        var x = Random(rng, T, B, F);
        for (int i = 0; i < x.Length; i++) x.Data[i] *= 4; // sharper scores
        pool.Forward(x, lengths);
        var weights = pool.Weights!;
        Assert.Equal([B, T], weights.Shape);
        for (int b = 0; b < B; b++)
        {
            double sum = 0;
            for (int t = 0; t < T; t++)
            {
                float a = weights[b, t];
                if (t < lengths[b]) Assert.InRange(a, 0f, 1f);
                else Assert.Equal(0f, a);
                sum += a;
            }
            Assert.Equal(1.0, sum, 1e-6);
        }
        Assert.Equal(1f, weights[1, 0]);
        Assert.True(weights.Data.Distinct().Count() > 5, "the weights are not all alike"); // the query does something
    }

    [Fact]
    public void OnlyAttentionHasParametersAndWeights()
    {
        var rng = new Rng(7);
        var attention = new SequencePooling(PoolingKind.Attention, 16, rng: rng);
        Assert.Equal(["attention.weight[16, 16]", "attention.bias[16]", "attention.query[16]"],
            attention.Parameters().Select(p => $"{p.Name}{Tensor.Describe(p.Shape)}"));
        Assert.Null(attention.Weights); // before any Forward
        const float bound = 0.25f;
        foreach (var p in attention.Parameters())
        {
            Assert.All(p.Value.Data, v => Assert.InRange(v, -bound, bound));
            Assert.True(p.Value.Data.Max() > 0.5f * bound && p.Value.Data.Min() < -0.5f * bound, $"{p.Name} is not spread over ±1/√F");
        }
        // W and b are drawn as Linear(F, F) draws them, from the same generator, and q after them.
        var linear = new Linear(16, 16, rng: new Rng(7));
        var again = new SequencePooling(PoolingKind.Attention, 16, rng: new Rng(7));
        Assert.Equal(linear.Weight.Value.Data, again.AttentionWeight!.Value.Data);
        Assert.Equal(linear.Bias!.Value.Data, again.AttentionBias!.Value.Data);
        Assert.Equal(attention.AttentionQuery!.Value.Data, again.AttentionQuery!.Value.Data);

        foreach (var kind in new[] { PoolingKind.Last, PoolingKind.Mean, PoolingKind.Max })
        {
            var pool = new SequencePooling(kind, 4);
            Assert.Empty(pool.Parameters());
            pool.Forward(new Tensor(2, 1, 4), [2]);
            Assert.Null(pool.Weights);
            Assert.Null(pool.AttentionWeight);
        }
    }

    [Fact]
    public void NamesParseBackAndAnUnknownNameListsTheChoices()
    {
        foreach (var kind in Enum.GetValues<PoolingKind>()) Assert.Equal(kind, SequencePooling.Parse(SequencePooling.Name(kind)));
        Assert.Equal(["last", "mean", "max", "attention"], Enum.GetValues<PoolingKind>().Select(SequencePooling.Name));
        var e = Assert.Throws<ArgumentException>(() => SequencePooling.Parse("avg"));
        Assert.Equal("unknown pooling 'avg' (poolings: last, mean, max, attention)", e.Message);
    }

    [Fact]
    public void BuffersAreReusedWhileTheShapeRepeats()
    {
        var pool = new SequencePooling(PoolingKind.Attention, 3, rng: new Rng(8));
        var x = Random(new Rng(9), 4, 2, 3);
        var y = pool.Forward(x, [4, 2]);
        var weights = pool.Weights;
        var dx = pool.Backward(new Tensor(2, 3));
        Assert.Same(y, pool.Forward(x, [1, 3]));
        Assert.Same(weights, pool.Weights);
        Assert.Same(dx, pool.Backward(new Tensor(2, 3)));
        Assert.Equal([3, 3], pool.Forward(new Tensor(2, 3, 3), [1, 2, 2]).Shape);
    }

    [Fact]
    public void BadShapesAndLengthsNameTheLayer()
    {
        var pool = new SequencePooling(PoolingKind.Last, 6, directions: 2);
        Assert.Equal("SequencePooling(last, 6, directions=2).Forward: expected x [T, B, 6], got [3, 2, 5]",
            Assert.Throws<ShapeException>(() => pool.Forward(new Tensor(3, 2, 5), [1, 1])).Message);
        Assert.Contains("lengths has 1 entries for a batch of 2",
            Assert.Throws<ShapeException>(() => pool.Forward(new Tensor(3, 2, 6), [1])).Message);
        Assert.Contains("lengths[1] = 4 is outside 1..3",
            Assert.Throws<ArgumentException>(() => pool.Forward(new Tensor(3, 2, 6), [1, 4])).Message);
        Assert.Contains("lengths[0] = 0 is outside 1..3",
            Assert.Throws<ArgumentException>(() => pool.Forward(new Tensor(3, 2, 6), [0, 1])).Message);
        Assert.Throws<InvalidOperationException>(() => pool.Backward(new Tensor(2, 6)));
        pool.Forward(new Tensor(3, 2, 6), [3, 1]);
        Assert.Equal("SequencePooling(last, 6, directions=2).Backward: expected shape [2, 6], got [3, 6]",
            Assert.Throws<ShapeException>(() => pool.Backward(new Tensor(3, 6))).Message);
        Assert.Throws<ArgumentException>(() => new SequencePooling(PoolingKind.Mean, 4, directions: 3));
        Assert.Throws<ArgumentException>(() => new SequencePooling(PoolingKind.Last, 5, directions: 2));
        Assert.Throws<ArgumentException>(() => new SequencePooling(PoolingKind.Max, 0));
    }
}
