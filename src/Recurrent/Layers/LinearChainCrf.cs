using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// A linear-chain conditional random field over K tags: the output layer of a BiLSTM-CRF tagger (Lample et al. 2016).
/// Parameters, names and semantics are pytorch-crf's torchcrf.CRF (batch_first=False), so weights move both ways:
/// A = "transitions" [K, K] (A[i, j] scores moving from tag i to tag j), s = "start_transitions" [K],
/// e = "end_transitions" [K].
/// T = time (the longest sequence), B = batch, K = tags; emissions x: [T, B, K] time-major; sequence b has
/// L = lengths[b] steps (1 ≤ L ≤ T) and its positions t ≥ L are padding, never read.
///
///   score(y) = s[y_0] + Σ_{t&lt;L} x[t, y_t] + Σ_{1≤t&lt;L} A[y_{t−1}, y_t] + e[y_{L−1}]
///   NLL      = log Z − score(gold),   log Z = log Σ_y exp score(y)
///
/// Forward algorithm, in log space: α_0[k] = s[k] + x[0, k];  α_t[j] = x[t, j] + log Σ_i exp(α_{t−1}[i] + A[i, j]);
///   log Z = log Σ_k exp(α_{L−1}[k] + e[k]).
/// Backward algorithm: β_{L−1}[k] = e[k];  β_{t−1}[i] = log Σ_j exp(A[i, j] + x[t, j] + β_t[j]).
/// Marginals: p(y_t = k) = exp(α_t[k] + β_t[k] − log Z);
///   p(y_{t−1} = i, y_t = j) = exp(α_{t−1}[i] + A[i, j] + x[t, j] + β_t[j] − log Z).
/// Gradients of the NLL: ∂/∂x[t, k] = p(y_t = k) − [gold_t = k];  ∂/∂s[k] = p(y_0 = k) − [gold_0 = k];
///   ∂/∂e[k] = p(y_{L−1} = k) − [gold_{L−1} = k];  ∂/∂A[i, j] = Σ_{1≤t&lt;L} p(y_{t−1} = i, y_t = j) − #{t: gold_{t−1} = i, gold_t = j}.
/// Viterbi: the forward recursion with max in place of log Σ exp, then the back-pointers from the best last tag.
///
/// Messages and sums are double. A plain log Σ exp over the K² terms of a step costs K² exps, so the recursions are
/// factored through E[i, j] = exp(A[i, j] − max A), computed once per Forward (K exps and K logs per step):
///   α_t[j] = x[t, j] + m + max A + log S_j,   S_j = Σ_i exp(α_{t−1}[i] − m)·E[i, j],          m = max α_{t−1};
///   β_{t−1}[i] = m' + max A + log R_i,        R_i = Σ_j E[i, j]·exp(x[t, j] + β_t[j] − m'),   m' = max_j (x[t, j] + β_t[j]).
/// Every factor is at most 1, so nothing overflows, and each term is exact to rounding unless it underflows
/// (&lt; 2.3e-308). Forward: next to S_j ≥ 1e-250 that is a relative error below K·1e-57; a column with S_j &lt; 1e-250
/// (a tag entered only through transitions far below max A, such as a hard constraint of −1e4 or −∞ on a whole column)
/// is recomputed by the plain log-sum-exp. Backward: the pair marginal is c·exp(α_{t−1}[i] − m)·E[i, j]·exp(x[t, j] +
/// β_t[j] − m') and p(y_{t−1} = i) = c·exp(α_{t−1}[i] − m)·R_i, with c = exp(m + m' + max A − log Z); so while c ≤ 1e250
/// the probability an underflow can hide, even an R_i that underflows to 0, is below K·1e-57. A step with c > 1e250
/// (a forbidden transition between two emission peaks some hundreds apart) takes the plain log-sum-exp over K² exps.
/// The plain sums give −∞ (not NaN) when every term is −∞, so −∞ transitions work as hard constraints.
///
/// Keeps for backward: a reference to the emissions (the caller must not change them before Backward), copies of the
/// tags and lengths, α and log Z per sequence. The parameters must not change between Forward and Backward. Owns
/// α, β (both [B, T, K], each sequence's steps adjacent) and the emission gradient, which grow to the largest shape seen
/// (the gradient is resized in place) and are reused below it.
/// </summary>
public sealed class LinearChainCrf : IModule
{
    /// <summary>A factored forward sum at least this large is exact to double rounding; below it the plain log-sum-exp is used.</summary>
    private const double SmallestFactoredSum = 1e-250;
    /// <summary>ln 1e250: the largest log of the pair-marginal scale c for which a backward step is factored.</summary>
    private const double LargestLogPairScale = 575;

    /// <summary>K: the number of tags (the width of the emission scores).</summary>
    public int NumTags { get; }
    /// <summary>"transitions" [K, K]: score of moving from tag i (row) to tag j (column).</summary>
    public Parameter Transitions { get; }
    /// <summary>"start_transitions" [K]: score of starting a sequence at each tag.</summary>
    public Parameter StartTransitions { get; }
    /// <summary>"end_transitions" [K]: score of ending a sequence at each tag.</summary>
    public Parameter EndTransitions { get; }

    // The last Forward: its inputs, α [B, T, K] and log Z [B].
    private Tensor? _emissions;
    private readonly BackwardGuard _guard = new();
    private int _time, _batch;
    private int[] _tags = [], _lengths = [];
    private double[] _alpha = [], _beta = [], _logZ = [];
    // E = exp(A − max A), fixed by Forward for the matching Backward; not factored when max A is not finite.
    private readonly double[] _expTransitions;
    private double _maxTransition;
    private bool _factored;

    private readonly double[] _exponent, _scaled;  // [K] scratch of one step: x_t + β_t, and exp(α_{t−1} − m) or exp(x_t + β_t − m')
    private readonly double[] _dTransitions, _dStart, _dEnd; // summed in double, added to Grad once per Backward
    private readonly Tensor _dEmissions = Tensor.Growable(0);

    // Decode: δ of the previous and current step, and one sequence's back-pointers [T, K].
    private readonly double[] _delta, _deltaNext;
    private int[] _backPointers = [];

    /// <summary>All three parameters ~ U(−0.1, 0.1) (pytorch-crf's reset_parameters: start, end, transitions, in that order; an Rng from <see cref="Rng.FromGlobal"/> if null).</summary>
    public LinearChainCrf(int numTags, Rng? rng = null)
    {
        if (numTags <= 0) throw new ArgumentException($"LinearChainCrf: num_tags must be positive, got {numTags}");
        NumTags = numTags;
        StartTransitions = new Parameter("start_transitions", numTags);
        EndTransitions = new Parameter("end_transitions", numTags);
        Transitions = new Parameter("transitions", numTags, numTags);
        rng ??= Rng.FromGlobal();
        Init.Uniform(StartTransitions.Value, 0.1f, rng);
        Init.Uniform(EndTransitions.Value, 0.1f, rng);
        Init.Uniform(Transitions.Value, 0.1f, rng);

        _expTransitions = new double[numTags * numTags];
        _dTransitions = new double[numTags * numTags];
        _exponent = new double[numTags];
        _scaled = new double[numTags];
        _dStart = new double[numTags];
        _dEnd = new double[numTags];
        _delta = new double[numTags];
        _deltaNext = new double[numTags];
    }

    /// <summary>pytorch-crf's state-dict order: start_transitions, end_transitions, transitions.</summary>
    public IEnumerable<Parameter> Parameters()
    {
        yield return StartTransitions;
        yield return EndTransitions;
        yield return Transitions;
    }

    private string Name => $"LinearChainCrf({NumTags})";

    /// <summary>"LinearChainCrf(9)": the name its error messages give it.</summary>
    public override string ToString() => Name;

    /// <summary>
    /// Σ_b NLL_b = Σ_b (log Z_b − score_b(tags)), in double. emissions: [T, B, K]; tags: [T·B] time-major (entry t·B + b;
    /// padding entries are ignored and may hold anything); lengths: [B], each in 1..T.
    /// </summary>
    public double Forward(Tensor emissions, int[] tags, int[] lengths)
    {
        var (T, B) = CheckInputs(emissions, lengths, "Forward");
        int K = NumTags;
        if (tags.Length != T * B)
            throw new ShapeException($"{Name}.Forward: emissions {Tensor.Describe(emissions.Shape)} need {T * B} tags (T·B, time-major), got {tags.Length}");
        for (int b = 0; b < B; b++)
            for (int t = 0; t < lengths[b]; t++)
                if ((uint)tags[t * B + b] >= (uint)K)
                    throw new ArgumentException($"{Name}.Forward: tag {tags[t * B + b]} at position {t * B + b} (t = {t}, b = {b}) is outside [0, {K})");

        if (_alpha.Length < B * T * K) (_alpha, _beta) = (new double[B * T * K], new double[B * T * K]);
        if (_logZ.Length < B) _logZ = new double[B];
        if (_tags.Length < tags.Length) _tags = new int[tags.Length];
        if (_lengths.Length < B) _lengths = new int[B];
        tags.CopyTo(_tags, 0);
        lengths.CopyTo(_lengths, 0);
        (_emissions, _time, _batch) = (emissions, T, B);
        _guard.Forward();
        PrepareTransitions();

        ReadOnlySpan<float> x = emissions.Span, A = Transitions.Value.Data;
        ReadOnlySpan<float> start = StartTransitions.Value.Data, end = EndTransitions.Value.Data;
        double total = 0;
        for (int b = 0; b < B; b++)
        {
            int L = lengths[b];
            var alpha = _alpha.AsSpan(b * T * K, L * K);
            for (int k = 0; k < K; k++) alpha[k] = (double)start[k] + x[b * K + k];
            for (int t = 1; t < L; t++)
                ForwardStep(alpha.Slice((t - 1) * K, K), x.Slice((t * B + b) * K, K), alpha.Slice(t * K, K));
            double logZ = _logZ[b] = LogSumExp(alpha.Slice((L - 1) * K, K), end);

            int y = tags[b];
            double score = (double)start[y] + x[b * K + y];
            for (int t = 1; t < L; t++)
            {
                int next = tags[t * B + b];
                score += (double)A[y * K + next] + x[(t * B + b) * K + next];
                y = next;
            }
            score += end[y];
            total += logZ - score;
        }
        return total;
    }

    /// <summary>
    /// The gradient of scale·(the last Forward's Σ NLL): returns dEmissions [T, B, K] (the layer's buffer, zero on padding)
    /// and accumulates scale·∂/∂θ into the three parameters' Grad. Runs the backward algorithm on the kept α.
    /// </summary>
    public Tensor Backward(float scale)
    {
        _guard.Backward(this);
        var emissions = _emissions!;
        int T = _time, B = _batch, K = NumTags;
        _dEmissions.Resize(T, B, K);
        Array.Clear(_dTransitions);
        Array.Clear(_dStart);
        Array.Clear(_dEnd);

        ReadOnlySpan<float> x = emissions.Span, end = EndTransitions.Value.Data;
        Span<float> dx = _dEmissions.Span;
        for (int b = 0; b < B; b++)
        {
            int L = _lengths[b];
            double logZ = _logZ[b];
            var alpha = _alpha.AsSpan(b * T * K, L * K);
            var beta = _beta.AsSpan(b * T * K, L * K);
            var betaLast = beta.Slice((L - 1) * K, K);
            for (int k = 0; k < K; k++) betaLast[k] = end[k];
            // β_{t−1} from β_t; the same step adds the pair marginals p(y_{t−1}, y_t) to dA.
            for (int t = L - 1; t >= 1; t--)
                BackwardStep(alpha.Slice((t - 1) * K, K), x.Slice((t * B + b) * K, K), beta.Slice(t * K, K),
                    beta.Slice((t - 1) * K, K), logZ);

            int previous = -1;
            for (int t = 0; t < L; t++)
            {
                int gold = _tags[t * B + b];
                if (previous >= 0) _dTransitions[previous * K + gold] -= 1;
                previous = gold;
                var a = alpha.Slice(t * K, K);
                var be = beta.Slice(t * K, K);
                var d = dx.Slice((t * B + b) * K, K);
                for (int k = 0; k < K; k++)
                {
                    double g = Math.Exp(a[k] + be[k] - logZ) - (k == gold ? 1 : 0);
                    d[k] = (float)(scale * g);
                    if (t == 0) _dStart[k] += g;
                    if (t == L - 1) _dEnd[k] += g;
                }
            }
            for (int t = L; t < T; t++) dx.Slice((t * B + b) * K, K).Clear();
        }

        AddScaled(Transitions.Grad.Data, _dTransitions, scale);
        AddScaled(StartTransitions.Grad.Data, _dStart, scale);
        AddScaled(EndTransitions.Grad.Data, _dEnd, scale);
        return _dEmissions;
    }

    /// <summary>
    /// Viterbi: the highest-scoring tag path of each sequence, written time-major into paths[T·B] (entry t·B + b), with −1
    /// on padding. emissions: [T, B, K]; lengths: [B], each in 1..T. Leaves the last Forward's state alone; allocates only
    /// when the back-pointer buffer grows.
    /// </summary>
    public void Decode(Tensor emissions, int[] lengths, int[] paths)
    {
        var (T, B) = CheckInputs(emissions, lengths, "Decode");
        int K = NumTags;
        if (paths.Length != T * B)
            throw new ShapeException($"{Name}.Decode: emissions {Tensor.Describe(emissions.Shape)} need a path buffer of {T * B} (T·B, time-major), got {paths.Length}");
        if (_backPointers.Length < T * K) _backPointers = new int[T * K];

        ReadOnlySpan<float> x = emissions.Span, A = Transitions.Value.Data;
        ReadOnlySpan<float> start = StartTransitions.Value.Data, end = EndTransitions.Value.Data;
        for (int b = 0; b < B; b++)
        {
            int L = lengths[b];
            Span<double> delta = _delta, next = _deltaNext;
            for (int k = 0; k < K; k++) delta[k] = (double)start[k] + x[b * K + k];
            for (int t = 1; t < L; t++)
            {
                // next[j] = max_i δ[i] + A[i, j], by rows of A (contiguous); the first maximum wins ties.
                var pointers = _backPointers.AsSpan(t * K, K);
                for (int j = 0; j < K; j++) (next[j], pointers[j]) = (delta[0] + A[j], 0);
                for (int i = 1; i < K; i++)
                {
                    double di = delta[i];
                    var row = A.Slice(i * K, K);
                    for (int j = 0; j < K; j++)
                    {
                        double s = di + row[j];
                        if (s > next[j]) (next[j], pointers[j]) = (s, i);
                    }
                }
                var xt = x.Slice((t * B + b) * K, K);
                for (int j = 0; j < K; j++) next[j] += xt[j];
                var swap = delta;
                delta = next;
                next = swap;
            }
            int best = 0;
            double bestScore = delta[0] + end[0];
            for (int k = 1; k < K; k++)
                if (delta[k] + end[k] > bestScore) (best, bestScore) = (k, delta[k] + end[k]);
            paths[(L - 1) * B + b] = best;
            for (int t = L - 1; t >= 1; t--)
            {
                best = _backPointers[t * K + best];
                paths[(t - 1) * B + b] = best;
            }
            for (int t = L; t < T; t++) paths[t * B + b] = -1;
        }
    }

    /// <summary>(T, B) of emissions [T, B, K] after checking them and lengths [B] (each in 1..T).</summary>
    private (int T, int B) CheckInputs(Tensor emissions, int[] lengths, string method)
    {
        if (emissions.Rank != 3 || emissions.Shape[2] != NumTags || emissions.Shape[0] == 0 || emissions.Shape[1] == 0)
            throw new ShapeException($"{Name}.{method}: expected emissions [T, B, {NumTags}] with T, B ≥ 1, got {Tensor.Describe(emissions.Shape)}");
        int T = emissions.Shape[0], B = emissions.Shape[1];
        if (lengths.Length != B)
            throw new ShapeException($"{Name}.{method}: emissions {Tensor.Describe(emissions.Shape)} have a batch of {B} but lengths has {lengths.Length} entries");
        for (int b = 0; b < B; b++)
            if (lengths[b] < 1 || lengths[b] > T)
                throw new ArgumentException($"{Name}.{method}: lengths[{b}] = {lengths[b]} is outside 1..{T}");
        return (T, B);
    }

    /// <summary>E = exp(A − max A); the factored recursions need a finite max A (NaN or +∞ transitions go the plain way).</summary>
    private void PrepareTransitions()
    {
        ReadOnlySpan<float> A = Transitions.Value.Data;
        float max = float.NegativeInfinity;
        bool nan = false;
        foreach (float a in A)
        {
            max = MathF.Max(max, a);
            nan |= float.IsNaN(a);
        }
        _maxTransition = max;
        _factored = !nan && float.IsFinite(max);
        for (int i = 0; i < A.Length; i++) _expTransitions[i] = _factored ? Math.Exp(A[i] - _maxTransition) : 0;
    }

    /// <summary>next[j] = x[j] + log Σ_i exp(prev[i] + A[i, j]).</summary>
    private void ForwardStep(ReadOnlySpan<double> prev, ReadOnlySpan<float> x, Span<double> next)
    {
        int K = NumTags;
        if (!_factored)
        {
            for (int j = 0; j < K; j++) next[j] = x[j] + PlainColumn(prev, j);
            return;
        }
        double m = Max(prev);
        Span<double> u = _scaled;
        for (int i = 0; i < K; i++) u[i] = Math.Exp(prev[i] - m);
        // S_j = Σ_i u[i]·E[i, j], accumulated by rows of E.
        next.Clear();
        for (int i = 0; i < K; i++)
        {
            double ui = u[i];
            var row = _expTransitions.AsSpan(i * K, K);
            for (int j = 0; j < K; j++) next[j] += ui * row[j];
        }
        double offset = m + _maxTransition;
        for (int j = 0; j < K; j++)
        {
            double sum = next[j];
            next[j] = x[j] + (sum >= SmallestFactoredSum ? offset + Math.Log(sum) : PlainColumn(prev, j));
        }
    }

    /// <summary>log Σ_i exp(prev[i] + A[i, j]) over K exps.</summary>
    private double PlainColumn(ReadOnlySpan<double> prev, int j)
    {
        ReadOnlySpan<float> A = Transitions.Value.Data;
        int K = NumTags;
        double m = double.NegativeInfinity;
        for (int i = 0; i < K; i++) m = Math.Max(m, prev[i] + A[i * K + j]);
        if (m == double.NegativeInfinity) return m;
        double sum = 0;
        for (int i = 0; i < K; i++) sum += Math.Exp(prev[i] + A[i * K + j] - m);
        return m + Math.Log(sum);
    }

    /// <summary>
    /// betaPrev[i] = log Σ_j exp(A[i, j] + x[j] + beta[j]), and dA[i, j] += p(y_{t−1} = i, y_t = j) =
    /// exp(alphaPrev[i] + A[i, j] + x[j] + beta[j] − log Z): both sum the same K² terms, row by row.
    /// </summary>
    private void BackwardStep(ReadOnlySpan<double> alphaPrev, ReadOnlySpan<float> x, ReadOnlySpan<double> beta,
        Span<double> betaPrev, double logZ)
    {
        int K = NumTags;
        Span<double> v = _exponent;
        for (int j = 0; j < K; j++) v[j] = x[j] + beta[j];
        double mv = Max(v), ma = Max(alphaPrev);
        double logScale = ma + mv + _maxTransition - logZ; // log c, the pair marginals' common scale
        if (!_factored || !(logScale <= LargestLogPairScale))
        {
            for (int i = 0; i < K; i++) betaPrev[i] = PlainRow(alphaPrev[i], v, i, logZ);
            return;
        }
        Span<double> scaled = _scaled;
        for (int j = 0; j < K; j++) scaled[j] = Math.Exp(v[j] - mv);
        double c = Math.Exp(logScale);
        for (int i = 0; i < K; i++)
        {
            double w = c * Math.Exp(alphaPrev[i] - ma);
            var row = _expTransitions.AsSpan(i * K, K);
            var dRow = _dTransitions.AsSpan(i * K, K);
            double sum = 0;
            for (int j = 0; j < K; j++)
            {
                double term = row[j] * scaled[j];
                sum += term;
                dRow[j] += w * term;
            }
            betaPrev[i] = _maxTransition + mv + Math.Log(sum); // −∞ for a row that underflows: see the class comment
        }
    }

    /// <summary>
    /// Row i of a backward step over K exps: returns log Σ_j exp(A[i, j] + v[j]) and adds
    /// exp(alphaPrev + A[i, j] + v[j] − log Z) to dA[i, ·], as w·exp(A[i, j] + v[j] − m) with m the row's largest exponent
    /// and w = exp(alphaPrev + m − log Z) ≤ 1 (the row's largest pair marginal).
    /// </summary>
    private double PlainRow(double alphaPrev, ReadOnlySpan<double> v, int i, double logZ)
    {
        int K = NumTags;
        var row = Transitions.Value.Data.AsSpan(i * K, K);
        double m = double.NegativeInfinity;
        for (int j = 0; j < K; j++) m = Math.Max(m, row[j] + v[j]);
        if (m == double.NegativeInfinity) return m;
        double w = Math.Exp(alphaPrev + m - logZ);
        var dRow = _dTransitions.AsSpan(i * K, K);
        double sum = 0;
        for (int j = 0; j < K; j++)
        {
            double term = Math.Exp(row[j] + v[j] - m);
            sum += term;
            dRow[j] += w * term;
        }
        return m + Math.Log(sum);
    }

    /// <summary>log Σ_k exp(a[k] + b[k]), stable.</summary>
    private static double LogSumExp(ReadOnlySpan<double> a, ReadOnlySpan<float> b)
    {
        double m = double.NegativeInfinity;
        for (int k = 0; k < a.Length; k++) m = Math.Max(m, a[k] + b[k]);
        double sum = 0;
        for (int k = 0; k < a.Length; k++) sum += Math.Exp(a[k] + b[k] - m);
        return m + Math.Log(sum);
    }

    private static double Max(ReadOnlySpan<double> a)
    {
        double m = a[0];
        for (int k = 1; k < a.Length; k++) m = Math.Max(m, a[k]);
        return m;
    }

    /// <summary>grad += scale·sum, the double sums rounded once.</summary>
    private static void AddScaled(Span<float> grad, ReadOnlySpan<double> sum, float scale)
    {
        for (int i = 0; i < grad.Length; i++) grad[i] += (float)(scale * sum[i]);
    }
}
