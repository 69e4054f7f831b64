using System.Diagnostics;
using Recurrent.Layers;
using Recurrent.Layers.Cells;
using Recurrent.Optimizers;
using Recurrent.Tensors;

namespace Recurrent.Benchmarks;

/// <summary>One phase of a training step: median seconds per step and the GEMM FLOPs it does (0 for elementwise work).</summary>
public readonly record struct PhaseTime(string Name, double Seconds, double Flops);

/// <summary>Where a training step's time goes: the phases, and the real step they are measured against.</summary>
/// <param name="Step">the real <see cref="CharLmBench.TrainStep"/>.</param>
/// <param name="Replica">the instrumented copy whose phases are timed.</param>
/// <param name="StepFlops">GEMM FLOPs of one step.</param>
public sealed record StepBreakdown(IReadOnlyList<PhaseTime> Phases, StepStats Step, StepStats Replica, double StepFlops)
{
    /// <summary>Step.Median − Σ phases: what the real step spends outside the phases.</summary>
    public double Overhead => Step.Median - Phases.Sum(p => p.Seconds);
}

/// <summary>
/// Where the time of an LSTM <see cref="CharLmBench"/> training step goes, measured without touching the layer's code:
/// an instrumented replica of the step that makes the same calls in the same order as RecurrentLayer and
/// RecurrentDirection (uni-directional, no dropout, full lengths, batch_first) — the same Gemm.Multiply shapes and
/// transposes, W_hh packed once per pass as the layer packs it, the same LstmKernels — on the model's own parameters,
/// reading a timestamp at every boundary between phases (within the time loop too, so the phases interleave as they do
/// in the layer). The replica computes the same step (a test checks its losses against the real one), so its phase
/// times add up to about the real step; the difference is reported as overhead. When the layer's algorithm changes,
/// this file must follow it.
/// </summary>
public sealed class LstmStepBreakdown
{
    public enum Phase
    {
        InputGemm, RecurrentGemmForward, GateKernelsForward, GateKernelsBackward, RecurrentGemmBackward,
        WeightGradientGemms, BiasGradients, InputGradientGemm, EmbeddingHeadLoss, Layout, ClipOptimizer,
    }

    public static readonly string[] PhaseNames =
    [
        "input GEMM X·W_ihᵀ (+bias fill)", "recurrent GEMMs fwd h·W_hhᵀ (+pack)", "gate kernels fwd", "gate kernels bwd",
        "recurrent GEMMs bwd dG·W_hh (+pack)", "weight-grad GEMMs dGᵀX, dGᵀH", "bias grads (column sums of dG)", "input-grad GEMM dG·W_ih",
        "embedding + head + loss", "batch_first ↔ time-major copies", "zero grad + clip + Adam",
    ];

    private readonly CharLmBench _model;
    private readonly int B, T, H, GH, E, L;
    private readonly Parameter[] _rnn;                    // per layer: W_ih, W_hh, b_ih, b_hh
    private readonly float[] _input, _dTop, _combinedBias, _dh, _dhPrev, _dc, _hN, _cN;
    private readonly float[][] _gates, _states, _cells, _outputs, _inputGrads;
    private readonly GemmPackedB[] _packedForward, _packedBackward;   // per layer: W_hhᵀ [H, 4H] and W_hh [4H, H]
    private readonly Tensor _output, _dInput;
    private readonly long[] _ticks = new long[Enum.GetValues<Phase>().Length];
    private long _last;

    public LstmStepBreakdown(CharLmBench model)
    {
        if (model.Cell != CellKind.Lstm) throw new ArgumentException($"LstmStepBreakdown: the model is {model.Cell}, not an LSTM");
        _model = model;
        (B, T, H, E, L) = (model.Batch, model.SeqLen, model.Hidden, CharLmBench.EmbeddingSize, model.Layers);
        GH = 4 * H;
        _rnn = model.Rnn.Parameters().ToArray();
        int rows = B * T;
        _input = new float[rows * E];
        _dTop = new float[rows * H];
        _combinedBias = new float[GH];
        _dh = new float[B * H];
        _dhPrev = new float[B * H];
        _dc = new float[B * H];
        _hN = new float[B * H];
        _cN = new float[B * H];
        _gates = Enumerable.Range(0, L).Select(_ => new float[rows * GH]).ToArray();
        _states = Enumerable.Range(0, L).Select(_ => new float[(T + 1) * B * H]).ToArray();
        _cells = Enumerable.Range(0, L).Select(_ => new float[(T + 1) * B * H]).ToArray();
        _outputs = Enumerable.Range(0, L).Select(_ => new float[rows * H]).ToArray();
        _inputGrads = Enumerable.Range(0, L).Select(k => new float[rows * (k == 0 ? E : H)]).ToArray();
        _packedForward = Enumerable.Range(0, L).Select(_ => new GemmPackedB(H, GH)).ToArray();
        _packedBackward = Enumerable.Range(0, L).Select(_ => new GemmPackedB(GH, H)).ToArray();
        _output = new Tensor(B, T, H);
        _dInput = new Tensor(B, T, E);
    }

    /// <summary>
    /// Alternates real and replica steps (after <see cref="StepTiming.Warmup"/> of each) until minSeconds of timed work
    /// and minSteps of each; every phase's figure is its median over the replica steps.
    /// </summary>
    public StepBreakdown Measure(double minSeconds, int minSteps)
    {
        for (int i = 0; i < StepTiming.Warmup; i++) { _model.TrainStep(); Step(); }
        var real = new List<double>();
        var replica = new List<double>();
        var phases = Enumerable.Range(0, _ticks.Length).Select(_ => new List<double>()).ToArray();
        double total = 0;
        while (total < minSeconds || real.Count < minSteps)
        {
            long start = Stopwatch.GetTimestamp();
            _model.TrainStep();
            real.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            Step();
            replica.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            for (int p = 0; p < _ticks.Length; p++) phases[p].Add((double)_ticks[p] / Stopwatch.Frequency);
            total += real[^1] + replica[^1];
        }
        var flops = StepFlops.Of(CellKind.Lstm, E, H, L, B, T, CharLmBench.Vocab);
        double[] phaseFlops = [flops.InputProjection, flops.RecurrentForward, 0, 0, flops.RecurrentBackward,
            flops.WeightGradients, 0, flops.InputGradients, flops.Head, 0, 0];
        var result = new PhaseTime[_ticks.Length];
        for (int p = 0; p < result.Length; p++) result[p] = new(PhaseNames[p], StepStats.MedianOf(phases[p]), phaseFlops[p]);
        return new StepBreakdown(result, StepStats.Of(real), StepStats.Of(replica), flops.Training);
    }

    /// <summary>One training step, as CharLmBench.TrainStep, with each phase's time in the tick counters; returns the loss.</summary>
    public float Step()
    {
        Array.Clear(_ticks);
        _last = Stopwatch.GetTimestamp();
        var m = _model;
        m.Optimizer.ZeroGrad();
        Lap(Phase.ClipOptimizer);

        var x = m.Embedding.Forward(m.Inputs, m.InputShape);
        Lap(Phase.EmbeddingHeadLoss);
        SwapFirstTwoAxes(x.Data, _input, B, T, E);
        Lap(Phase.Layout);
        for (int k = 0; k < L; k++) ForwardLayer(k);
        SwapFirstTwoAxes(_outputs[L - 1], _output.Data, T, B, H);
        Lap(Phase.Layout);

        float loss = m.Loss.Forward(m.Head.Forward(_output), m.Targets);
        var dy = m.Head.Backward(m.Loss.Backward());
        Lap(Phase.EmbeddingHeadLoss);
        SwapFirstTwoAxes(dy.Data, _dTop, B, T, H);
        Lap(Phase.Layout);
        float[] dTop = _dTop;
        for (int k = L - 1; k >= 0; k--)
        {
            BackwardLayer(k, dTop);
            dTop = _inputGrads[k];
        }
        SwapFirstTwoAxes(_inputGrads[0], _dInput.Data, T, B, E);
        Lap(Phase.Layout);
        m.Embedding.Backward(_dInput);
        Lap(Phase.EmbeddingHeadLoss);

        GradientClipping.ClipGlobalNorm(m.Parameters(), CharLmBench.MaxNorm);
        m.Optimizer.Step();
        Lap(Phase.ClipOptimizer);
        return loss;
    }

    /// <summary>RecurrentDirection.Forward for layer k: the input projection, then per step h·W_hhᵀ and the gate kernel.</summary>
    private void ForwardLayer(int k)
    {
        float[] x = k == 0 ? _input : _outputs[k - 1], gates = _gates[k], states = _states[k], cells = _cells[k], output = _outputs[k];
        int I = k == 0 ? E : H, rows = B * T;
        float[] wIh = _rnn[4 * k].Value.Data, wHh = _rnn[4 * k + 1].Value.Data, bIh = _rnn[4 * k + 2].Value.Data, bHh = _rnn[4 * k + 3].Value.Data;

        for (int g = 0; g < GH; g++) _combinedBias[g] = bIh[g] + bHh[g];
        for (int r = 0; r < rows; r++) _combinedBias.CopyTo(gates, r * GH);
        Gemm.Multiply(x, I, false, wIh, I, true, gates, GH, rows, GH, I, accumulate: true);
        Lap(Phase.InputGemm);

        // W_hh packed once per pass for the per-step GEMMs, unless the batch is small enough for dot products.
        bool packed = B > GemmSkinny.MaxRows;
        if (packed) _packedForward[k].Pack(wHh, H, transB: true);
        Lap(Phase.RecurrentGemmForward);
        Array.Clear(states, 0, B * H);   // h0 = c0 = 0
        Array.Clear(cells, 0, B * H);
        for (int t = 0; t < T; t++)
        {
            int prev = t * B * H, cur = (t + 1) * B * H;
            Span<float> gatesT = gates.AsSpan(t * B * GH, B * GH);
            if (packed) Gemm.Multiply(states.AsSpan(prev, B * H), H, false, _packedForward[k], gatesT, GH, B, accumulate: true);
            else Gemm.Multiply(states.AsSpan(prev, B * H), H, false, wHh, H, true, gatesT, GH, B, GH, H, accumulate: true);
            Lap(Phase.RecurrentGemmForward);
            for (int b = 0; b < B; b++)
            {
                Span<float> h = states.AsSpan(cur + b * H, H);
                LstmKernels.Forward(gatesT.Slice(b * GH, GH), cells.AsSpan(prev + b * H, H), cells.AsSpan(cur + b * H, H), h, H);
                h.CopyTo(output.AsSpan((t * B + b) * H, H));
            }
            Lap(Phase.GateKernelsForward);
        }
        states.AsSpan(T * B * H, B * H).CopyTo(_hN);   // h_N, c_N as the layer returns them
        cells.AsSpan(T * B * H, B * H).CopyTo(_cN);
        Lap(Phase.GateKernelsForward);
    }

    /// <summary>RecurrentDirection.Backward for layer k: per step (reversed) the gate kernel and dG·W_hh, then the big GEMMs.</summary>
    private void BackwardLayer(int k, float[] dOutput)
    {
        float[] x = k == 0 ? _input : _outputs[k - 1], gates = _gates[k], states = _states[k], cells = _cells[k], dx = _inputGrads[k];
        int I = k == 0 ? E : H, rows = B * T;
        Parameter wIh = _rnn[4 * k], wHh = _rnn[4 * k + 1], bIh = _rnn[4 * k + 2], bHh = _rnn[4 * k + 3];
        Span<float> dh = _dh, dhPrev = _dhPrev, dc = _dc;
        dh.Clear();
        dc.Clear();
        Lap(Phase.GateKernelsBackward);
        _packedBackward[k].Pack(wHh.Value.Data, H, transB: false);
        Lap(Phase.RecurrentGemmBackward);
        for (int t = T - 1; t >= 0; t--)
        {
            int prev = t * B * H, cur = (t + 1) * B * H;
            Span<float> gatesT = gates.AsSpan(t * B * GH, B * GH);
            for (int b = 0; b < B; b++)
            {
                Span<float> dhRow = dh.Slice(b * H, H);
                Kernels.Add(dhRow, dOutput.AsSpan((t * B + b) * H, H), dhRow);
                LstmKernels.Backward(gatesT.Slice(b * GH, GH), cells.AsSpan(prev + b * H, H), cells.AsSpan(cur + b * H, H),
                    dhRow, dc.Slice(b * H, H), H);
                dhPrev.Slice(b * H, H).Clear();
            }
            Lap(Phase.GateKernelsBackward);
            Gemm.Multiply(gatesT, GH, false, _packedBackward[k], dhPrev, H, B, accumulate: true);
            Lap(Phase.RecurrentGemmBackward);
            var swap = dh; dh = dhPrev; dhPrev = swap;
        }

        Gemm.Multiply(gates, GH, true, x, I, false, wIh.Grad.Data, I, GH, I, rows, accumulate: true);
        Gemm.Multiply(gates, GH, true, states.AsSpan(0, rows * H), H, false, wHh.Grad.Data, H, GH, H, rows, accumulate: true);
        Lap(Phase.WeightGradientGemms);
        Gemm.Multiply(gates, GH, false, wIh.Value.Data, I, false, dx, I, rows, I, GH);
        Lap(Phase.InputGradientGemm);
        AddColumnSums(gates, rows, bIh.Grad.Span);   // two passes over dG, as the layer makes them
        AddColumnSums(gates, rows, bHh.Grad.Span);
        Lap(Phase.BiasGradients);
    }

    private void AddColumnSums(float[] matrix, int rows, Span<float> sums)
    {
        for (int r = 0; r < rows; r++) Kernels.Add(sums, matrix.AsSpan(r * GH, GH), sums);
    }

    private void Lap(Phase phase)
    {
        long now = Stopwatch.GetTimestamp();
        _ticks[(int)phase] += now - _last;
        _last = now;
    }

    /// <summary>[P, Q, R] → [Q, P, R], as RecurrentLayer converts batch_first.</summary>
    private static void SwapFirstTwoAxes(float[] source, float[] destination, int p, int q, int r)
    {
        for (int i = 0; i < p; i++)
            for (int j = 0; j < q; j++)
                source.AsSpan((i * q + j) * r, r).CopyTo(destination.AsSpan((j * p + i) * r, r));
    }
}
