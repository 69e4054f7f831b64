using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The single-step cells in the loop they exist for, one that feeds the cell's output back into its next input
/// (<see cref="FeedbackLoop"/>): against finite differences and against PyTorch's nn.RNNCell / LSTMCell / GRUCell
/// (fixtures/cells/cell_reference.safetensors, written by make_cell_reference.py).
/// </summary>
public class RecurrentCellTests
{
    public static TheoryData<CellKind> Kinds() => new(Enum.GetValues<CellKind>());

    [Theory, MemberData(nameof(Kinds))]
    public void BackwardThroughAFeedbackLoopMatchesFiniteDifferences(CellKind kind)
    {
        var rng = new Rng(21);
        var cell = RecurrentCell.Create(kind, 4, 3, rng);
        foreach (var p in cell.Parameters()) GradCheck.RandomArray(rng, p.Value.Length, 0.8f).CopyTo(p.Value.Data, 0);
        var loop = FeedbackLoop.Random(cell, rng, steps: 3, batch: 2, feedback: 2);

        cell.ZeroGrad();
        loop.Loss();
        loop.Backward();
        GradCheck.Check("u", loop.U, loop.DU, loop.Loss);
        GradCheck.Check("h0", loop.H0, loop.DH0, loop.Loss);
        if (cell.HasCellState) GradCheck.Check("c0", loop.C0, loop.DC0, loop.Loss);
        foreach (var p in cell.Parameters())
            GradCheck.Check(p.Name, p.Value.Data, p.Grad.Data.ToArray(), loop.Loss);
        // The feedback matters: h0 reaches the loss through the cell and through x_0, and both parts are non-zero.
        Assert.Contains(loop.DH0, g => Math.Abs(g) > 1e-2f);
        Assert.Contains(loop.CellDH0, g => Math.Abs(g) > 1e-2f);
        Assert.Contains(loop.FeedbackDH0, g => Math.Abs(g) > 1e-2f);
    }

    [Fact]
    public void GradientChecksCatchAMissingFeedbackTerm()
    {
        // Leaving out the gradient that reaches h0 through x_0 must fail the check: the harness can fail.
        var rng = new Rng(22);
        var cell = RecurrentCell.Create(CellKind.Gru, 4, 3, rng);
        var loop = FeedbackLoop.Random(cell, rng, steps: 3, batch: 2, feedback: 2);
        loop.Loss();
        loop.Backward();
        Assert.ThrowsAny<Exception>(() => GradCheck.Check("h0", loop.H0, loop.CellDH0, loop.Loss));
    }

    [Fact]
    public void MatchesThePyTorchReference()
    {
        var file = SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "fixtures", "cells", "cell_reference.safetensors"));
        var modes = file.Metadata["cases"].Split(',');
        Assert.Equal(["rnn_tanh", "rnn_relu", "lstm", "gru"], modes);
        CellKind[] kinds = [CellKind.RnnTanh, CellKind.RnnRelu, CellKind.Lstm, CellKind.Gru];
        for (int n = 0; n < modes.Length; n++)
        {
            string c = modes[n] + ".";
            var u = file.Float(c + "u");
            var m = file.Float(c + "M");
            int T = u.Shape[0], B = u.Shape[1], U = u.Shape[2], H = m.Shape[0], F = m.Shape[1];
            var cell = RecurrentCell.Create(kinds[n], U + F, H);
            foreach (var p in cell.Parameters()) file.CopyTo(c + p.Name, p.Value);
            bool lstm = cell.HasCellState;
            var loop = new FeedbackLoop(cell, u.Data, m.Data, file.Float(c + "h0", [B, H]).Data, file.Float(c + "R", [T, B, H]).Data,
                lstm ? file.Float(c + "c0", [B, H]).Data : [], lstm ? file.Float(c + "Q", [T, B, H]).Data : [], T, B, F);

            cell.ZeroGrad();
            double loss = loop.Loss();
            AssertClose(c + "h", file.Float(c + "h", [T, B, H]).Data, Concat(T, cell.Hidden));
            if (lstm) AssertClose(c + "c", file.Float(c + "c", [T, B, H]).Data, Concat(T, cell.Cell));
            AssertClose(c + "loss", file.Float(c + "loss", [1]).Data, [(float)loss]);

            loop.Backward();
            foreach (var p in cell.Parameters()) AssertClose(c + "grad." + p.Name, file.Float(c + "grad." + p.Name, p.Shape).Data, p.Grad.Data);
            AssertClose(c + "grad.h0", file.Float(c + "grad.h0", [B, H]).Data, loop.DH0);
            AssertClose(c + "grad.u", file.Float(c + "grad.u", [T, B, U]).Data, loop.DU);
            if (lstm) AssertClose(c + "grad.c0", file.Float(c + "grad.c0", [B, H]).Data, loop.DC0);
        }
    }

    private delegate ReadOnlySpan<float> StateOf(int t);

    /// <summary>The states of steps 0 .. T − 1, one after the other.</summary>
    private static float[] Concat(int steps, StateOf state)
    {
        var all = new List<float>();
        for (int t = 0; t < steps; t++) all.AddRange(state(t).ToArray());
        return all.ToArray();
    }

    private static void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:G8}, got {actual[i]:G8}");
    }
}

/// <summary>
/// A decoder-like loop around a cell, the input of each step made from the cell's previous output (M [H, F] fixed):
///   x_t = [u_t ; tanh(h_{t−1} M)]  (u_t [B, U], I = U + F),   h_t (c_t) = cell(x_t, h_{t−1} (c_{t−1})),
///   loss = Σ_t Σ h_t ⊙ R_t (+ Σ_t Σ c_t ⊙ Q_t for the LSTM)
/// the same function make_cell_reference.py gives PyTorch. Loss() runs it forward; Backward() then runs the cell's
/// backward steps, passing each step's dL/dh_t from outside the cell (R_t and the feedback through x_{t+1}), and
/// leaves dL/du, dL/dh0 and dL/dc0 in DU, DH0 and DC0 (the parameters' gradients are added to their Grad).
/// </summary>
internal sealed class FeedbackLoop
{
    public readonly RecurrentCell Cell;
    public readonly float[] U, M, H0, C0, R, Q;
    public readonly int Steps, Batch, Feedback, MaxSteps;
    public readonly float[] DU, DH0, DC0;
    public readonly float[] CellDH0, FeedbackDH0;   // DH0's two parts: through the cell (its DH0), through x_0
    private readonly int _inputs;
    private readonly float[] _x, _f;     // x_t [B, I]; every step's tanh(h_{t−1} M) [T, B, F]

    /// <param name="maxSteps">what Begin is told (at least steps; default steps).</param>
    public FeedbackLoop(RecurrentCell cell, float[] u, float[] m, float[] h0, float[] r, float[] c0, float[] q, int steps, int batch,
        int feedback, int maxSteps = 0)
    {
        (Cell, U, M, H0, R, C0, Q) = (cell, u, m, h0, r, c0, q);
        (Steps, Batch, Feedback, MaxSteps) = (steps, batch, feedback, Math.Max(steps, maxSteps));
        _inputs = cell.InputSize - feedback;
        int H = cell.HiddenSize;
        Assert.Equal(steps * batch * _inputs, u.Length);
        Assert.Equal(H * feedback, m.Length);
        _x = new float[batch * cell.InputSize];
        _f = new float[steps * batch * feedback];
        DU = new float[u.Length];
        DH0 = new float[batch * H];
        DC0 = new float[cell.HasCellState ? batch * H : 0];
        CellDH0 = new float[batch * H];
        FeedbackDH0 = new float[batch * H];
    }

    public static FeedbackLoop Random(RecurrentCell cell, Rng rng, int steps, int batch, int feedback, int maxSteps = 0)
    {
        int H = cell.HiddenSize, n = steps * batch * H;
        bool lstm = cell.HasCellState;
        return new FeedbackLoop(cell, GradCheck.RandomArray(rng, steps * batch * (cell.InputSize - feedback)),
            GradCheck.RandomArray(rng, H * feedback), GradCheck.RandomArray(rng, batch * H), GradCheck.RandomArray(rng, n),
            lstm ? GradCheck.RandomArray(rng, batch * H) : [], lstm ? GradCheck.RandomArray(rng, n) : [], steps, batch, feedback, maxSteps);
    }

    public double Loss()
    {
        int B = Batch, H = Cell.HiddenSize, I = Cell.InputSize, F = Feedback, Ui = _inputs;
        Cell.Begin(MaxSteps, B, H0, C0);
        double loss = 0;
        for (int t = 0; t < Steps; t++)
        {
            ReadOnlySpan<float> hPrev = Cell.Hidden(t - 1);
            for (int b = 0; b < B; b++)
            {
                U.AsSpan((t * B + b) * Ui, Ui).CopyTo(_x.AsSpan(b * I, Ui));
                for (int j = 0; j < F; j++)
                {
                    double s = 0;
                    for (int k = 0; k < H; k++) s += (double)hPrev[b * H + k] * M[k * F + j];
                    _x[b * I + Ui + j] = _f[(t * B + b) * F + j] = (float)Math.Tanh(s);
                }
            }
            loss += GradCheck.Dot(Cell.Step(t, _x), R.AsSpan(t * B * H, B * H));
            if (Cell.HasCellState) loss += GradCheck.Dot(Cell.Cell(t), Q.AsSpan(t * B * H, B * H));
        }
        return loss;
    }

    public void Backward()
    {
        int B = Batch, H = Cell.HiddenSize, I = Cell.InputSize, F = Feedback, Ui = _inputs;
        var dh = new float[B * H];
        var dFeedback = new float[B * H]; // dL/dh_{t} through x_{t+1}'s feedback
        for (int t = Steps - 1; t >= 0; t--)
        {
            for (int i = 0; i < B * H; i++) dh[i] = R[t * B * H + i] + dFeedback[i];
            ReadOnlySpan<float> dc = Cell.HasCellState ? Q.AsSpan(t * B * H, B * H) : default;
            ReadOnlySpan<float> dx = Cell.BackwardStep(t, dh, dc);
            Array.Clear(dFeedback);
            for (int b = 0; b < B; b++)
            {
                dx.Slice(b * I, Ui).CopyTo(DU.AsSpan((t * B + b) * Ui, Ui));
                for (int j = 0; j < F; j++)
                {
                    float f = _f[(t * B + b) * F + j], dPre = dx[b * I + Ui + j] * (1 - f * f);
                    for (int k = 0; k < H; k++) dFeedback[b * H + k] += dPre * M[k * F + j];
                }
            }
        }
        Cell.EndBackward();
        Cell.DH0.CopyTo(CellDH0);
        dFeedback.CopyTo(FeedbackDH0, 0);
        for (int i = 0; i < B * H; i++) DH0[i] = CellDH0[i] + FeedbackDH0[i];
        if (Cell.HasCellState) Cell.DC0.CopyTo(DC0);
    }
}
