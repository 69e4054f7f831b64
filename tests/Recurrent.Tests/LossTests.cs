using Recurrent.Losses;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class LossTests
{
    /// <summary>Mean over counted rows of log Σ e^x − x[target], in double.</summary>
    private static double ReferenceCrossEntropy(float[] logits, int classes, int[] targets, int ignore)
    {
        double sum = 0;
        int count = 0;
        for (int n = 0; n < targets.Length; n++)
        {
            if (targets[n] == ignore) continue;
            var row = logits.AsSpan(n * classes, classes).ToArray();
            double max = row.Max();
            sum += max + Math.Log(row.Sum(v => Math.Exp(v - max))) - row[targets[n]];
            count++;
        }
        return count == 0 ? 0 : sum / count;
    }

    [Fact]
    public void CrossEntropyMatchesReferenceAndFiniteDifferencesWithIgnoredRows()
    {
        var rng = new Rng(1);
        int[] targets = [2, -100, 0, 4, -100, 4]; // rows 1 and 4 ignored
        var logits = new Tensor(GradCheck.RandomArray(rng, 6 * 5, 3f), 2, 3, 5); // [..., C] with rank 3
        var ce = new SoftmaxCrossEntropy();
        float loss = ce.Forward(logits, targets);
        Assert.Equal(4, ce.Count);
        Assert.Equal(ReferenceCrossEntropy(logits.Data, 5, targets, -100), loss, 1e-6);
        Assert.Equal(loss * 4.0, ce.LastLossSum, 1e-5);
        var grad = ce.Backward();
        Assert.Equal(logits.Shape, grad.Shape);
        Assert.Contains("SoftmaxCrossEntropy: Backward without a matching Forward",
            Assert.Throws<InvalidOperationException>(() => ce.Backward()).Message); // once per Forward: the gradient is made in place
        for (int c = 0; c < 5; c++)
        {
            Assert.Equal(0f, grad.Data[1 * 5 + c]);
            Assert.Equal(0f, grad.Data[4 * 5 + c]);
        }
        var analytic = (float[])grad.Data.Clone();
        GradCheck.Check("dlogits", logits.Data, analytic, () =>
        {
            ce.Forward(logits, targets);
            return ce.LastLossSum / ce.Count;
        });
    }

    [Fact]
    public void CrossEntropyIsStableForHugeLogits()
    {
        var logits = new Tensor([1e4f, -1e4f, 0f, -1e30f, 1e30f, 3f], 2, 3);
        var ce = new SoftmaxCrossEntropy(ignoreIndex: -1);
        float loss = ce.Forward(logits, [1, 0]);
        Assert.Equal((2e4 + 2e30) / 2, loss, 1e24); // row 0: 1e4 − (−1e4); row 1: 1e30 − (−1e30)
        var grad = ce.Backward();
        Assert.All(grad.Data, v => Assert.True(float.IsFinite(v)));
        // All probability on each row's largest logit, the targets elsewhere: (p − onehot)/2.
        Assert.Equal([0.5f, -0.5f, 0f, -0.5f, 0.5f, 0f], grad.Data);

        float small = ce.Forward(new Tensor([1e4f, 1e4f], 1, 2), [0]);
        Assert.Equal(Math.Log(2), small, 1e-6);
    }

    [Fact]
    public void AllIgnoredGivesZero()
    {
        var ce = new SoftmaxCrossEntropy(ignoreIndex: 0);
        var logits = new Tensor(GradCheck.RandomArray(new Rng(2), 6), 2, 3);
        Assert.Equal(0f, ce.Forward(logits, [0, 0]));
        Assert.Equal(0, ce.Count);
        Assert.All(ce.Backward().Data, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BadTargetsAndShapesAreNamed()
    {
        var ce = new SoftmaxCrossEntropy();
        var logits = new Tensor(4, 3);
        Assert.Contains("target 3 at position 2", Assert.Throws<ArgumentException>(() => ce.Forward(logits, [0, 1, 3, 0])).Message);
        Assert.Contains("target -1 at position 0", Assert.Throws<ArgumentException>(() => ce.Forward(logits, [-1, 1, 2, 0])).Message);
        Assert.Contains("4 rows but there are 3 targets", Assert.Throws<ShapeException>(() => ce.Forward(logits, [0, 1, 2])).Message);
        Assert.Throws<InvalidOperationException>(() => new SoftmaxCrossEntropy().Backward());
    }

    [Fact]
    public void MeanSquaredErrorMatchesReferenceAndFiniteDifferences()
    {
        var rng = new Rng(3);
        var p = new Tensor(GradCheck.RandomArray(rng, 3 * 7), 3, 7);
        var t = new Tensor(GradCheck.RandomArray(rng, 3 * 7), 3, 7);
        var mse = new MeanSquaredError();
        double want = 0;
        for (int i = 0; i < p.Length; i++) want += ((double)p.Data[i] - t.Data[i]) * ((double)p.Data[i] - t.Data[i]);
        Assert.Equal(want / p.Length, mse.Forward(p, t), 1e-6);
        var grad = (float[])mse.Backward().Data.Clone();
        Assert.Contains("MeanSquaredError: Backward without a matching Forward",
            Assert.Throws<InvalidOperationException>(() => mse.Backward()).Message); // once per Forward: dp is made in place
        GradCheck.Check("dprediction", p.Data, grad, () => mse.Forward(p, t));
        Assert.Contains("MeanSquaredError.Forward", Assert.Throws<ShapeException>(() => mse.Forward(p, new Tensor(7, 3))).Message);
    }
}
