using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>The score functions of <see cref="Attention"/> (names: "bahdanau", "luong-dot", "luong-general", "luong-concat").</summary>
public enum AttentionKind
{
    /// <summary>Additive, Bahdanau et al. 2015: e_s = vᵀ tanh(W_q q + W_k k_s + b_k) (<see cref="BahdanauAttention"/>).</summary>
    Bahdanau,
    /// <summary>Luong's dot: e_s = qᵀ k_s; no parameters, needs Q = K (<see cref="LuongAttention"/>).</summary>
    LuongDot,
    /// <summary>Luong's general: e_s = qᵀ W k_s, W [Q, K] (<see cref="LuongAttention"/>).</summary>
    LuongGeneral,
    /// <summary>Luong's concat: e_s = vᵀ tanh(W [q; k_s]), Bahdanau's score without b_k (<see cref="BahdanauAttention"/>).</summary>
    LuongConcat,
}

/// <summary>
/// Attention of an encoder–decoder over the encoder outputs (Bahdanau et al. 2015; Luong et al. 2015).
/// B = batch, S = source length (the longest source of the batch), K = key size (the encoder's output width),
/// Q = query size (the decoder state's width), A = attention size, T = decoder steps. Keys k: [B, S, K] batch-first;
/// sentence b has L_b = lengths[b] real positions (1 ≤ L_b ≤ S) and the rest is padding, which is never read.
/// At decoder step t, with the query q_t [B, Q]:
///
///   e_t,s = score(q_t, k_s)                          for s &lt; L_b (the kind's function, in the subclass)
///   α_t,s = exp(e_t,s) / Σ_{s'&lt;L_b} exp(e_t,s')      exactly 0 for s ≥ L_b
///   c_t   = Σ_s α_t,s k_s                             [B, K]
///
/// Backward of the softmax and the weighted sum, given dc_t:
///   dα_t,s = dc_t·k_s;   de_t,s = α_t,s (dα_t,s − Σ_s' α_t,s' dα_t,s');   dk_s += α_t,s dc_t   (+ the score's own terms)
///
/// A batch is one SetKeys, Step for t = 0, 1, …, BackwardStep from the last step down to 0, then EndBackward.
/// SetKeys copies the keys with their padding zeroed (a copy is B·S·K floats against the steps' T·B·S·A work, and it
/// keeps garbage in the padding out of every product) and lets the kind do its per-key work once. Step keeps q_t
/// [T, B, Q] and α_t [T, B, S] (and the kind's own arena) for backward; the kind adds the parameter gradients in
/// EndBackward, where the steps' products become one GEMM each. Attend is Step with nothing saved (greedy and beam
/// search). Arenas are sized for maxSteps and the batch's shape and grow to the largest seen; nothing allocates per
/// step. The parameters must not change between SetKeys and EndBackward.
/// </summary>
public abstract class Attention : IModule
{
    private static readonly string[] KindNames = ["bahdanau", "luong-dot", "luong-general", "luong-concat"];

    /// <summary>The score function: Bahdanau's additive MLP or one of Luong's dot, general or concat.</summary>
    public AttentionKind Kind { get; }
    /// <summary>Q: the width of a query (the decoder state).</summary>
    public int QuerySize { get; }
    /// <summary>K: the width of a key (an encoder output: both directions' states together for a bidirectional encoder).</summary>
    public int KeySize { get; }

    private enum Phase { NoKeys, Forward, Backward, Finished }

    private Phase _phase = Phase.NoKeys;
    private int _batch, _sourceLength, _maxSteps;
    private int _steps;         // steps taken since SetKeys
    private int _nextBackward;  // the step BackwardStep expects next
    // SetKeys since the last backward pass began, and how many the last pass's batch stood for: an attention shared by
    // two decoders keeps only the last batch, so a second backward pass after two SetKeys is told why it cannot run.
    private int _setKeys, _setKeysServed;
    private int[] _lengths = [];
    private AlignedFloats _keys, _queries, _alpha, _dScores, _dKeys;
    private readonly RowsWork _work;

    private protected Attention(AttentionKind kind, int querySize, int keySize)
    {
        if (querySize <= 0 || keySize <= 0)
            throw new ArgumentException($"Attention({Name(kind)}): the query and key sizes must be positive, got {querySize} and {keySize}");
        Kind = kind;
        QuerySize = querySize;
        KeySize = keySize;
        _work = new RowsWork(this);
    }

    /// <summary>
    /// A new attention of this kind; attentionSize is A for bahdanau and luong-concat (unused by luong-dot, which needs
    /// querySize = keySize, and luong-general). Parameters ~ PyTorch's nn.Linear default U(±1/√fan_in), v ~ U(±1/√A),
    /// drawn from rng in the order of Parameters() (an Rng from <see cref="Rng.FromGlobal"/> if null).
    /// </summary>
    public static Attention Create(AttentionKind kind, int querySize, int keySize, int attentionSize, Rng? rng = null) => kind switch
    {
        AttentionKind.Bahdanau or AttentionKind.LuongConcat => new BahdanauAttention(kind, querySize, keySize, attentionSize, rng ?? Rng.FromGlobal()),
        AttentionKind.LuongDot or AttentionKind.LuongGeneral => new LuongAttention(kind, querySize, keySize, rng ?? Rng.FromGlobal()),
        _ => throw new ArgumentException($"Attention.Create: unknown attention kind {(int)kind}"),
    };

    /// <summary>The kind named "bahdanau", "luong-dot", "luong-general" or "luong-concat" (the command line's spelling).</summary>
    public static AttentionKind ParseKind(string name)
    {
        int i = Array.IndexOf(KindNames, name);
        if (i < 0) throw new ArgumentException($"unknown attention '{name}'; expected one of {string.Join(", ", KindNames)}");
        return (AttentionKind)i;
    }

    /// <summary>The name ParseKind reads.</summary>
    public static string Name(AttentionKind kind) =>
        (uint)kind < (uint)KindNames.Length ? KindNames[(int)kind] : throw new ArgumentException($"unknown attention kind {(int)kind}");

    /// <inheritdoc/>
    public abstract IEnumerable<Parameter> Parameters();

    private protected string Label => $"Attention({Name(Kind)})";

    // ------------------------------------------------------------------ what the kinds see

    private protected int Batch => _batch;
    private protected int SourceLength => _sourceLength;
    private protected ReadOnlySpan<int> Lengths => _lengths.AsSpan(0, _batch);
    /// <summary>The copy of the keys [B, S, K], zero on padding.</summary>
    private protected ReadOnlySpan<float> Keys => _keys.All;

    /// <summary>Grow the kind's arenas for this shape and do the per-key work (Keys, Batch, SourceLength are set).</summary>
    private protected abstract void PrepareKeys(int maxSteps);

    /// <summary>
    /// The parts a step's rows are cut into, b ∈ <see cref="PartRows"/>(part): one per GEMM thread when the batch's
    /// per-step work (B·S·K floats) is worth sharing, else one. Fixed by SetKeys, so a kind can size per-part scratch.
    /// </summary>
    private protected int Parts { get; private set; } = 1;

    /// <summary>The rows [b0, b1) of part <paramref name="part"/>.</summary>
    private protected (int B0, int B1) PartRows(int part) => ParallelParts.Range(_batch, Parts, part);

    /// <summary>The step's work on all rows at once before the rows' parts (a GEMM over the batch); none by default.</summary>
    private protected virtual void PrepareScore(int t, ReadOnlySpan<float> query) { }

    /// <summary>scores[b·S + s] = e(query_b, k_b,s) for s &lt; L_b and b in [b0, b1) (the rest is not read). t ≥ 0: keep
    /// step t for backward; t = −1: Attend, keep nothing. Runs on any thread, at the same time as other parts; scratch
    /// must be the part's own.</summary>
    private protected abstract void ScoreRows(int t, ReadOnlySpan<float> query, Span<float> scores, int b0, int b1, int part);

    /// <summary>Clear the kind's accumulators before the first BackwardStep of a batch.</summary>
    private protected abstract void BeginBackward();

    /// <summary>Given de_t [B, S] (0 on padding) and q_t, for rows b in [b0, b1) (on any thread, beside the other
    /// parts): write what is per row of dQuery [B, Q] and of the score's direct part of dKeys [B, S, K], and what
    /// EndBackward needs per row.</summary>
    private protected abstract void ScoreBackwardRows(int t, ReadOnlySpan<float> query, ReadOnlySpan<float> dScores, Span<float> dQuery,
        Span<float> dKeys, int b0, int b1, int part);

    /// <summary>After every part of the step's rows: what sums over rows (in order) or multiplies them all at once.</summary>
    private protected virtual void FinishScoreBackward(int t, ReadOnlySpan<float> dScores, Span<float> dQuery) { }

    /// <summary>After step 0: add the parameter gradients and the rest of dKeys. queries: [steps·B, Q], q_t's rows at t·B.</summary>
    private protected abstract void EndScoreBackward(int steps, ReadOnlySpan<float> queries, Span<float> dKeys);

    // ------------------------------------------------------------------ the batch's calls

    /// <summary>
    /// Starts a batch: keys [B, S, K] batch-first (copied, padding zeroed, so the caller may reuse its buffer),
    /// lengths[b] in 1..S; maxSteps bounds the Steps to come (0 for Attend only). Does the kind's per-key work once.
    /// </summary>
    public void SetKeys(ReadOnlySpan<float> keys, int batch, int sourceLength, ReadOnlySpan<int> lengths, int maxSteps)
    {
        if (batch <= 0 || sourceLength <= 0)
            throw new ArgumentException($"{Label}.SetKeys: batch and source length must be positive, got {batch} and {sourceLength}");
        if (maxSteps < 0) throw new ArgumentException($"{Label}.SetKeys: maxSteps must be ≥ 0, got {maxSteps}");
        int K = KeySize;
        long need = (long)batch * sourceLength * K;
        if (keys.Length != need)
            throw new ShapeException($"{Label}.SetKeys: expected keys [{batch}, {sourceLength}, {K}] ({need} floats), got {keys.Length} floats");
        if (lengths.Length != batch)
            throw new ShapeException($"{Label}.SetKeys: expected lengths [{batch}], got [{lengths.Length}]");
        for (int b = 0; b < batch; b++)
            if (lengths[b] < 1 || lengths[b] > sourceLength)
                throw new ArgumentException($"{Label}.SetKeys: lengths[{b}] = {lengths[b]} is outside 1..{sourceLength}");

        _phase = Phase.NoKeys; // until the kind's work is done
        (_batch, _sourceLength, _maxSteps, _steps) = (batch, sourceLength, maxSteps, 0);
        if (_lengths.Length < batch) _lengths = new int[batch];
        lengths.CopyTo(_lengths);
        int rows = batch * sourceLength;
        _keys = _keys.Fit(rows * K);
        var copy = _keys.All;
        for (int b = 0; b < batch; b++)
        {
            int real = lengths[b] * K, start = b * sourceLength * K;
            keys.Slice(start, real).CopyTo(copy.Slice(start, real));
            copy.Slice(start + real, (sourceLength - lengths[b]) * K).Clear();
        }
        _queries = _queries.Fit(checked(maxSteps * batch * QuerySize));
        _alpha = _alpha.Fit(checked(maxSteps * rows));
        _dScores = _dScores.Fit(rows);
        _dKeys = _dKeys.Fit(rows * K);
        // Rows are independent in every per-step loop but the kinds' sums over rows, which stay on one thread: the
        // parts' results are the same bits however many there are.
        Parts = ParallelParts.For((long)rows * K, batch);
        PrepareKeys(maxSteps);
        _phase = Phase.Forward;
        _setKeys++;
    }

    /// <summary>Decoder step t (0, 1, … in order, below maxSteps): query [B, Q] → context [B, K]; keeps q_t and α_t for backward.</summary>
    public void Step(int t, ReadOnlySpan<float> query, Span<float> context)
    {
        RequireKeys("Step");
        if (_phase != Phase.Forward)
            throw new InvalidOperationException($"{Label}.Step: backward has begun; SetKeys starts the next batch");
        if (t != _steps) throw new ArgumentException($"{Label}.Step: t = {t}, but the next step is {_steps}");
        if (t >= _maxSteps) throw new ArgumentException($"{Label}.Step: t = {t} is not below maxSteps = {_maxSteps} given to SetKeys");
        RequireRows("Step", "query", query.Length, QuerySize);
        RequireRows("Step", "context", context.Length, KeySize);
        int B = _batch, Q = QuerySize;
        query.CopyTo(_queries.Slice(t * B * Q, B * Q));
        Forward(t, query, context, _alpha.Slice(t * B * _sourceLength, B * _sourceLength));
        _steps++;
    }

    /// <summary>α_t [B, S] of a Step taken since the last SetKeys (0 at padding); valid until the next SetKeys.</summary>
    public ReadOnlySpan<float> Weights(int t)
    {
        RequireKeys("Weights");
        if ((uint)t >= (uint)_steps) throw new ArgumentException($"{Label}.Weights: t = {t}, but {_steps} steps were taken");
        int n = _batch * _sourceLength;
        return _alpha.Slice(t * n, n);
    }

    /// <summary>
    /// Backward of step t, from the last step taken down to 0: dContext = dL/dc_t [B, K] → dQuery = dL/dq_t [B, Q]
    /// (overwritten). Parameter and key gradients are gathered for EndBackward.
    /// </summary>
    public unsafe void BackwardStep(int t, ReadOnlySpan<float> dContext, Span<float> dQuery)
    {
        RequireKeys("BackwardStep");
        if (_phase == Phase.Finished)
            throw new InvalidOperationException(_setKeysServed > 1
                ? $"{Label}.BackwardStep: SetKeys was called {_setKeysServed} times before the last backward pass; its saved batch was the last one's, so a backward pass for an earlier one would be wrong — use one attention per decoder or run the backward pass in between"
                : $"{Label}.BackwardStep: EndBackward has been called; SetKeys starts the next batch");
        if (_phase == Phase.Forward)
        {
            if (_steps == 0) throw new InvalidOperationException($"{Label}.BackwardStep: no Step was taken");
            _nextBackward = _steps - 1;
            _dKeys.All.Clear();
            BeginBackward();
            _phase = Phase.Backward;
            (_setKeysServed, _setKeys) = (_setKeys, 0);
        }
        if (t != _nextBackward) throw new ArgumentException($"{Label}.BackwardStep: t = {t}, but the next step backward is {_nextBackward}");
        RequireRows("BackwardStep", "dContext", dContext.Length, KeySize);
        RequireRows("BackwardStep", "dQuery", dQuery.Length, QuerySize);

        fixed (float* dc = dContext, dq = dQuery)
        {
            _work.Set(t, forward: false, dc, dq, null);
            ParallelParts.Run(_work, Parts);
        }
        FinishScoreBackward(t, _dScores.All, dQuery);
        _nextBackward--;
    }

    /// <summary>BackwardStep's rows [b0, b1): de_t and dKeys by the softmax and the weighted sum, then the score's part.</summary>
    private void BackwardRows(int t, ReadOnlySpan<float> dContext, Span<float> dQuery, int part)
    {
        int B = _batch, S = _sourceLength, K = KeySize;
        var (b0, b1) = PartRows(part);
        ReadOnlySpan<float> alpha = _alpha.Slice(t * B * S, B * S), keys = _keys.All;
        Span<float> de = _dScores.All, dKeys = _dKeys.All;
        for (int b = b0; b < b1; b++)
        {
            int L = _lengths[b];
            var dc = dContext.Slice(b * K, K);
            float weighted = 0; // Σ_s α_s dα_s
            for (int s = 0; s < L; s++)
            {
                int row = b * S + s;
                float dAlpha = Kernels.Dot(dc, keys.Slice(row * K, K));
                de[row] = dAlpha;
                weighted += alpha[row] * dAlpha;
                Kernels.AddScaled(dKeys.Slice(row * K, K), dc, alpha[row]);
            }
            for (int s = 0; s < L; s++) de[b * S + s] = alpha[b * S + s] * (de[b * S + s] - weighted);
            de.Slice(b * S + L, S - L).Clear();
        }
        ScoreBackwardRows(t, _queries.Slice(t * B * QuerySize, B * QuerySize), de, dQuery, dKeys, b0, b1, part);
    }

    /// <summary>
    /// After BackwardStep(0): accumulates the parameter gradients and returns dL/dkeys [B, S, K] (through the score's
    /// key projection too; 0 at padding), valid until the next SetKeys.
    /// </summary>
    public ReadOnlySpan<float> EndBackward()
    {
        RequireKeys("EndBackward");
        if (_phase != Phase.Backward || _nextBackward != -1)
            throw new InvalidOperationException(_phase == Phase.Finished
                ? $"{Label}.EndBackward: already called for this batch"
                : $"{Label}.EndBackward: every step must go backward first (the next is {(_phase == Phase.Forward ? _steps - 1 : _nextBackward)})");
        EndScoreBackward(_steps, _queries.Slice(0, _steps * _batch * QuerySize), _dKeys.All);
        _phase = Phase.Finished;
        return _dKeys.All;
    }

    /// <summary>Inference: query [B, Q] → context [B, K] and weights α [B, S] over the keys of the last SetKeys; saves nothing.</summary>
    public void Attend(ReadOnlySpan<float> query, Span<float> context, Span<float> weights)
    {
        RequireKeys("Attend");
        RequireRows("Attend", "query", query.Length, QuerySize);
        RequireRows("Attend", "context", context.Length, KeySize);
        RequireRows("Attend", "weights", weights.Length, _sourceLength);
        Forward(-1, query, context, weights);
    }

    /// <summary>Scores into weights, the masked softmax in place, then c_b = Σ_{s&lt;L_b} α_s k_s: the rows cut into parts.</summary>
    private unsafe void Forward(int t, ReadOnlySpan<float> query, Span<float> context, Span<float> weights)
    {
        PrepareScore(t, query);
        fixed (float* q = query, c = context, w = weights)
        {
            _work.Set(t, forward: true, q, c, w);
            ParallelParts.Run(_work, Parts);
        }
    }

    private void ForwardRows(int t, ReadOnlySpan<float> query, Span<float> context, Span<float> weights, int part)
    {
        var (b0, b1) = PartRows(part);
        ScoreRows(t, query, weights, b0, b1, part);
        int S = _sourceLength, K = KeySize;
        ReadOnlySpan<float> keys = _keys.All;
        for (int b = b0; b < b1; b++)
        {
            int L = _lengths[b];
            var alpha = weights.Slice(b * S, S);
            Kernels.SoftmaxRow(alpha[..L], alpha[..L]);
            alpha[L..].Clear();
            var c = context.Slice(b * K, K);
            c.Clear();
            for (int s = 0; s < L; s++) Kernels.AddScaled(c, keys.Slice((b * S + s) * K, K), alpha[s]);
        }
    }

    /// <summary>One step's rows, forward (query, context, weights) or backward (dContext, dQuery), as parts.</summary>
    private sealed unsafe class RowsWork(Attention owner) : IParallelWork
    {
        private int _t;
        private bool _forward;
        private float* _first, _second, _third;

        public void Set(int t, bool forward, float* first, float* second, float* third)
        {
            (_t, _forward) = (t, forward);
            _first = first; _second = second; _third = third;
        }

        public void RunPart(int part)
        {
            int B = owner._batch, Q = owner.QuerySize, K = owner.KeySize;
            if (_forward)
                owner.ForwardRows(_t, new ReadOnlySpan<float>(_first, B * Q), new Span<float>(_second, B * K),
                    new Span<float>(_third, B * owner._sourceLength), part);
            else owner.BackwardRows(_t, new ReadOnlySpan<float>(_first, B * K), new Span<float>(_second, B * Q), part);
        }
    }

    private void RequireKeys(string method)
    {
        if (_phase == Phase.NoKeys) throw new InvalidOperationException($"{Label}.{method} called before SetKeys");
    }

    private void RequireRows(string method, string what, int length, int width)
    {
        if (length != _batch * width)
            throw new ShapeException($"{Label}.{method}: expected {what} [{_batch}, {width}] ({_batch * width} floats), got {length} floats");
    }
}
