using Recurrent.Analysis;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>The adding problem's data, its regressor (finite differences), the IRNN init and the gradient-flow helpers.</summary>
public class AddingProblemTests
{
    [Fact]
    public void EachSequenceHasOneMarkerPerHalfAndTheTargetIsTheirSum()
    {
        var problem = new AddingProblem(9);
        var (x, y) = problem.NewBatch(50);
        problem.Sample(new Rng(3), x, y);
        for (int b = 0; b < 50; b++)
        {
            var marked = Enumerable.Range(0, 9).Where(t => x[t, b, 1] != 0).ToList();
            Assert.Equal(2, marked.Count);
            Assert.True(marked[0] < 4 && marked[1] >= 4, $"markers at {marked[0]}, {marked[1]}");
            Assert.All(marked, t => Assert.Equal(1f, x[t, b, 1]));
            Assert.Equal(x[marked[0], b, 0] + x[marked[1], b, 0], y[b, 0]);
            for (int t = 0; t < 9; t++) Assert.InRange(x[t, b, 0], 0f, 1f);
        }
    }

    [Fact]
    public void AlwaysAnsweringOneScoresTheBaseline()
    {
        // Var(u + v) = 1/6 for u, v ~ U(0, 1): a large test set's MSE of the constant 1 is close to it.
        var test = new AddingProblem(20).TestSet(20_000, 5000, seed: 11);
        double sum = 0;
        int n = 0;
        foreach (var (_, target) in test)
            foreach (float v in target.Span) { sum += (v - 1.0) * (v - 1.0); n++; }
        Assert.Equal(20_000, n);
        Assert.Equal(AddingProblem.BaselineMse, sum / n, 0.005);
        Assert.Equal(4, test.Count);
    }

    [Fact]
    public void TheTestSetDependsOnTheSeedAlone()
    {
        var problem = new AddingProblem(12);
        var a = problem.TestSet(30, 8, seed: 5);
        var b = problem.TestSet(30, 8, seed: 5);
        var c = problem.TestSet(30, 8, seed: 6);
        Assert.Equal([8, 8, 8, 6], a.Select(t => t.Target.Length));
        Assert.Equal(a[3].Input.Data, b[3].Input.Data);
        Assert.NotEqual(a[0].Input.Data, c[0].Input.Data);
    }

    [Fact]
    public void BadShapesAndSizesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new AddingProblem(1));
        var problem = new AddingProblem(5);
        Assert.Throws<ShapeException>(() => problem.Sample(new Rng(1), new Tensor(4, 2, 2), new Tensor(2, 1)));
        Assert.Throws<ShapeException>(() => problem.Sample(new Rng(1), new Tensor(5, 2, 2), new Tensor(3, 1)));
        Assert.Throws<ArgumentException>(() => new AddingRegressor("elman", 4, new Rng(1)));
    }

    [Fact]
    public void IrnnInitIsIdentityZeroBiasesAndSmallInputWeights()
    {
        var layer = new RecurrentLayer(CellKind.RnnRelu, 2, 6, numLayers: 2, rng: new Rng(1));
        Init.Irnn(layer, new Rng(2));
        foreach (var p in layer.Parameters())
        {
            if (p.Name.StartsWith("weight_hh"))
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) Assert.Equal(i == j ? 1f : 0f, p.Value[i, j]);
            else if (p.Name.StartsWith("bias")) Assert.All(p.Value.Data, v => Assert.Equal(0f, v));
            else
            {
                Assert.All(p.Value.Data, v => Assert.InRange(v, -0.006f, 0.006f));
                Assert.Contains(p.Value.Data, v => v != 0);
            }
        }
        Init.Irnn(layer, new Rng(2), recurrentScale: 1.5f);
        Assert.Equal(1.5, GradientFlow.CandidateRadius(GradientFlow.RecurrentSpectralRadii(layer)), 4);
        Assert.Throws<ArgumentException>(() => Init.Irnn(new RecurrentLayer(CellKind.RnnTanh, 2, 3), new Rng(1)));
    }

    public static TheoryData<string> Cells() => new(AddingRegressor.CellNames);

    [Theory, MemberData(nameof(Cells))]
    public void RegressorBackwardMatchesFiniteDifferences(string cell)
    {
        var problem = new AddingProblem(4);
        var (x, y) = problem.NewBatch(3);
        problem.Sample(new Rng(8), x, y);
        var model = new AddingRegressor(cell, 3, new Rng(4));
        // The IRNN's tiny input weights make every gradient tiny: scale them up so the check has something to see.
        if (cell == "irnn") Init.Normal(model.Rnn.Parameters().First(p => p.Name == "weight_ih_l0").Value, 0.5f, new Rng(6));
        model.ZeroGrad();
        model.LossAndBackward(x, y);
        foreach (var p in model.Parameters())
            GradCheck.Check($"{cell} {p.Name}", p.Value.Data, p.Grad.Data.ToArray(), () => model.Loss(x, y), atol: 2e-4);
    }

    [Fact]
    public void TrainingReportsACurveFromStepZeroAndLowersTheLoss()
    {
        var problem = new AddingProblem(6);
        var test = problem.TestSet(200, 100, seed: 2);
        var model = new AddingRegressor("gru", 8, new Rng(1));
        var seen = new List<int>();
        var curve = model.Train(problem, new AddingTraining(60, 16, 1e-2f, EvalEvery: 25), new Rng(3), test, (step, _) => seen.Add(step));
        Assert.Equal([0, 25, 50, 60], curve.Points.Select(p => p.Step));
        Assert.Equal(seen, curve.Points.Select(p => p.Step));
        Assert.True(curve.FinalMse < curve.Points[0].TestMse, $"test MSE {curve.Points[0].TestMse} → {curve.FinalMse}");
        Assert.Equal(curve.FinalMse, model.TestMse(test), 6);
        Assert.Throws<ArgumentException>(() => model.Train(problem, new AddingTraining(1, 0, 1e-2f), new Rng(3), test));
    }

    [Fact]
    public void TheLearningRateDropsToATenthAfterDropAt()
    {
        var settings = new AddingTraining(100, 4, 0.02f, DropAt: 0.75);
        Assert.Equal(0.02f, settings.RateAt(1));
        Assert.Equal(0.02f, settings.RateAt(75));
        Assert.Equal(0.02f / 10, settings.RateAt(76));
        Assert.Equal(0.02f, new AddingTraining(100, 4, 0.02f).RateAt(100));
        Assert.Throws<ArgumentException>(() => new AddingTraining(100, 4, 0.02f, DropAt: 1.5).Validate());
    }

    [Fact]
    public void NormsBackAreTheProbesNormsCountedFromTheLastStep()
    {
        var problem = new AddingProblem(7);
        var (x, y) = problem.NewBatch(4);
        problem.Sample(new Rng(2), x, y);
        var model = new AddingRegressor("rnn_tanh", 5, new Rng(3));
        var norms = GradientFlow.NormsBack(model, x, y);
        Assert.False(model.Rnn.ProbeStateGradients);
        Assert.All(model.Parameters(), p => Assert.All(p.Grad.Data, g => Assert.Equal(0f, g)));

        model.Rnn.ProbeStateGradients = true;
        model.LossAndBackward(x, y);
        var probe = model.Rnn.StateGradients.Span;
        for (int d = 0; d < 7; d++)
        {
            double sum = 0;
            foreach (float v in probe.Slice((6 - d) * 20, 20)) sum += (double)v * v;
            Assert.Equal(Math.Sqrt(sum) / AddingRegressor.DefaultLossScale, norms[d], 6);
        }
        // The last step's gradient is the readout's: row b is W_o·2(ŷ_b − y_b)/B.
        float[] w = model.Output.Weight.Value.Data;
        var last = new Tensor(model.Rnn.Forward(x).HN.Span.ToArray(), 4, 5);
        var prediction = model.Output.Forward(last).Span.ToArray();
        double expected = 0;
        for (int b = 0; b < 4; b++)
        {
            double dy = 2.0 * (prediction[b] - y[b, 0]) / 4;
            for (int j = 0; j < 5; j++) expected += dy * w[j] * dy * w[j];
        }
        Assert.Equal(Math.Sqrt(expected), norms[0], 5);
    }

    [Fact]
    public void TheLossScaleLeavesTheParameterGradientsAsTheyWere()
    {
        // A power-of-two scale is exact: gradients that stay normal floats are the same bits with and without it.
        var problem = new AddingProblem(10);
        var (x, y) = problem.NewBatch(3);
        problem.Sample(new Rng(4), x, y);
        var model = new AddingRegressor("gru", 4, new Rng(2));
        model.LossAndBackward(x, y);
        var scaled = model.Parameters().Select(p => p.Grad.Data.ToArray()).ToList();
        model.LossScale = 1;
        model.LossAndBackward(x, y);
        Assert.Equal(scaled, model.Parameters().Select(p => p.Grad.Data.ToArray()).ToList());
        Assert.Throws<ArgumentException>(() => model.LossScale = 3);
        Assert.Throws<ArgumentException>(() => model.LossScale = 0);
    }

    [Fact]
    public void AGradientTooLargeForTheScaleIsRedoneWithoutIt()
    {
        // W_hh = 1.15·I over 200 steps: the prediction (about 1.15^200) times ∂ŷ/∂W makes gradients near 1.15^400 ≈ 2e24,
        // finite floats, but not times 2⁶⁰ ≈ 1e18.
        var problem = new AddingProblem(200);
        var (x, y) = problem.NewBatch(3);
        problem.Sample(new Rng(4), x, y);
        var model = GradientFlow.ExplodingModel(4, 1.15f, 5);
        model.LossAndBackward(x, y);
        var unscaled = model.Parameters().Select(p => p.Grad.Data.ToArray()).ToList();
        Assert.Contains(unscaled, g => g.Any(v => Math.Abs(v) > 1e21f));
        Assert.All(unscaled, g => Assert.All(g, v => Assert.True(float.IsFinite(v))));

        model.LossScale = AddingRegressor.DefaultLossScale;
        model.LossAndBackward(x, y);
        Assert.Equal(1, model.LastBackwardScale);
        Assert.Equal(unscaled, model.Parameters().Select(p => p.Grad.Data.ToArray()).ToList());
        var norms = GradientFlow.NormsBack(model, x, y);
        Assert.True(norms[199] > 1e11 * norms[0], $"n(199)/n(0) = {norms[199] / norms[0]:E2}");
    }

    [Fact]
    public void DecayAndRatioOfAGeometricSequence()
    {
        var norms = Enumerable.Range(0, 150).Select(d => 3 * Math.Pow(0.9, d)).ToList();
        norms[40] = 0;                       // an underflowed point is left out of the fit
        Assert.Equal(0.9, GradientFlow.DecayPerStep(norms, 200), 9);
        Assert.Equal(0.9, GradientFlow.DecayPerStep(norms, 20), 9);
        Assert.Equal(Math.Pow(0.9, 100), GradientFlow.Ratio(norms, 100), 9);
        Assert.True(double.IsNaN(GradientFlow.Ratio(norms, 150)));
        Assert.True(double.IsNaN(GradientFlow.DecayPerStep([1.0], 10)));
    }

    [Fact]
    public void ClippingKeepsTheExplodingCaseFinite()
    {
        var problem = new AddingProblem(60);
        var model = GradientFlow.ExplodingModel(8, 1.3f, seed: 1);
        var (x, y) = problem.NewBatch(8);
        problem.Sample(new Rng(1), x, y);
        var norms = GradientFlow.NormsBack(model, x, y);
        Assert.True(GradientFlow.DecayPerStep(norms, 200) > 1.1, "the gradient grows going back");

        var unclipped = GradientFlow.Exploding(problem, 8, 1.3f, steps: 20, batch: 8, lr: 0.01f, clipNorm: 0, seed: 1);
        var clipped = GradientFlow.Exploding(problem, 8, 1.3f, steps: 20, batch: 8, lr: 0.01f, clipNorm: 1, seed: 1);
        Assert.False(double.IsFinite(unclipped[^1].Loss) && double.IsFinite(unclipped[^1].GradientNorm), "without clipping it blows up");
        Assert.True(unclipped.Count < 20);
        Assert.Equal(20, clipped.Count);
        Assert.All(clipped, s => Assert.True(double.IsFinite(s.Loss) && double.IsFinite(s.GradientNorm)));
    }
}
