using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The cells against RecurrentLayer on a sequence without feedback, Advance against Step, arenas reused across
/// sequences of other shapes, PyTorch's names and initialization, and the errors a misuse gets.
/// </summary>
public class RecurrentCellBehaviourTests
{
    public static TheoryData<CellKind> Kinds() => new(Enum.GetValues<CellKind>());

    private static float[] Random(Rng rng, int n) => GradCheck.RandomArray(rng, n);

    private static void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:G8}, got {actual[i]:G8}");
    }

    public static TheoryData<CellKind, int, int, int, int> LayerCases()
    {
        var data = new TheoryData<CellKind, int, int, int, int>();
        foreach (var kind in Enum.GetValues<CellKind>())
        {
            data.Add(kind, 5, 3, 7, 19);    // H not a multiple of the kernels' 16 lanes
            data.Add(kind, 3, 64, 40, 48);  // large enough for threaded GEMMs (and the layer's loop cut by rows)
        }
        return data;
    }

    [Theory, MemberData(nameof(LayerCases))]
    public void ASequenceWithoutFeedbackEqualsRecurrentLayer(CellKind kind, int T, int B, int I, int H)
    {
        var rng = new Rng(31);
        var layer = new RecurrentLayer(kind, I, H, rng: rng);
        var cell = RecurrentCell.Create(kind, I, H, new Rng(99));
        foreach (var (from, to) in layer.Parameters().Zip(cell.Parameters())) from.Value.Data.CopyTo(to.Value.Data, 0);
        bool lstm = cell.HasCellState;
        var x = new Tensor(Random(rng, T * B * I), T, B, I);
        var h0 = new Tensor(Random(rng, B * H), 1, B, H);
        var c0 = lstm ? new Tensor(Random(rng, B * H), 1, B, H) : null;
        var r = new Tensor(Random(rng, T * B * H), T, B, H);
        var rh = new Tensor(Random(rng, B * H), 1, B, H);
        var rc = lstm ? new Tensor(Random(rng, B * H), 1, B, H) : null;

        var output = layer.Forward(x, h0, c0);
        var grads = layer.Backward(r, rh, rc);

        cell.Begin(T, B, h0.Data, c0 == null ? default : c0.Data);
        for (int t = 0; t < T; t++)
            AssertClose($"h[{t}]", output.Output.Data.AsSpan(t * B * H, B * H), cell.Step(t, x.Data.AsSpan(t * B * I, B * I)), 1e-5);
        AssertClose("h_n", output.HN.Data, cell.Hidden(T - 1), 1e-5);
        if (lstm) AssertClose("c_n", output.CN!.Data, cell.Cell(T - 1), 1e-5);
        var dh = new float[B * H];
        for (int t = T - 1; t >= 0; t--)
        {
            r.Data.AsSpan(t * B * H, B * H).CopyTo(dh);
            if (t == T - 1) Kernels.Add(dh, rh.Data, dh);
            var dx = cell.BackwardStep(t, dh, t == T - 1 && lstm ? rc!.Data : default);
            AssertClose($"dx[{t}]", grads.DInput.Data.AsSpan(t * B * I, B * I), dx, 1e-5);
        }
        cell.EndBackward();
        AssertClose("dh0", grads.DH0.Data, cell.DH0, 1e-5);
        if (lstm) AssertClose("dc0", grads.DC0!.Data, cell.DC0, 1e-5);
        foreach (var (expected, actual) in layer.Parameters().Zip(cell.Parameters()))
            AssertClose("grad." + actual.Name, expected.Grad.Data, actual.Grad.Data, 1e-5);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void AdvanceEqualsStepAndLeavesTheSequenceAlone(CellKind kind)
    {
        const int I = 6, H = 21, T = 4;
        foreach (int B in new[] { 2, 9 }) // the few-row dot products, and the blocked GEMM
        {
            var rng = new Rng(41);
            var cell = RecurrentCell.Create(kind, I, H, rng);
            var plain = RecurrentCell.Create(kind, I, H, new Rng(0));
            foreach (var (from, to) in cell.Parameters().Zip(plain.Parameters())) from.Value.Data.CopyTo(to.Value.Data, 0);
            bool lstm = cell.HasCellState;
            var x = Random(rng, T * B * I);
            var h0 = Random(rng, B * H);
            var c0 = lstm ? Random(rng, B * H) : [];

            // Advance between the steps of a sequence, twice: into separate states and in place.
            float[] hPrev = (float[])h0.Clone(), cPrev = (float[])c0.Clone(), h = new float[B * H], c = new float[c0.Length];
            float[] hInPlace = (float[])h0.Clone(), cInPlace = (float[])c0.Clone();
            cell.Begin(T, B, h0, c0);
            plain.Begin(T, B, h0, c0);
            for (int t = 0; t < T; t++)
            {
                var xt = x.AsSpan(t * B * I, B * I);
                var stepped = cell.Step(t, xt);
                cell.Advance(B, xt, hPrev, cPrev, h, c);
                cell.Advance(B, xt, hInPlace, cInPlace, hInPlace, cInPlace);
                AssertClose($"B={B} h[{t}]", stepped, h, 1e-6);
                Assert.Equal(h, hInPlace);
                if (lstm)
                {
                    AssertClose($"B={B} c[{t}]", cell.Cell(t), c, 1e-6);
                    Assert.Equal(c, cInPlace);
                }
                (hPrev, h) = (h, hPrev);
                (cPrev, c) = (c, cPrev);
                Assert.Equal(plain.Step(t, xt).ToArray(), stepped.ToArray()); // the sequence did not notice
            }
            var dh = Random(rng, B * H);
            for (int t = T - 1; t >= 0; t--)
                Assert.Equal(plain.BackwardStep(t, dh).ToArray(), cell.BackwardStep(t, dh).ToArray());
            Assert.Equal(plain.DH0.ToArray(), cell.DH0.ToArray());
        }
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ArenasGrowAndAreReusedAcrossShapes(CellKind kind)
    {
        // One cell runs (steps, batch, maxSteps) = small, larger (with spare steps), small again; each sequence must
        // equal a fresh cell's, and the gradients must add up over the three.
        const int I = 5, H = 7, F = 2;
        (int Steps, int Batch, int MaxSteps)[] shapes = [(3, 2, 3), (5, 4, 7), (2, 1, 2)];
        var rng = new Rng(51);
        var reused = RecurrentCell.Create(kind, I, H, rng);
        var sum = reused.Parameters().Select(p => new double[p.Value.Length]).ToArray();
        reused.ZeroGrad();
        foreach (var (steps, batch, maxSteps) in shapes)
        {
            var fresh = RecurrentCell.Create(kind, I, H, new Rng(0));
            foreach (var (from, to) in reused.Parameters().Zip(fresh.Parameters())) from.Value.Data.CopyTo(to.Value.Data, 0);
            var data = FeedbackLoop.Random(reused, rng, steps, batch, F, maxSteps);
            var reference = new FeedbackLoop(fresh, data.U, data.M, data.H0, data.R, data.C0, data.Q, steps, batch, F, maxSteps);

            Assert.Equal(reference.Loss(), data.Loss());
            for (int t = -1; t < steps; t++) Assert.Equal(fresh.Hidden(t).ToArray(), reused.Hidden(t).ToArray());
            fresh.ZeroGrad();
            reference.Backward();
            data.Backward();
            Assert.Equal(reference.DU, data.DU);
            Assert.Equal(reference.DH0, data.DH0);
            Assert.Equal(reference.DC0, data.DC0);
            int p = 0;
            foreach (var parameter in fresh.Parameters())
            {
                for (int i = 0; i < parameter.Grad.Length; i++) sum[p][i] += parameter.Grad.Data[i];
                p++;
            }
        }
        int q = 0;
        foreach (var parameter in reused.Parameters())
        {
            for (int i = 0; i < parameter.Grad.Length; i++) Assert.Equal(sum[q][i], parameter.Grad.Data[i], 1e-5);
            q++;
        }
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ASteadySequenceAllocatesNothing(CellKind kind)
    {
        // After the arenas have grown to a shape, whole sequences of it (or smaller) and Advance allocate nothing.
        const int I = 16, H = 40, T = 4, B = 24;
        var rng = new Rng(61);
        var cell = RecurrentCell.Create(kind, I, H, rng);
        bool lstm = cell.HasCellState;
        float[] x = Random(rng, B * I), dh = Random(rng, B * H), h = new float[B * H], c = new float[lstm ? B * H : 0];
        void Sequence(int steps, int batch)
        {
            cell.Begin(T, batch);
            for (int t = 0; t < steps; t++) cell.Step(t, x.AsSpan(0, batch * I));
            for (int t = steps - 1; t >= 0; t--) cell.BackwardStep(t, dh.AsSpan(0, batch * H), lstm ? dh.AsSpan(0, batch * H) : default);
            cell.EndBackward();
            cell.Advance(batch, x.AsSpan(0, batch * I), h.AsSpan(0, batch * H), c.AsSpan(0, lstm ? batch * H : 0),
                h.AsSpan(0, batch * H), c.AsSpan(0, lstm ? batch * H : 0));
        }
        Sequence(T, B);
        Sequence(T, B);
        // As in GemmTests: other tests' threads now and then move this thread's counter; an allocating call never
        // measures 0, so the least of five measurements must be 0.
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 5 && least > 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Sequence(T, B);
            Sequence(T - 1, B / 2);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
    }

    [Fact]
    public void NamesShapesAndInitializationArePyTorchs()
    {
        Assert.IsType<RnnCell>(RecurrentCell.Create(CellKind.RnnTanh, 3, 4));
        Assert.IsType<RnnCell>(RecurrentCell.Create(CellKind.RnnRelu, 3, 4));
        Assert.IsType<LstmCell>(RecurrentCell.Create(CellKind.Lstm, 3, 4));
        Assert.IsType<GruCell>(RecurrentCell.Create(CellKind.Gru, 3, 4));
        Assert.Equal("RNNCell(3, 4)", new RnnCell(3, 4).ToString());
        Assert.Equal("RNNCell(3, 4, nonlinearity=relu)", new RnnCell(3, 4, nonlinearity: "relu").ToString());
        Assert.Equal("relu", new RnnCell(3, 4, nonlinearity: "relu").Nonlinearity);
        Assert.Equal(CellKind.RnnRelu, new RnnCell(3, 4, nonlinearity: "relu").Kind);
        Assert.Equal("LSTMCell(3, 4)", new LstmCell(3, 4).ToString());
        Assert.Equal("GRUCell(3, 4)", new GruCell(3, 4).ToString());

        foreach (var (kind, gates) in new[] { (CellKind.RnnTanh, 1), (CellKind.Lstm, 4), (CellKind.Gru, 3) })
        {
            var cell = RecurrentCell.Create(kind, 30, 100, new Rng(7));
            Assert.Equal(kind == CellKind.Lstm, cell.HasCellState);
            Assert.Equal(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], cell.Parameters().Select(p => p.Name));
            Assert.Equal([[gates * 100, 30], [gates * 100, 100], [gates * 100], [gates * 100]], cell.Parameters().Select(p => p.Shape.ToArray()));
            const float bound = 0.1f; // 1/√H
            foreach (var p in cell.Parameters())
            {
                Assert.All(p.Value.Data, v => Assert.InRange(v, -bound, bound));
                Assert.True(p.Value.Data.Max() > 0.8f * bound && p.Value.Data.Min() < -0.8f * bound);
            }
            // The same draws as a one-layer RecurrentLayer from the same seed (weight_ih_l0, weight_hh_l0, ...).
            var layer = new RecurrentLayer(kind, 30, 100, rng: new Rng(7));
            foreach (var (a, b) in layer.Parameters().Zip(cell.Parameters())) Assert.Equal(a.Value.Data, b.Value.Data);
        }
    }

    [Fact]
    public void MisuseGetsClearExceptions()
    {
        var gru = new GruCell(3, 4, new Rng(1));
        var x = new float[2 * 3];
        var dh = new float[2 * 4];
        Assert.Equal("GRUCell(3, 4).Step called before Begin", Assert.Throws<InvalidOperationException>(() => gru.Step(0, x)).Message);
        Assert.Throws<InvalidOperationException>(() => gru.Hidden(-1));
        Assert.Throws<InvalidOperationException>(() => gru.BackwardStep(0, dh));
        Assert.Equal("GRUCell(3, 4).Begin: maxSteps must be positive (got 0)", Assert.Throws<ArgumentException>(() => gru.Begin(0, 2)).Message);
        Assert.Equal("GRUCell(3, 4).Begin: batch must be positive (got -1)", Assert.Throws<ArgumentException>(() => gru.Begin(2, -1)).Message);
        Assert.Equal("GRUCell(3, 4).Begin: expected h0 [2, 4] or none, got 7 floats",
            Assert.Throws<ShapeException>(() => gru.Begin(3, 2, new float[7])).Message);
        Assert.Equal("GRUCell(3, 4).Begin: c0 is given but only an LSTM has a cell state",
            Assert.Throws<ArgumentException>(() => gru.Begin(3, 2, dh, dh)).Message);

        gru.Begin(3, 2);
        Assert.Equal("GRUCell(3, 4).BackwardStep: no step has been taken", Assert.Throws<InvalidOperationException>(() => gru.BackwardStep(0, dh)).Message);
        Assert.Equal("GRUCell(3, 4).Step: t = 1 but the next step is 0 (steps go 0, 1, 2 ... in order)",
            Assert.Throws<ArgumentException>(() => gru.Step(1, x)).Message);
        Assert.Equal("GRUCell(3, 4).Step: expected x [2, 3], got 5 floats", Assert.Throws<ShapeException>(() => gru.Step(0, new float[5])).Message);
        gru.Step(0, x); // the failed calls changed nothing
        Assert.Throws<ArgumentException>(() => gru.Step(0, x));
        gru.Step(1, x);
        gru.Step(2, x);
        Assert.Equal("GRUCell(3, 4).Step: t = 3 is past the 3 steps given to Begin", Assert.Throws<ArgumentException>(() => gru.Step(3, x)).Message);
        Assert.Equal("GRUCell(3, 4).Hidden: t = 3 is outside -1..2 (h0 and the steps taken)", Assert.Throws<ArgumentException>(() => gru.Hidden(3)).Message);
        Assert.Throws<ArgumentException>(() => gru.Hidden(-2));
        Assert.Equal("GRUCell(3, 4).Cell: only an LSTM has a cell state", Assert.Throws<InvalidOperationException>(() => gru.Cell(0)).Message);

        Assert.Equal("GRUCell(3, 4).BackwardStep: t = 1 but the next backward step is 2 (from the last step taken down to 0)",
            Assert.Throws<ArgumentException>(() => gru.BackwardStep(1, dh)).Message);
        Assert.Equal("GRUCell(3, 4).BackwardStep: expected dh [2, 4] or none, got 9 floats",
            Assert.Throws<ShapeException>(() => gru.BackwardStep(2, new float[9])).Message);
        Assert.Equal("GRUCell(3, 4).BackwardStep: dc is given but only an LSTM has a cell state",
            Assert.Throws<ArgumentException>(() => gru.BackwardStep(2, dh, dh)).Message);
        gru.BackwardStep(2, dh);
        Assert.Equal("GRUCell(3, 4).Step: the sequence's backward pass has begun; Begin a new sequence first",
            Assert.Throws<InvalidOperationException>(() => gru.Step(3, x)).Message);
        Assert.Throws<ArgumentException>(() => gru.BackwardStep(2, dh));
        Assert.Equal("GRUCell(3, 4).DH0: the backward pass has not reached step 0", Assert.Throws<InvalidOperationException>(() => gru.DH0.Length).Message);
        Assert.Equal("GRUCell(3, 4).EndBackward: the backward pass has not reached step 0", Assert.Throws<InvalidOperationException>(gru.EndBackward).Message);
        gru.BackwardStep(1, default); // no gradient from outside at this step
        gru.BackwardStep(0, dh);
        Assert.Equal(8, gru.DH0.Length);
        Assert.Equal("GRUCell(3, 4).BackwardStep: the backward pass is past step 0 already",
            Assert.Throws<InvalidOperationException>(() => gru.BackwardStep(0, dh)).Message);
        Assert.Throws<InvalidOperationException>(() => gru.DC0.Length);
        gru.EndBackward();
        Assert.Equal("GRUCell(3, 4).EndBackward: already called for this sequence", Assert.Throws<InvalidOperationException>(gru.EndBackward).Message);
        Assert.Equal(8, gru.Hidden(2).Length); // still readable after the backward pass
        Assert.Equal(8, gru.DH0.Length);

        var h = new float[8];
        Assert.Equal("GRUCell(3, 4).Advance: expected x [2, 3], got 5 floats",
            Assert.Throws<ShapeException>(() => gru.Advance(2, new float[5], h, default, h, default)).Message);
        Assert.Equal("GRUCell(3, 4).Advance: expected hPrev [2, 4], got 4 floats",
            Assert.Throws<ShapeException>(() => gru.Advance(2, x, new float[4], default, h, default)).Message);
        Assert.Equal("GRUCell(3, 4).Advance: expected h [2, 4], got 4 floats",
            Assert.Throws<ShapeException>(() => gru.Advance(2, x, h, default, new float[4], default)).Message);
        Assert.Equal("GRUCell(3, 4).Advance: cell states are given but only an LSTM has one",
            Assert.Throws<ArgumentException>(() => gru.Advance(2, x, h, h, h, h)).Message);
        Assert.Throws<ArgumentException>(() => gru.Advance(0, x, h, default, h, default));

        var lstm = new LstmCell(3, 4, new Rng(2));
        Assert.Equal("LSTMCell(3, 4).Advance: expected cPrev [2, 4], got 0 floats",
            Assert.Throws<ShapeException>(() => lstm.Advance(2, x, h, default, h, default)).Message);
        Assert.Equal("LSTMCell(3, 4).Begin: expected c0 [2, 4] or none, got 3 floats",
            Assert.Throws<ShapeException>(() => lstm.Begin(1, 2, default, new float[3])).Message);
        Assert.Equal("LSTMCell(3, 4).DC0: the backward pass has not reached step 0", Assert.Throws<InvalidOperationException>(() => lstm.DC0.Length).Message);
        lstm.Begin(1, 2);
        Assert.Equal("LSTMCell(3, 4).Cell: t = 0 is outside -1..-1 (h0 and the steps taken)", Assert.Throws<ArgumentException>(() => lstm.Cell(0)).Message);
        Assert.Equal(new float[8], lstm.Cell(-1).ToArray()); // c0 defaults to zeros

        Assert.Equal("RNNCell: nonlinearity must be \"tanh\" or \"relu\" (got \"sigmoid\")",
            Assert.Throws<ArgumentException>(() => new RnnCell(3, 4, nonlinearity: "sigmoid")).Message);
        Assert.Throws<ArgumentException>(() => new LstmCell(0, 4));
        Assert.Throws<ArgumentException>(() => new GruCell(3, 0));
        Assert.Throws<ArgumentException>(() => RecurrentCell.Create((CellKind)17, 3, 4));
    }
}
