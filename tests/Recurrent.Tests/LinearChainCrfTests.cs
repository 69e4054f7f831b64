using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// LinearChainCrf against finite differences, brute force over all K^L tag paths, a PyTorch reference
/// (fixtures/crf/crf_reference.safetensors, written by make_crf_reference.py) and itself with and without padding.
/// </summary>
public class LinearChainCrfTests
{
    // ------------------------------------------------------------------ helpers

    /// <summary>A CRF whose parameters are U(−scale, scale), so the transitions matter more than at the default init.</summary>
    private static LinearChainCrf RandomCrf(int K, Rng rng, float scale = 1f)
    {
        var crf = new LinearChainCrf(K, rng);
        foreach (var p in crf.Parameters()) GradCheck.RandomArray(rng, p.Value.Length, scale).CopyTo(p.Value.Data, 0);
        return crf;
    }

    /// <summary>
    /// Emissions [T, B, K] ~ U(−scale, scale) and time-major tags on the real steps; padding holds garbage
    /// (NaN, ±infinity, ±1e30 in the emissions when <paramref name="nanPadding"/>, else ±50; −1 and K + 3 in the tags).
    /// </summary>
    private static (Tensor Emissions, int[] Tags) RandomBatch(Rng rng, int K, int T, int[] lengths, float scale = 1f, bool nanPadding = true)
    {
        int B = lengths.Length;
        var x = new Tensor(T, B, K);
        var tags = new int[T * B];
        float[] garbage = nanPadding ? [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f, -1e30f] : [50f, -50f];
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
            {
                bool real = t < lengths[b];
                tags[t * B + b] = real ? rng.NextInt(K) : (rng.NextInt(2) == 0 ? -1 : K + 3);
                for (int k = 0; k < K; k++)
                    x[t, b, k] = real ? rng.Uniform(-scale, scale) : garbage[rng.NextInt(garbage.Length)];
            }
        return (x, tags);
    }

    /// <summary>score(y) of sequence b in double, y its L tags.</summary>
    private static double Score(LinearChainCrf crf, Tensor x, int b, ReadOnlySpan<int> y)
    {
        int K = crf.NumTags;
        double s = crf.StartTransitions.Value[y[0]] + (double)x[0, b, y[0]] + crf.EndTransitions.Value[y[^1]];
        for (int t = 1; t < y.Length; t++) s += crf.Transitions.Value[y[t - 1] * K + y[t]] + (double)x[t, b, y[t]];
        return s;
    }

    /// <summary>Every tag path of length L (K^L of them), in lexicographic order.</summary>
    private static IEnumerable<int[]> AllPaths(int K, int L)
    {
        var y = new int[L];
        while (true)
        {
            yield return (int[])y.Clone();
            int t = L - 1;
            while (t >= 0 && ++y[t] == K) y[t--] = 0;
            if (t < 0) yield break;
        }
    }

    /// <summary>(log Z, best score, best path) of sequence b by enumeration, log Z by a stable log-sum-exp.</summary>
    private static (double LogZ, double Best, int[] Path) BruteForce(LinearChainCrf crf, Tensor x, int b, int L)
    {
        var scores = new List<double>();
        int[] bestPath = [];
        double best = double.NegativeInfinity;
        foreach (var y in AllPaths(crf.NumTags, L))
        {
            double s = Score(crf, x, b, y);
            scores.Add(s);
            if (s > best) (best, bestPath) = (s, y);
        }
        double sum = 0;
        foreach (double s in scores) sum += Math.Exp(s - best);
        return (best + Math.Log(sum), best, bestPath);
    }

    /// <summary>Sequence b of a time-major batch on its own: emissions [L, 1, K], its L tags, lengths [L].</summary>
    private static (Tensor Emissions, int[] Tags, int[] Lengths) Alone(Tensor x, int[] tags, int[] lengths, int b)
    {
        int B = x.Shape[1], K = x.Shape[2], L = lengths[b];
        var e = new Tensor(L, 1, K);
        var y = new int[L];
        for (int t = 0; t < L; t++)
        {
            x.Data.AsSpan((t * B + b) * K, K).CopyTo(e.Data.AsSpan(t * K, K));
            y[t] = tags[t * B + b];
        }
        return (e, y, [L]);
    }

    private static void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= 1e-5 + 1e-4 * Math.Abs(expected[i])))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:G8}, got {actual[i]:G8}");
    }

    // ------------------------------------------------------------------ (a) finite differences

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BackwardMatchesFiniteDifferences(bool forbiddenTransition)
    {
        var rng = new Rng(1);
        const int K = 3, T = 4;
        int[] lengths = [4, 1, 2];
        var crf = RandomCrf(K, rng);
        var (x, tags) = RandomBatch(rng, K, T, lengths, nanPadding: false);
        if (forbiddenTransition)
        {
            // A hard constraint the usual way (−1e4, e.g. O → I-X in BIO tagging): exp(A − max A) underflows to 0 in
            // that entry, which the factored sums must survive. The gold path avoids 0 → 1.
            crf.Transitions.Value[0, 1] = -1e4f;
            for (int i = lengths.Length; i < tags.Length; i++) // time-major: i − B is the step before i
                if (tags[i - lengths.Length] == 0 && tags[i] == 1) tags[i] = 2;
        }
        double Loss() => crf.Forward(x, tags, lengths);

        Loss();
        crf.ZeroGrad();
        var dx = crf.Backward(1f).Clone();
        Assert.Equal(x.Shape, dx.Shape);
        GradCheck.Check("dEmissions", x.Data, dx.Span, Loss);
        GradCheck.Check("dTransitions", crf.Transitions.Value.Data, crf.Transitions.Grad.Span, Loss);
        GradCheck.Check("dStart", crf.StartTransitions.Value.Data, crf.StartTransitions.Grad.Span, Loss);
        GradCheck.Check("dEnd", crf.EndTransitions.Value.Data, crf.EndTransitions.Grad.Span, Loss);
        Assert.Contains(dx.Data, g => Math.Abs(g) > 1e-2f);
        Assert.Contains(crf.Transitions.Grad.Data, g => Math.Abs(g) > 1e-2f);
    }

    [Fact]
    public void BackwardScalesAndAccumulates()
    {
        var rng = new Rng(3);
        int[] lengths = [3, 2];
        var crf = RandomCrf(3, rng);
        var (x, tags) = RandomBatch(rng, 3, 3, lengths);
        crf.Forward(x, tags, lengths);
        crf.ZeroGrad();
        var once = crf.Backward(1f).Clone();
        var gradsOnce = crf.Parameters().Select(p => p.Grad.Clone()).ToArray();
        crf.Forward(x, tags, lengths); // one Backward per Forward
        crf.Decode(new Tensor(5, 1, 3), [5], new int[5]); // another shape in between: Backward is still of the Forward
        var quarter = crf.Backward(0.25f);
        for (int i = 0; i < once.Length; i++) Assert.Equal(0.25f * once.Data[i], quarter.Data[i], 1e-7f);
        var grads = crf.Parameters().ToArray();
        for (int p = 0; p < 3; p++)
            for (int i = 0; i < gradsOnce[p].Length; i++) Assert.Equal(1.25f * gradsOnce[p].Data[i], grads[p].Grad.Data[i], 1e-6f);
        // Each position's marginals sum to 1 and the gold indicator to 1, so its gradient sums to 0.
        for (int t = 0; t < 3; t++)
            for (int b = 0; b < 2; b++)
            {
                double sum = 0;
                for (int k = 0; k < 3; k++) sum += once[t, b, k];
                Assert.Equal(0, sum, 1e-6);
            }
    }

    // ------------------------------------------------------------------ (b) PyTorch reference

    [Fact]
    public void MatchesThePyTorchReference()
    {
        var file = SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "fixtures", "crf", "crf_reference.safetensors"));
        int cases = int.Parse(file.Metadata["cases"]);
        Assert.Equal(3, cases);
        for (int n = 0; n < cases; n++)
        {
            string c = $"case{n}.";
            var x = file.Float(c + "emissions");
            int T = x.Shape[0], B = x.Shape[1], K = x.Shape[2];
            int[] tags = file.Indices(c + "tags"), lengths = file.Indices(c + "lengths");
            Assert.Equal(new[] { T, B }, file.Shape(c + "tags"));
            var crf = new LinearChainCrf(K);
            file.CopyTo(c + "transitions", crf.Transitions.Value);
            file.CopyTo(c + "start_transitions", crf.StartTransitions.Value);
            file.CopyTo(c + "end_transitions", crf.EndTransitions.Value);

            var nll = file.Float(c + "nll", [B]);
            for (int b = 0; b < B; b++)
            {
                var (e, y, l) = Alone(x, tags, lengths, b);
                AssertClose($"{c}nll[{b}]", [nll[b]], [(float)crf.Forward(e, y, l)]);
            }
            double sum = crf.Forward(x, tags, lengths);
            AssertClose(c + "nll_sum", file.Float(c + "nll_sum", [1]).Data, [(float)sum]);

            crf.ZeroGrad();
            var dx = crf.Backward(1f);
            AssertClose(c + "grad.emissions", file.Float(c + "grad.emissions", [T, B, K]).Data, dx.Data);
            AssertClose(c + "grad.transitions", file.Float(c + "grad.transitions", [K, K]).Data, crf.Transitions.Grad.Data);
            AssertClose(c + "grad.start_transitions", file.Float(c + "grad.start_transitions", [K]).Data, crf.StartTransitions.Grad.Data);
            AssertClose(c + "grad.end_transitions", file.Float(c + "grad.end_transitions", [K]).Data, crf.EndTransitions.Grad.Data);

            var paths = new int[T * B];
            crf.Decode(x, lengths, paths);
            Assert.Equal(file.Indices(c + "viterbi"), paths);
        }
    }

    // ------------------------------------------------------------------ (c) padding

    [Fact]
    public void PaddingChangesNothing()
    {
        var rng = new Rng(4);
        const int K = 4, T = 6;
        int[] lengths = [6, 2, 1, 4];
        var crf = RandomCrf(K, rng);
        var (x, tags) = RandomBatch(rng, K, T, lengths); // NaN, ±∞, ±1e30 in the padding

        double sumAlone = 0;
        var gradsAlone = crf.Parameters().Select(p => new double[p.Value.Length]).ToArray();
        var dxAlone = new float[lengths.Length][];
        var pathsAlone = new int[lengths.Length][];
        for (int b = 0; b < lengths.Length; b++)
        {
            var (e, y, l) = Alone(x, tags, lengths, b);
            sumAlone += crf.Forward(e, y, l);
            crf.ZeroGrad();
            dxAlone[b] = crf.Backward(1f).Span.ToArray();
            int p = 0;
            foreach (var parameter in crf.Parameters())
            {
                for (int i = 0; i < parameter.Grad.Length; i++) gradsAlone[p][i] += parameter.Grad.Data[i];
                p++;
            }
            pathsAlone[b] = new int[l[0]];
            crf.Decode(e, l, pathsAlone[b]);
        }

        // A full-length batch of the same shape first, so the reused gradient buffer holds values on every position.
        var (full, fullTags) = RandomBatch(rng, K, T, [T, T, T, T]);
        crf.Forward(full, fullTags, [T, T, T, T]);
        Assert.DoesNotContain(0f, crf.Backward(1f).Data);

        double sum = crf.Forward(x, tags, lengths);
        Assert.True(double.IsFinite(sum));
        Assert.Equal(sumAlone, sum, 1e-10);
        crf.ZeroGrad();
        var dx = crf.Backward(1f);
        var paths = new int[T * lengths.Length];
        crf.Decode(x, lengths, paths);
        for (int b = 0; b < lengths.Length; b++)
            for (int t = 0; t < T; t++)
            {
                int B = lengths.Length;
                var row = dx.Data.AsSpan((t * B + b) * K, K);
                if (t < lengths[b])
                {
                    Assert.Equal(dxAlone[b].AsSpan(t * K, K).ToArray(), row.ToArray()); // the same arithmetic, to the bit
                    Assert.Equal(pathsAlone[b][t], paths[t * B + b]);
                }
                else
                {
                    Assert.All(row.ToArray(), g => Assert.Equal(0f, g));
                    Assert.Equal(-1, paths[t * B + b]);
                }
            }
        int q = 0;
        foreach (var parameter in crf.Parameters())
        {
            for (int i = 0; i < parameter.Grad.Length; i++) Assert.Equal(gradsAlone[q][i], parameter.Grad.Data[i], 1e-6);
            q++;
        }
    }

    // ------------------------------------------------------------------ (d) Viterbi, (e) normalization

    [Theory]
    [InlineData(5, 2, 4)]
    [InlineData(6, 3, 5)]
    [InlineData(7, 4, 4)]
    [InlineData(8, 5, 3)]
    public void ViterbiIsTheBruteForceArgmaxAndTheNllIsLogZMinusScore(int seed, int K, int T)
    {
        var rng = new Rng((ulong)seed);
        for (int trial = 0; trial < 5; trial++)
        {
            int[] lengths = [T, 1 + rng.NextInt(T), 1 + rng.NextInt(T)];
            var crf = RandomCrf(K, rng, scale: 2f);
            var (x, tags) = RandomBatch(rng, K, T, lengths, scale: 2f);
            var paths = new int[T * 3];
            crf.Decode(x, lengths, paths);
            double expectedNll = 0;
            for (int b = 0; b < 3; b++)
            {
                var (logZ, best, bestPath) = BruteForce(crf, x, b, lengths[b]);
                var path = Enumerable.Range(0, T).Select(t => paths[t * 3 + b]).ToArray();
                Assert.Equal(bestPath, path[..lengths[b]]);
                Assert.All(path[lengths[b]..], p => Assert.Equal(-1, p));
                Assert.Equal(best, Score(crf, x, b, path[..lengths[b]]), 1e-9);
                expectedNll += logZ - Score(crf, x, b, Enumerable.Range(0, lengths[b]).Select(t => tags[t * 3 + b]).ToArray());
            }
            Assert.Equal(expectedNll, crf.Forward(x, tags, lengths), 1e-9);
        }
    }

    [Fact]
    public void ProbabilitiesOfAllPathsSumToOne()
    {
        var rng = new Rng(9);
        const int K = 3, T = 5;
        int[] lengths = [4];                  // with a padded step after the last real one
        var crf = RandomCrf(K, rng, scale: 2f);
        var (x, tags) = RandomBatch(rng, K, T, lengths, scale: 2f);
        double total = 0;
        int count = 0;
        foreach (var y in AllPaths(K, 4))
        {
            y.CopyTo(tags, 0);
            double nll = crf.Forward(x, tags, lengths);
            Assert.True(nll >= 0, $"NLL {nll} < 0 for path [{string.Join(", ", y)}]");
            total += Math.Exp(-nll);
            count++;
        }
        Assert.Equal(81, count);
        Assert.Equal(1.0, total, 1e-12);
    }

    [Theory]
    [InlineData("random")]
    [InlineData("large")]
    [InlineData("constrained")]
    [InlineData("infinite")]
    public void GradientsAreTheBruteForceMarginals(string scenario)
    {
        var rng = new Rng(10);
        const int K = 4, T = 5;
        int[] lengths = [5, 4, 2];
        const int B = 3;
        var crf = RandomCrf(K, rng, scenario == "large" ? 200f : 1f);
        var (x, tags) = RandomBatch(rng, K, T, lengths, scenario == "large" ? 300f : 2f);
        if (scenario is "constrained" or "infinite")
        {
            // Each of the recursions' plain fallbacks: tag 0 unreachable after t = 0 (a whole column at −1e4: the
            // forward sum into it is 0), tag 1 a dead end (a whole row: the backward sum out of it is 0) which an
            // emission of 2e4 still makes the likeliest tag at t = 1 of sequence 1, and a forbidden 2 → 3 between two
            // emission spikes of 1000 in sequence 0 (the pair-marginal scale c is about e^1000). The constraints are
            // −1e4 or −∞; the gold paths are the best ones, which obey them.
            float forbidden = scenario == "constrained" ? -1e4f : float.NegativeInfinity;
            for (int k = 0; k < K; k++) crf.Transitions.Value[k, 0] = crf.Transitions.Value[1, k] = forbidden;
            crf.Transitions.Value[2, 3] = forbidden;
            x[1, 0, 2] = 1000f;
            x[2, 0, 3] = 1000f;
            x[1, 1, 1] = 2e4f;
            for (int b = 0; b < B; b++)
            {
                var best = BruteForce(crf, x, b, lengths[b]).Path;
                for (int t = 0; t < lengths[b]; t++) tags[t * B + b] = best[t];
            }
        }
        // Brute force in double: p(y) = exp(score(y) − log Z) of every path, gathered like the gradient formulas.
        var dx = new double[T * B * K];
        var dA = new double[K * K];
        var dStart = new double[K];
        var dEnd = new double[K];
        double nll = 0;
        for (int b = 0; b < B; b++)
        {
            int L = lengths[b];
            double logZ = BruteForce(crf, x, b, L).LogZ;
            var gold = Enumerable.Range(0, L).Select(t => tags[t * B + b]).ToArray();
            nll += logZ - Score(crf, x, b, gold);
            foreach (var (y, weight) in AllPaths(K, L).Select(y => (y, Math.Exp(Score(crf, x, b, y) - logZ))).Append((gold, -1.0)))
            {
                dStart[y[0]] += weight;
                dEnd[y[L - 1]] += weight;
                for (int t = 0; t < L; t++) dx[(t * B + b) * K + y[t]] += weight;
                for (int t = 1; t < L; t++) dA[y[t - 1] * K + y[t]] += weight;
            }
        }

        Assert.Equal(nll, crf.Forward(x, tags, lengths), 1e-12 * Math.Abs(nll));
        crf.ZeroGrad();
        var grad = crf.Backward(1f);
        void Compare(string what, double[] expected, float[] actual)
        {
            for (int i = 0; i < expected.Length; i++)
                if (!(Math.Abs(actual[i] - expected[i]) <= 1e-6 + 1e-5 * Math.Abs(expected[i])))
                    Assert.Fail($"{scenario} {what}[{i}]: brute force {expected[i]:G8}, got {actual[i]:G8}");
        }
        Compare("dEmissions", dx, grad.Data);
        Compare("dTransitions", dA, crf.Transitions.Grad.Data);
        Compare("dStart", dStart, crf.StartTransitions.Grad.Data);
        Compare("dEnd", dEnd, crf.EndTransitions.Grad.Data);
        var paths = new int[T * B];
        crf.Decode(x, lengths, paths);
        for (int b = 0; b < B; b++)
            Assert.Equal(BruteForce(crf, x, b, lengths[b]).Path, Enumerable.Range(0, lengths[b]).Select(t => paths[t * B + b]));
    }

    // ------------------------------------------------------------------ init, errors

    [Fact]
    public void InitializationIsPytorchCrfsAndTheNamesAreItsStateDictKeys()
    {
        var crf = new LinearChainCrf(9, new Rng(11));
        Assert.Equal(9, crf.NumTags);
        Assert.Equal(["start_transitions", "end_transitions", "transitions"], crf.Parameters().Select(p => p.Name));
        Assert.Equal([9, 9], crf.Transitions.Shape);
        Assert.Equal([9], crf.StartTransitions.Shape);
        Assert.Equal([9], crf.EndTransitions.Shape);
        var all = crf.Parameters().SelectMany(p => p.Value.Data).ToArray();
        Assert.All(all, v => Assert.InRange(v, -0.1f, 0.1f));
        Assert.True(all.Max() > 0.08f && all.Min() < -0.08f);
        Assert.Equal(crf.Transitions.Value.Data, new LinearChainCrf(9, new Rng(11)).Transitions.Value.Data);
        Assert.Throws<ArgumentException>(() => new LinearChainCrf(0));
    }

    [Fact]
    public void ErrorsNameTheLayerAndWhatIsWrong()
    {
        var crf = new LinearChainCrf(4, new Rng(12));
        var x = new Tensor(3, 2, 4);
        int[] tags = [0, 1, 2, 3, 0, -1], lengths = [3, 2];
        Assert.Equal("LinearChainCrf(4): Backward without a matching Forward (call Forward, then Backward once)",
            Assert.Throws<InvalidOperationException>(() => crf.Backward(1f)).Message);

        Assert.Equal("LinearChainCrf(4).Forward: expected emissions [T, B, 4] with T, B ≥ 1, got [3, 2, 5]",
            Assert.Throws<ShapeException>(() => crf.Forward(new Tensor(3, 2, 5), tags, lengths)).Message);
        Assert.Throws<ShapeException>(() => crf.Forward(new Tensor(6, 4), tags, lengths));
        Assert.Throws<ShapeException>(() => crf.Forward(new Tensor(0, 2, 4), [], lengths));
        Assert.Contains("need 6 tags", Assert.Throws<ShapeException>(() => crf.Forward(x, [0, 1, 2], lengths)).Message);
        Assert.Contains("lengths has 3 entries", Assert.Throws<ShapeException>(() => crf.Forward(x, tags, [3, 2, 1])).Message);
        Assert.Contains("lengths[1] = 4 is outside 1..3",
            Assert.Throws<ArgumentException>(() => crf.Forward(x, tags, [3, 4])).Message);
        Assert.Contains("lengths[0] = 0", Assert.Throws<ArgumentException>(() => crf.Forward(x, tags, [0, 2])).Message);
        Assert.Equal("LinearChainCrf(4).Forward: tag 4 at position 3 (t = 1, b = 1) is outside [0, 4)",
            Assert.Throws<ArgumentException>(() => crf.Forward(x, [0, 1, 2, 4, 0, -1], lengths)).Message);
        Assert.Contains("tag -1 at position 0",
            Assert.Throws<ArgumentException>(() => crf.Forward(x, [-1, 1, 2, 3, 0, 0], lengths)).Message);
        // A failed Forward leaves no state behind.
        Assert.Throws<InvalidOperationException>(() => crf.Backward(1f));

        Assert.Contains("LinearChainCrf(4).Decode", Assert.Throws<ShapeException>(() => crf.Decode(x, lengths, new int[5])).Message);
        Assert.Throws<ShapeException>(() => crf.Decode(new Tensor(3, 2, 3), lengths, new int[6]));
        Assert.Throws<ArgumentException>(() => crf.Decode(x, [3, 0], new int[6]));

        crf.Forward(x, tags, lengths); // the padding tag −1 (t = 2, b = 1) is fine
        Assert.Equal([3, 2, 4], crf.Backward(1f).Shape);
    }
}
