using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Finite-difference checks of RecurrentLayer.Backward on tiny sizes (I, H, T, B = 3, 4, 3, 2 or so), for every cell,
/// 1 and 2 layers, both directions, with initial states, with and without per-sequence lengths. The loss is
/// Σ output⊙R + Σ h_n⊙Rh (+ Σ c_n⊙Rc), the same loss the PyTorch reference files use.
/// </summary>
public class RecurrentLayerGradientTests
{
    public static TheoryData<CellKind, int, bool, bool, bool> Cases()
    {
        var data = new TheoryData<CellKind, int, bool, bool, bool>();
        foreach (var cell in Enum.GetValues<CellKind>())
            foreach (var (layers, bidirectional) in new[] { (1, false), (1, true), (2, false), (2, true) })
                foreach (bool withLengths in new[] { false, true })
                    data.Add(cell, layers, bidirectional, withLengths, layers == 2 && !withLengths);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardMatchesFiniteDifferences(CellKind cell, int layers, bool bidirectional, bool withLengths, bool batchFirst)
    {
        const int I = 3, H = 4, T = 4, B = 3;
        var rng = new Rng(17);
        var layer = new RecurrentLayer(cell, I, H, layers, bidirectional, batchFirst: batchFirst, rng: rng);
        int D = bidirectional ? 2 : 1;
        var problem = new Problem(layer, rng, T, B, withLengths ? [4, 1, 2] : null);

        problem.Backward();
        GradCheck.Check("input", problem.Input.Data, problem.Grads.DInput.Data, problem.Loss);
        GradCheck.Check("h0", problem.H0.Data, problem.Grads.DH0.Data, problem.Loss);
        if (cell == CellKind.Lstm) GradCheck.Check("c0", problem.C0!.Data, problem.Grads.DC0!.Data, problem.Loss);
        foreach (var p in layer.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), problem.Loss);
        Assert.Equal(layers * D * 4, layer.Parameters().Count());
    }

    [Fact]
    public void GradientChecksCatchAWrongBackward()
    {
        // The harness must be able to fail: a gradient off by 1% of one element is reported.
        var rng = new Rng(3);
        var layer = new RecurrentLayer(CellKind.Lstm, 3, 4, rng: rng);
        var problem = new Problem(layer, rng, 3, 2, null);
        problem.Backward();
        var wrong = problem.Grads.DInput.Data.ToArray();
        wrong[1] += 0.05f + 0.05f * Math.Abs(wrong[1]);
        Assert.ThrowsAny<Exception>(() => GradCheck.Check("input", problem.Input.Data, wrong, problem.Loss));
    }

    /// <summary>A layer with random input, states and loss weights; Loss() runs Forward and returns the scalar.</summary>
    internal sealed class Problem
    {
        public readonly RecurrentLayer Layer;
        public readonly Tensor Input, H0, R, Rh;
        public readonly Tensor? C0, Rc;
        public readonly int[]? Lengths;
        public RecurrentGradients Grads;

        public Problem(RecurrentLayer layer, Rng rng, int steps, int batch, int[]? lengths)
        {
            Layer = layer;
            Lengths = lengths;
            int states = layer.NumLayers * layer.NumDirections, H = layer.HiddenSize, width = layer.NumDirections * H;
            Input = Random(rng, layer.BatchFirst ? [batch, steps, layer.InputSize] : [steps, batch, layer.InputSize]);
            H0 = Random(rng, [states, batch, H]);
            R = Random(rng, layer.BatchFirst ? [batch, steps, width] : [steps, batch, width]);
            Rh = Random(rng, [states, batch, H]);
            if (layer.Cell == CellKind.Lstm)
            {
                C0 = Random(rng, [states, batch, H]);
                Rc = Random(rng, [states, batch, H]);
            }
        }

        public double Loss()
        {
            var o = Layer.Forward(Input, H0, C0, Lengths);
            double loss = GradCheck.Dot(o.Output.Data, R.Data) + GradCheck.Dot(o.HN.Data, Rh.Data);
            if (o.CN != null) loss += GradCheck.Dot(o.CN.Data, Rc!.Data);
            return loss;
        }

        public void Backward()
        {
            Layer.ZeroGrad();
            Loss();
            Grads = Layer.Backward(R, Rh, Rc);
        }

        private static Tensor Random(Rng rng, int[] shape)
        {
            var t = new Tensor(shape);
            for (int i = 0; i < t.Length; i++) t.Data[i] = rng.Uniform(-1f, 1f);
            return t;
        }
    }
}
