using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Attention (every kind) against finite differences, a PyTorch reference (fixtures/attention/attention_reference.safetensors,
/// written by make_attention_reference.py), itself with and without padding, Attend against Step, and one layer
/// reused across batch shapes against fresh ones.
/// </summary>
public class AttentionTests
{
    public static TheoryData<AttentionKind> Kinds => new(Enum.GetValues<AttentionKind>());

    // ------------------------------------------------------------------ helpers

    /// <summary>Q = 3 (K for luong-dot), K = 4, A = 5; parameters ~ U(−scale, scale) when scale is given.</summary>
    private static Attention Make(AttentionKind kind, ulong seed, float? scale = 1f, int K = 4)
    {
        var rng = new Rng(seed);
        var attention = Attention.Create(kind, kind == AttentionKind.LuongDot ? K : 3, K, 5, rng);
        if (scale is float sc)
            foreach (var p in attention.Parameters()) GradCheck.RandomArray(rng, p.Value.Length, sc).CopyTo(p.Value.Data, 0);
        return attention;
    }

    /// <summary>Everything a batch produces: contexts [T, B, K], weights [T, B, S], dL/dq [T, B, Q], dL/dk [B, S, K] and
    /// the parameter gradients (Parameters() order).</summary>
    private sealed record Pass(float[] Contexts, float[] Weights, float[] DQueries, float[] DKeys, float[][] Grads);

    /// <summary>
    /// One batch: SetKeys, T Steps, BackwardStep from T − 1 to 0 with dL/dc_t = dContexts[t], EndBackward.
    /// Parameter gradients are zeroed first unless accumulate.
    /// </summary>
    private static Pass Run(Attention attention, float[] keys, int S, int[] lengths, float[] queries, float[] dContexts, int T,
        bool accumulate = false)
    {
        if (!accumulate) attention.ZeroGrad();
        int B = lengths.Length, Q = attention.QuerySize, K = attention.KeySize;
        attention.SetKeys(keys, B, S, lengths, T);
        var contexts = new float[T * B * K];
        var weights = new float[T * B * S];
        for (int t = 0; t < T; t++) attention.Step(t, queries.AsSpan(t * B * Q, B * Q), contexts.AsSpan(t * B * K, B * K));
        for (int t = 0; t < T; t++) attention.Weights(t).CopyTo(weights.AsSpan(t * B * S, B * S));
        var dq = new float[T * B * Q];
        for (int t = T - 1; t >= 0; t--) attention.BackwardStep(t, dContexts.AsSpan(t * B * K, B * K), dq.AsSpan(t * B * Q, B * Q));
        var dk = attention.EndBackward().ToArray();
        return new Pass(contexts, weights, dq, dk, attention.Parameters().Select(p => p.Grad.Data.ToArray()).ToArray());
    }

    /// <summary>Σ_t c_t·g_t in double: the loss whose gradient with respect to c_t is g_t.</summary>
    private static double Loss(Attention attention, float[] keys, int S, int[] lengths, float[] queries, float[] g, int T)
    {
        int B = lengths.Length, Q = attention.QuerySize, K = attention.KeySize;
        attention.SetKeys(keys, B, S, lengths, T);
        var c = new float[B * K];
        double loss = 0;
        for (int t = 0; t < T; t++)
        {
            attention.Step(t, queries.AsSpan(t * B * Q, B * Q), c);
            loss += GradCheck.Dot(c, g.AsSpan(t * B * K, B * K));
        }
        return loss;
    }

    /// <summary>Keys [B, S, K] ~ U(−1, 1) on the real positions and the given value (or U(−1, 1) when null) on padding.</summary>
    private static float[] RandomKeys(Rng rng, int S, int K, int[] lengths, float? padding = null)
    {
        var keys = GradCheck.RandomArray(rng, lengths.Length * S * K);
        if (padding is float value)
            for (int b = 0; b < lengths.Length; b++) keys.AsSpan((b * S + lengths[b]) * K, (S - lengths[b]) * K).Fill(value);
        return keys;
    }

    private static void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol = 1e-5, double rtol = 1e-4)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i])))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:G8}, got {actual[i]:G8}");
    }

    private static void AssertSamePass(string what, Pass expected, Pass actual)
    {
        Assert.True(expected.Contexts.AsSpan().SequenceEqual(actual.Contexts), $"{what}: contexts differ");
        Assert.True(expected.Weights.AsSpan().SequenceEqual(actual.Weights), $"{what}: weights differ");
        Assert.True(expected.DQueries.AsSpan().SequenceEqual(actual.DQueries), $"{what}: dQueries differ");
        Assert.True(expected.DKeys.AsSpan().SequenceEqual(actual.DKeys), $"{what}: dKeys differ");
        Assert.Equal(expected.Grads.Length, actual.Grads.Length);
        for (int p = 0; p < expected.Grads.Length; p++)
            Assert.True(expected.Grads[p].AsSpan().SequenceEqual(actual.Grads[p]), $"{what}: gradient of parameter {p} differs");
    }

    // ------------------------------------------------------------------ finite differences

    [Theory]
    [MemberData(nameof(Kinds))]
    public void BackwardMatchesFiniteDifferences(AttentionKind kind)
    {
        var rng = new Rng(1);
        const int S = 4, T = 3;
        int[] lengths = [4, 2];
        int B = lengths.Length;
        var attention = Make(kind, 2);
        int Q = attention.QuerySize, K = attention.KeySize;
        var keys = RandomKeys(rng, S, K, lengths);             // finite values on the padding: their gradient is 0
        var queries = GradCheck.RandomArray(rng, T * B * Q);
        var g = GradCheck.RandomArray(rng, T * B * K);
        double L() => Loss(attention, keys, S, lengths, queries, g, T);

        var pass = Run(attention, keys, S, lengths, queries, g, T);
        GradCheck.Check("dQueries", queries, pass.DQueries, L);
        GradCheck.Check("dKeys", keys, pass.DKeys, L);
        int i = 0;
        foreach (var p in attention.Parameters()) GradCheck.Check("d" + p.Name, p.Value.Data, pass.Grads[i++], L);
        Assert.Contains(pass.DQueries, d => Math.Abs(d) > 1e-2f);
        Assert.All(pass.Grads, grad => Assert.Contains(grad, d => Math.Abs(d) > 1e-2f));

        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
            {
                var alpha = pass.Weights.AsSpan((t * B + b) * S, S);
                Assert.Equal(1.0, alpha[..lengths[b]].ToArray().Sum(w => (double)w), 1e-6);
                Assert.All(alpha[lengths[b]..].ToArray(), w => Assert.Equal(0f, w));
                Assert.True(alpha[..lengths[b]].ToArray().Max() < 0.99f); // not collapsed onto one key
            }
        for (int b = 0; b < B; b++)
            Assert.All(pass.DKeys.AsSpan((b * S + lengths[b]) * K, (S - lengths[b]) * K).ToArray(), d => Assert.Equal(0f, d));
    }

    // ------------------------------------------------------------------ PyTorch reference

    [Theory]
    [InlineData("bahdanau")]
    [InlineData("luong-dot")]
    [InlineData("luong-general")]
    [InlineData("luong-concat")]
    public void MatchesThePyTorchReference(string name)
    {
        var file = SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "fixtures", "attention", "attention_reference.safetensors"));
        Assert.Contains(name, file.Metadata["kinds"].Split(','));
        string c = name + ".";
        var keys = file.Float(c + "keys");
        int B = keys.Shape[0], S = keys.Shape[1], K = keys.Shape[2];
        var queries = file.Float(c + "queries");
        int T = queries.Shape[0], Q = queries.Shape[2];
        int[] lengths = file.Indices(c + "lengths");
        var kind = Attention.ParseKind(name);
        int A = file.Contains(c + "param.v") ? file.Shape(c + "param.v")[0] : 1;
        var attention = Attention.Create(kind, Q, K, A);
        Assert.Equal(file.Names.Where(n => n.StartsWith(c + "param.", StringComparison.Ordinal)).Select(n => n[(c.Length + 6)..]).Order(),
            attention.Parameters().Select(p => p.Name).Order());
        foreach (var p in attention.Parameters()) file.CopyTo(c + "param." + p.Name, p.Value);

        var g = file.Float(c + "grad_context", [T, B, K]);
        var pass = Run(attention, keys.Data, S, lengths, queries.Data, g.Data, T);
        AssertClose(c + "context", file.Float(c + "context", [T, B, K]).Data, pass.Contexts);
        AssertClose(c + "weights", file.Float(c + "weights", [T, B, S]).Data, pass.Weights);
        AssertClose(c + "loss", file.Float(c + "loss", [1]).Data, [(float)GradCheck.Dot(pass.Contexts, g.Data)]);
        AssertClose(c + "grad.queries", file.Float(c + "grad.queries", [T, B, Q]).Data, pass.DQueries);
        AssertClose(c + "grad.keys", file.Float(c + "grad.keys", [B, S, K]).Data, pass.DKeys);
        int i = 0;
        foreach (var p in attention.Parameters())
            AssertClose(c + "grad.param." + p.Name, file.Float(c + "grad.param." + p.Name, p.Shape).Data, pass.Grads[i++]);
    }

    // ------------------------------------------------------------------ padding

    [Theory]
    [MemberData(nameof(Kinds))]
    public void PaddingChangesNothing(AttentionKind kind)
    {
        var rng = new Rng(3);
        const int S = 5, T = 3;
        int[] lengths = [5, 2, 1, 3];
        int B = lengths.Length;
        var attention = Make(kind, 4);
        int Q = attention.QuerySize, K = attention.KeySize;
        var keys = RandomKeys(rng, S, K, lengths, padding: 0f);
        var queries = GradCheck.RandomArray(rng, T * B * Q);
        var g = GradCheck.RandomArray(rng, T * B * K);
        var clean = Run(attention, keys, S, lengths, queries, g, T);

        // Garbage on the padding, NaN and infinities included: the same bits everywhere.
        float[] garbage = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f, -1e30f];
        var dirty = (float[])keys.Clone();
        for (int b = 0; b < B; b++)
            for (int i = (b * S + lengths[b]) * K; i < (b + 1) * S * K; i++) dirty[i] = garbage[rng.NextInt(garbage.Length)];
        AssertSamePass("garbage padding", clean, Run(attention, dirty, S, lengths, queries, g, T));

        // Each sentence alone (S = its length, no padding) gives its rows of the batch; the parameter gradients sum.
        var sums = clean.Grads.Select(grad => new double[grad.Length]).ToArray();
        for (int b = 0; b < B; b++)
        {
            int L = lengths[b];
            float[] Rows(float[] all, int width) =>
                Enumerable.Range(0, T).SelectMany(t => all.AsSpan((t * B + b) * width, width).ToArray()).ToArray();
            var alone = Run(attention, keys.AsSpan(b * S * K, L * K).ToArray(), L, [L], Rows(queries, Q), Rows(g, K), T);
            AssertClose($"alone {b} contexts", Rows(clean.Contexts, K), alone.Contexts, 1e-6, 1e-5);
            AssertClose($"alone {b} dQueries", Rows(clean.DQueries, Q), alone.DQueries, 1e-6, 1e-5);
            AssertClose($"alone {b} dKeys", clean.DKeys.AsSpan(b * S * K, L * K), alone.DKeys, 1e-6, 1e-5);
            for (int t = 0; t < T; t++)
                AssertClose($"alone {b} weights", clean.Weights.AsSpan((t * B + b) * S, L), alone.Weights.AsSpan(t * L, L), 1e-6, 1e-5);
            for (int p = 0; p < sums.Length; p++)
                for (int i = 0; i < sums[p].Length; i++) sums[p][i] += alone.Grads[p][i];
        }
        for (int p = 0; p < sums.Length; p++)
            AssertClose($"summed gradient {p}", sums[p].Select(x => (float)x).ToArray(), clean.Grads[p], 1e-5, 1e-4);
    }

    // ------------------------------------------------------------------ Attend, shapes, accumulation

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AttendEqualsStepAndDisturbsNothing(AttentionKind kind)
    {
        var rng = new Rng(5);
        const int S = 4, T = 3;
        int[] lengths = [3, 4, 1];
        int B = lengths.Length;
        var attention = Make(kind, 6);
        int Q = attention.QuerySize, K = attention.KeySize;
        var keys = RandomKeys(rng, S, K, lengths);
        var queries = GradCheck.RandomArray(rng, T * B * Q);
        var g = GradCheck.RandomArray(rng, T * B * K);
        var expected = Run(Make(kind, 6), keys, S, lengths, queries, g, T);

        // Attend after every Step and between the backward steps, with another query in between.
        attention.ZeroGrad();
        attention.SetKeys(keys, B, S, lengths, T);
        var context = new float[B * K];
        var weights = new float[B * S];
        var other = GradCheck.RandomArray(rng, B * Q);
        var contexts = new float[T * B * K];
        for (int t = 0; t < T; t++)
        {
            attention.Step(t, queries.AsSpan(t * B * Q, B * Q), contexts.AsSpan(t * B * K, B * K));
            attention.Attend(other, context, weights);
            attention.Attend(queries.AsSpan(t * B * Q, B * Q), context, weights);
            Assert.Equal(expected.Contexts.AsSpan(t * B * K, B * K).ToArray(), context);
            Assert.Equal(expected.Weights.AsSpan(t * B * S, B * S).ToArray(), weights);
        }
        var dq = new float[T * B * Q];
        for (int t = T - 1; t >= 0; t--)
        {
            attention.BackwardStep(t, g.AsSpan(t * B * K, B * K), dq.AsSpan(t * B * Q, B * Q));
            attention.Attend(other, context, weights);
        }
        var dk = attention.EndBackward().ToArray();
        var weightsAfter = Enumerable.Range(0, T).SelectMany(t => attention.Weights(t).ToArray()).ToArray();
        AssertSamePass("with Attend", expected, new Pass(contexts, weightsAfter, dq, dk,
            attention.Parameters().Select(p => p.Grad.Data.ToArray()).ToArray()));

        // Inference only: SetKeys with no steps to come.
        attention.SetKeys(keys, B, S, lengths, 0);
        attention.Attend(queries.AsSpan(0, B * Q), context, weights);
        Assert.Equal(expected.Contexts.AsSpan(0, B * K).ToArray(), context);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void OneLayerServesBatchesOfEveryShape(AttentionKind kind)
    {
        var rng = new Rng(7);
        var attention = Make(kind, 8);
        int Q = attention.QuerySize, K = attention.KeySize;
        // Smaller, larger, smaller, in between: reused arenas hold the previous batch's values.
        (int S, int T, int[] Lengths)[] batches = [(3, 2, [3, 1]), (6, 5, [6, 2, 5, 1]), (2, 1, [2]), (4, 3, [1, 4, 2])];
        foreach (var (S, T, lengths) in batches)
        {
            int B = lengths.Length;
            var keys = RandomKeys(rng, S, K, lengths);
            var queries = GradCheck.RandomArray(rng, T * B * Q);
            var g = GradCheck.RandomArray(rng, T * B * K);
            AssertSamePass($"B={B} S={S} T={T}", Run(Make(kind, 8), keys, S, lengths, queries, g, T),
                Run(attention, keys, S, lengths, queries, g, T));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ParameterGradientsAccumulateAndFewerStepsThanMaxAreFine(AttentionKind kind)
    {
        var rng = new Rng(9);
        const int S = 3, T = 2;
        int[] lengths = [3, 2];
        var attention = Make(kind, 10);
        int Q = attention.QuerySize, K = attention.KeySize;
        var keys = RandomKeys(rng, S, K, lengths);
        var queries = GradCheck.RandomArray(rng, T * 2 * Q);
        var g = GradCheck.RandomArray(rng, T * 2 * K);
        var once = Run(attention, keys, S, lengths, queries, g, T);
        var twice = Run(attention, keys, S, lengths, queries, g, T, accumulate: true);
        for (int p = 0; p < once.Grads.Length; p++)
            for (int i = 0; i < once.Grads[p].Length; i++) Assert.Equal(2 * once.Grads[p][i], twice.Grads[p][i], 1e-6f);
        Assert.Equal(once.DKeys, twice.DKeys); // dL/dkeys is the batch's own, not accumulated

        // maxSteps 5 with 2 steps taken: backward starts at the last step taken.
        attention.ZeroGrad();
        attention.SetKeys(keys, 2, S, lengths, 5);
        var c = new float[2 * K];
        for (int t = 0; t < T; t++) attention.Step(t, queries.AsSpan(t * 2 * Q, 2 * Q), c);
        var dq = new float[T * 2 * Q];
        for (int t = T - 1; t >= 0; t--) attention.BackwardStep(t, g.AsSpan(t * 2 * K, 2 * K), dq.AsSpan(t * 2 * Q, 2 * Q));
        Assert.Equal(once.DKeys, attention.EndBackward().ToArray());
        Assert.Equal(once.DQueries, dq);
        Assert.Equal(once.Grads, attention.Parameters().Select(p => p.Grad.Data.ToArray()).ToArray());
    }

    [Theory]
    [InlineData(AttentionKind.Bahdanau)]
    [InlineData(AttentionKind.LuongGeneral)]
    [InlineData(AttentionKind.LuongConcat)]
    [InlineData(AttentionKind.LuongDot)]
    public void StepsAllocateNothingOnceTheArenasHaveGrown(AttentionKind kind)
    {
        var rng = new Rng(11);
        const int S = 6, T = 4, K = 48;
        int[] lengths = [6, 3, 5, 6, 1, 2, 4, 6];
        int B = lengths.Length;
        var attention = Make(kind, 12, scale: null, K: K);
        int Q = attention.QuerySize;
        var keys = RandomKeys(rng, S, K, lengths);
        var queries = GradCheck.RandomArray(rng, T * B * Q);
        var g = GradCheck.RandomArray(rng, T * B * K);
        var c = new float[B * K];
        var w = new float[B * S];
        var dq = new float[B * Q];
        void Batch()
        {
            attention.SetKeys(keys, B, S, lengths, T);
            for (int t = 0; t < T; t++) attention.Step(t, queries.AsSpan(t * B * Q, B * Q), c);
            attention.Attend(queries.AsSpan(0, B * Q), c, w);
            for (int t = T - 1; t >= 0; t--) attention.BackwardStep(t, g.AsSpan(t * B * K, B * K), dq);
            attention.EndBackward();
        }
        Batch();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Batch();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // ------------------------------------------------------------------ init, names, errors

    [Fact]
    public void InitializationIsPyTorchsAndTheNamesAreTheStateDictKeys()
    {
        const int Q = 16, K = 64, A = 100;
        (AttentionKind Kind, string[] Names, int[][] Shapes, float[] Bounds)[] cases =
        [
            (AttentionKind.Bahdanau, ["query_projection.weight", "key_projection.weight", "key_projection.bias", "v"],
                [[A, Q], [A, K], [A], [A]], [1f / 4, 1f / 8, 1f / 8, 1f / 10]),
            (AttentionKind.LuongDot, [], [], []),
            (AttentionKind.LuongGeneral, ["weight"], [[Q, K]], [1f / 8]),
            (AttentionKind.LuongConcat, ["weight", "v"], [[A, Q + K], [A]], [1f / MathF.Sqrt(Q + K), 1f / 10]),
        ];
        foreach (var (kind, names, shapes, bounds) in cases)
        {
            int q = kind == AttentionKind.LuongDot ? K : Q;
            var attention = Attention.Create(kind, q, K, A, new Rng(13));
            Assert.Equal(kind, attention.Kind);
            Assert.Equal((q, K), (attention.QuerySize, attention.KeySize));
            var parameters = attention.Parameters().ToArray();
            Assert.Equal(names, parameters.Select(p => p.Name));
            for (int i = 0; i < parameters.Length; i++)
            {
                Assert.Equal(shapes[i], parameters[i].Shape);
                float bound = bounds[i];
                Assert.All(parameters[i].Value.Data, v => Assert.InRange(v, -bound, bound));
                Assert.True(parameters[i].Value.Data.Max() > 0.8f * bound && parameters[i].Value.Data.Min() < -0.8f * bound);
            }
            var again = Attention.Create(kind, q, K, A, new Rng(13)).Parameters().Select(p => p.Value.Data).ToArray();
            Assert.Equal(parameters.Select(p => p.Value.Data).ToArray(), again);
        }
    }

    [Fact]
    public void KindsRoundTripThroughTheirNames()
    {
        Assert.Equal(["bahdanau", "luong-dot", "luong-general", "luong-concat"], Enum.GetValues<AttentionKind>().Select(Attention.Name));
        foreach (var kind in Enum.GetValues<AttentionKind>()) Assert.Equal(kind, Attention.ParseKind(Attention.Name(kind)));
        Assert.Equal("unknown attention 'luong'; expected one of bahdanau, luong-dot, luong-general, luong-concat",
            Assert.Throws<ArgumentException>(() => Attention.ParseKind("luong")).Message);
        Assert.Throws<ArgumentException>(() => Attention.ParseKind("Bahdanau"));
        Assert.Throws<ArgumentException>(() => Attention.Name((AttentionKind)7));
    }

    [Fact]
    public void BadSizesAndShapesThrowClearly()
    {
        Assert.Equal("Attention(luong-dot): e = qᵀk needs the query size 3 to equal the key size 4",
            Assert.Throws<ArgumentException>(() => Attention.Create(AttentionKind.LuongDot, 3, 4, 5)).Message);
        Assert.Contains("got 0 and 4", Assert.Throws<ArgumentException>(() => Attention.Create(AttentionKind.LuongGeneral, 0, 4, 5)).Message);
        Assert.Contains("attention size must be positive, got 0",
            Assert.Throws<ArgumentException>(() => Attention.Create(AttentionKind.Bahdanau, 3, 4, 0)).Message);
        Assert.Throws<ArgumentException>(() => Attention.Create((AttentionKind)9, 3, 4, 5));

        var attention = Attention.Create(AttentionKind.Bahdanau, 3, 4, 5);
        var keys = new float[2 * 4 * 4];
        int[] lengths = [4, 2];
        var c = new float[8];
        var dq = new float[6];
        Assert.Equal("Attention(bahdanau).Step called before SetKeys",
            Assert.Throws<InvalidOperationException>(() => attention.Step(0, new float[6], c)).Message);
        Assert.Throws<InvalidOperationException>(() => attention.Attend(new float[6], c, new float[8]));

        Assert.Equal("Attention(bahdanau).SetKeys: expected keys [2, 4, 4] (32 floats), got 31 floats",
            Assert.Throws<ShapeException>(() => attention.SetKeys(new float[31], 2, 4, lengths, 3)).Message);
        Assert.Equal("Attention(bahdanau).SetKeys: expected lengths [2], got [3]",
            Assert.Throws<ShapeException>(() => attention.SetKeys(keys, 2, 4, [4, 2, 1], 3)).Message);
        Assert.Equal("Attention(bahdanau).SetKeys: lengths[1] = 5 is outside 1..4",
            Assert.Throws<ArgumentException>(() => attention.SetKeys(keys, 2, 4, [4, 5], 3)).Message);
        Assert.Contains("lengths[0] = 0", Assert.Throws<ArgumentException>(() => attention.SetKeys(keys, 2, 4, [0, 2], 3)).Message);
        Assert.Contains("got 0 and 4", Assert.Throws<ArgumentException>(() => attention.SetKeys([], 0, 4, [], 3)).Message);
        Assert.Contains("maxSteps must be ≥ 0, got -1", Assert.Throws<ArgumentException>(() => attention.SetKeys(keys, 2, 4, lengths, -1)).Message);
        // The failed calls set nothing: there are still no keys.
        Assert.Throws<InvalidOperationException>(() => attention.Step(0, new float[6], c));

        attention.SetKeys(keys, 2, 4, lengths, 2);
        Assert.Equal("Attention(bahdanau).Step: expected query [2, 3] (6 floats), got 5 floats",
            Assert.Throws<ShapeException>(() => attention.Step(0, new float[5], c)).Message);
        Assert.Contains("expected context [2, 4]", Assert.Throws<ShapeException>(() => attention.Step(0, new float[6], new float[9])).Message);
        Assert.Contains("expected weights [2, 4]", Assert.Throws<ShapeException>(() => attention.Attend(new float[6], c, new float[7])).Message);
        Assert.Equal("Attention(bahdanau).Step: t = 1, but the next step is 0",
            Assert.Throws<ArgumentException>(() => attention.Step(1, new float[6], c)).Message);
        Assert.Contains("no Step was taken", Assert.Throws<InvalidOperationException>(() => attention.BackwardStep(0, c, dq)).Message);
        Assert.Contains("t = 0, but 0 steps were taken", Assert.Throws<ArgumentException>(() => attention.Weights(0).ToArray()).Message);
        attention.Step(0, new float[6], c);
        attention.Step(1, new float[6], c);
        Assert.Equal("Attention(bahdanau).Step: t = 2 is not below maxSteps = 2 given to SetKeys",
            Assert.Throws<ArgumentException>(() => attention.Step(2, new float[6], c)).Message);
        Assert.Contains("(the next is 1)", Assert.Throws<InvalidOperationException>(() => attention.EndBackward().ToArray()).Message);
        Assert.Equal("Attention(bahdanau).BackwardStep: t = 0, but the next step backward is 1",
            Assert.Throws<ArgumentException>(() => attention.BackwardStep(0, c, dq)).Message);
        Assert.Contains("expected dQuery [2, 3]", Assert.Throws<ShapeException>(() => attention.BackwardStep(1, c, new float[4])).Message);
        attention.BackwardStep(1, c, dq);
        Assert.Contains("backward has begun", Assert.Throws<InvalidOperationException>(() => attention.Step(2, new float[6], c)).Message);
        Assert.Contains("(the next is 0)", Assert.Throws<InvalidOperationException>(() => attention.EndBackward().ToArray()).Message);
        attention.BackwardStep(0, c, dq);
        Assert.Equal(32, attention.EndBackward().Length);
        Assert.Contains("already called", Assert.Throws<InvalidOperationException>(() => attention.EndBackward().ToArray()).Message);
        Assert.Contains("EndBackward has been called", Assert.Throws<InvalidOperationException>(() => attention.BackwardStep(0, c, dq)).Message);
        Assert.Equal(8, attention.Weights(1).Length); // still valid until the next SetKeys
    }
}
