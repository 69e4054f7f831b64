using Recurrent.Layers;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Analysis;

/// <summary>
/// Gradient flow across time in a recurrent layer trained on a loss at the last step only (the adding problem):
/// n(d) = ‖∂L_T/∂h_{T−1−d}‖ for d = T − t = 0, 1, … steps back, read with RecurrentLayer's per-step probe. The norm is
/// over the batch's whole [B, H] block at that step. Vanishing gradients show as n(d) falling geometrically,
///   n(d) ≈ n(0)·λᵈ,  λ from least squares of ln n(d) against d (the "decay rate per step", &lt; 1 vanishing, &gt; 1 exploding),
/// and norm_ratio_d = n(d)/n(0). For an RNN, λ is bounded by ρ(W_hh) times the largest activation slope, hence the
/// spectral radius reported next to it.
/// </summary>
public static class GradientFlow
{
    /// <summary>
    /// n(d) for d = 0 … T − 1 (index d: d steps before the last), for one batch; the regressor's gradients are left
    /// zeroed and its probe off.
    /// </summary>
    public static double[] NormsBack(AddingRegressor model, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Rnn.ProbeStateGradients = true;
        try { model.LossAndBackward(input, target); }
        finally { model.Rnn.ProbeStateGradients = false; }
        model.ZeroGrad();
        var g = model.Rnn.StateGradients;
        int T = g.Dim(1), block = g.Dim(2) * g.Dim(3);
        var norms = new double[T];
        // The probe carries the regressor's loss scale (which keeps these gradients out of float's subnormal range).
        for (int d = 0; d < T; d++)
            norms[d] = Math.Sqrt(Kernels.SumOfSquares(g.Span.Slice((T - 1 - d) * block, block))) / model.LastBackwardScale;
        return norms;
    }

    /// <summary>
    /// λ = exp(slope) of the least-squares line of ln n(d) against d over d = 0 … min(maxBack, count − 1); points that
    /// are 0 or not finite (underflowed, or a dead ReLU layer) are left out. NaN when fewer than two points remain.
    /// </summary>
    public static double DecayPerStep(IReadOnlyList<double> norms, int maxBack)
    {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int n = 0;
        for (int d = 0; d < Math.Min(norms.Count, maxBack + 1); d++)
        {
            if (!(norms[d] > 0) || !double.IsFinite(norms[d])) continue;
            double y = Math.Log(norms[d]);
            sx += d; sy += y; sxx += (double)d * d; sxy += d * y;
            n++;
        }
        if (n < 2) return double.NaN;
        double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        return Math.Exp(slope);
    }

    /// <summary>n(back)/n(0): NaN when the sequence is shorter than back + 1 steps or n(0) is 0.</summary>
    public static double Ratio(IReadOnlyList<double> norms, int back) =>
        back < norms.Count && norms[0] > 0 ? norms[back] / norms[0] : double.NaN;

    /// <summary>
    /// The spectral radii of W_hh's gate blocks ([G·H, H] → G blocks [H, H], PyTorch's gate order: RNN one block; LSTM
    /// i, f, g, o; GRU r, z, n), each by <see cref="SpectralRadius.Estimate"/>.
    /// </summary>
    public static IReadOnlyList<(string Gate, double Radius)> RecurrentSpectralRadii(RecurrentLayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        string[] gates = layer.Cell switch { CellKind.Lstm => ["i", "f", "g", "o"], CellKind.Gru => ["r", "z", "n"], _ => ["h"] };
        var w = layer.Parameters().First(p => p.Name == "weight_hh_l0").Value.Data;
        int H = layer.HiddenSize;
        return gates.Select((gate, i) => (gate, SpectralRadius.Estimate(w.AsSpan(i * H * H, H * H), H))).ToList();
    }

    /// <summary>
    /// The block whose radius stands for the cell in a one-number report: the RNN's W_hh, and for the gated cells the
    /// candidate's block (the LSTM's g, the GRU's n), the path by which h_{t−1} shapes what is written to the state.
    /// </summary>
    public static double CandidateRadius(IReadOnlyList<(string Gate, double Radius)> radii) =>
        radii.First(r => r.Gate is "h" or "g" or "n").Radius;

    /// <summary>The exploding case's model: an IRNN regressor whose W_hh = scale·I (spectral radius scale).</summary>
    public static AddingRegressor ExplodingModel(int hidden, float scale, ulong seed)
    {
        if (!(scale > 0)) throw new ArgumentException($"GradientFlow.ExplodingModel: the recurrent scale must be positive (got {scale})");
        var rng = new Rng(seed);
        var model = new AddingRegressor("irnn", hidden, rng);
        Init.Irnn(model.Rnn, rng, recurrentScale: scale);
        // Its gradients are huge already: no scale against subnormals (a scaled one would overflow and every step be
        // computed twice, LossAndBackward's redo).
        model.LossScale = 1;
        return model;
    }

    /// <summary>One step of the exploding case: the training loss before the step and the gradient norm before clipping.</summary>
    public readonly record struct ExplodingStep(int Step, double Loss, double GradientNorm);

    /// <summary>
    /// The exploding case: <see cref="ExplodingModel"/> (seed) trained on batches drawn from seed + 1 with plain SGD for up to steps steps, clipping the global gradient norm to clipNorm (0: no clipping).
    /// Stops after the first step whose loss or gradient norm is not finite (the weights are then NaN or ∞).
    /// </summary>
    public static List<ExplodingStep> Exploding(AddingProblem problem, int hidden, float scale, int steps, int batch, float lr,
        float clipNorm, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (steps <= 0) throw new ArgumentException($"GradientFlow.Exploding: steps must be positive (got {steps})");
        var model = ExplodingModel(hidden, scale, seed);
        var rng = new Rng(seed + 1);
        var optimizer = new Sgd(model.Parameters(), lr);
        var (input, target) = problem.NewBatch(batch);
        var result = new List<ExplodingStep>();
        for (int step = 1; step <= steps; step++)
        {
            problem.Sample(rng, input, target);
            double loss = model.LossAndBackward(input, target);
            double norm = clipNorm > 0
                ? GradientClipping.ClipGlobalNorm(optimizer.Parameters, clipNorm)
                : Math.Sqrt(optimizer.Parameters.Sum(p => Kernels.SumOfSquares(p.Grad.Span)));
            result.Add(new ExplodingStep(step, loss, norm));
            if (!double.IsFinite(loss) || !double.IsFinite(norm)) break;
            optimizer.Step();
        }
        return result;
    }
}
