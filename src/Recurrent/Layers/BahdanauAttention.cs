using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// Additive attention (see <see cref="Attention"/> for B, S, K, Q, A, T and the softmax around the score).
/// Bahdanau et al. (2015):  e_s = vᵀ tanh(W_q q + W_k k_s + b_k),  "query_projection.weight" W_q [A, Q],
/// "key_projection.weight" W_k [A, K], "key_projection.bias" b_k [A], "v" [A].
/// Luong et al. (2015)'s concat is the same function without b_k: e_s = vᵀ tanh(W [q; k_s]) with "weight"
/// W = [W_q | W_k] [A, Q + K] and "v" [A], so both kinds are this class, W_q and W_k being views of W's columns
/// (row stride Q + K) for concat.
///
/// Per batch (SetKeys):  P = k W_kᵀ + b_k  [B, S, A], one GEMM (the per-key half of the tanh's argument).
/// Per step:  W_q q_t [B, A], one GEMM;  u_t,s = tanh(P_s + W_q q_t),  e_t,s = v·u_t,s  for each real (b, s).
/// Backward of step t, given de_t:  z_t,s = de_t,s v ⊙ (1 − u_t,s²) (the gradient under the tanh);  dv += Σ_s de_t,s u_t,s;
///   g_t = Σ_s z_t,s [B, A];  dq_t = g_t W_q;  dP_s += z_t,s.  The rows b are cut among the threads (each z in the
///   part's own scratch row); dv, a sum over every row, is added on one thread afterwards in (b, s) order.
/// EndBackward, once for all steps:  dW_q += Σ_t g_tᵀ q_t (one GEMM over the T·B rows),  dW_k += dPᵀ k,  db_k += Σ dP,
///   dk += dP W_k.
/// Kept for backward: u [T, B, S, A] and g [T, B, A]; the
/// queries are the base's. Padding rows of P are b_k (the keys' copy is zero there) and are never read.
/// </summary>
public sealed class BahdanauAttention : Attention
{
    /// <summary>A: the width of the hidden layer of the score MLP, the rows of W_q and W_k.</summary>
    public int AttentionSize { get; }

    private readonly Parameter _queryWeight, _keyWeight, _v; // _queryWeight == _keyWeight for concat
    private readonly Parameter? _keyBias;
    // Row strides of W_q and W_k (their own widths, or Q + K in concat's W); W_k starts at column _keyColumn.
    private readonly int _queryStride, _keyStride, _keyColumn;

    private AlignedFloats _projectedKeys, _dProjectedKeys; // P, dP [B, S, A]
    private AlignedFloats _tanh, _dQueryProjection;        // u [T, B, S, A], g [T, B, A]
    private AlignedFloats _queryProjection, _row;          // W_q q [B, A] of the current step; each part's u of one (b, s) in Attend, z in backward [parts, A]
    private readonly float[] _dv;

    internal BahdanauAttention(AttentionKind kind, int querySize, int keySize, int attentionSize, Rng rng)
        : base(kind, querySize, keySize)
    {
        if (kind is not (AttentionKind.Bahdanau or AttentionKind.LuongConcat))
            throw new ArgumentException($"BahdanauAttention: {Name(kind)} is not an additive score");
        if (attentionSize <= 0)
            throw new ArgumentException($"Attention({Name(kind)}): the attention size must be positive, got {attentionSize}");
        AttentionSize = attentionSize;
        if (kind == AttentionKind.Bahdanau)
        {
            _queryWeight = new Parameter("query_projection.weight", attentionSize, querySize);
            _keyWeight = new Parameter("key_projection.weight", attentionSize, keySize);
            _keyBias = new Parameter("key_projection.bias", attentionSize);
            Init.Uniform(_queryWeight.Value, 1f / MathF.Sqrt(querySize), rng);
            Init.Uniform(_keyWeight.Value, 1f / MathF.Sqrt(keySize), rng);
            Init.Uniform(_keyBias.Value, 1f / MathF.Sqrt(keySize), rng);
            (_queryStride, _keyStride, _keyColumn) = (querySize, keySize, 0);
        }
        else
        {
            _queryWeight = _keyWeight = new Parameter("weight", attentionSize, querySize + keySize);
            Init.Uniform(_queryWeight.Value, 1f / MathF.Sqrt(querySize + keySize), rng);
            (_queryStride, _keyStride, _keyColumn) = (querySize + keySize, querySize + keySize, querySize);
        }
        _v = new Parameter("v", attentionSize);
        Init.Uniform(_v.Value, 1f / MathF.Sqrt(attentionSize), rng);
        _dv = new float[attentionSize];
    }

    /// <summary>bahdanau: query_projection.weight, key_projection.weight, key_projection.bias, v; luong-concat: weight, v.</summary>
    public override IEnumerable<Parameter> Parameters()
    {
        yield return _queryWeight;
        if (_keyWeight != _queryWeight) yield return _keyWeight;
        if (_keyBias is not null) yield return _keyBias;
        yield return _v;
    }

    private ReadOnlySpan<float> QueryWeight => _queryWeight.Value.Data;
    private ReadOnlySpan<float> KeyWeight => _keyWeight.Value.Data.AsSpan(_keyColumn);

    private protected override void PrepareKeys(int maxSteps)
    {
        int B = Batch, rows = B * SourceLength, A = AttentionSize, K = KeySize;
        _projectedKeys = _projectedKeys.Fit(rows * A);
        _dProjectedKeys = _dProjectedKeys.Fit(rows * A);
        _tanh = _tanh.Fit(checked(maxSteps * rows * A));
        _dQueryProjection = _dQueryProjection.Fit(checked(maxSteps * B * A));
        _queryProjection = _queryProjection.Fit(B * A);
        _row = _row.Fit(Parts * A);
        // P[B·S, A] = k[B·S, K] · W_kᵀ (+ b_k)
        if (_keyBias is not null)
            Gemm.MultiplyAddBias(Keys, K, false, KeyWeight, _keyStride, true, _keyBias.Value.Data, _projectedKeys, A, rows, A, K);
        else
            Gemm.Multiply(Keys, K, false, KeyWeight, _keyStride, true, _projectedKeys, A, rows, A, K);
    }

    private protected override void PrepareScore(int t, ReadOnlySpan<float> query)
    {
        int B = Batch, A = AttentionSize;
        // W_q q [B, A] = q[B, Q] · W_qᵀ
        Gemm.Multiply(query, QuerySize, false, QueryWeight, _queryStride, true, _queryProjection, A, B, A, QuerySize);
    }

    private protected override void ScoreRows(int t, ReadOnlySpan<float> query, Span<float> scores, int b0, int b1, int part)
    {
        int B = Batch, S = SourceLength, A = AttentionSize;
        ReadOnlySpan<float> wq = _queryProjection, projected = _projectedKeys, v = _v.Value.Data;
        var lengths = Lengths;
        for (int b = b0; b < b1; b++)
        {
            var wqb = wq.Slice(b * A, A);
            for (int s = 0; s < lengths[b]; s++)
            {
                int row = b * S + s;
                var u = t >= 0 ? _tanh.Slice(((t * B + b) * S + s) * A, A) : _row.Slice(part * A, A);
                Kernels.Add(projected.Slice(row * A, A), wqb, u);
                Kernels.Tanh(u, u);
                scores[row] = Kernels.Dot(u, v);
            }
        }
    }

    private protected override void BeginBackward()
    {
        _dProjectedKeys.All.Clear();
        Array.Clear(_dv);
    }

    private protected override void ScoreBackwardRows(int t, ReadOnlySpan<float> query, ReadOnlySpan<float> dScores, Span<float> dQuery,
        Span<float> dKeys, int b0, int b1, int part)
    {
        int B = Batch, S = SourceLength, A = AttentionSize;
        Span<float> dProjected = _dProjectedKeys, z = _row.Slice(part * A, A);
        ReadOnlySpan<float> v = _v.Value.Data;
        var lengths = Lengths;
        for (int b = b0; b < b1; b++)
        {
            var gb = _dQueryProjection.Slice((t * B + b) * A, A);
            gb.Clear();
            for (int s = 0; s < lengths[b]; s++)
            {
                int row = b * S + s;
                ReadOnlySpan<float> u = _tanh.Slice(((t * B + b) * S + s) * A, A);
                Kernels.TanhBackward(u, v, z); // v ⊙ (1 − u²)
                Kernels.Scale(z, dScores[row]);
                var dp = dProjected.Slice(row * A, A);
                Kernels.Add(dp, z, dp);
                Kernels.Add(gb, z, gb);
            }
        }
    }

    /// <summary>dv += Σ de u over the step's (b, s) in order, on one thread; then dq = g W_q for the whole batch.</summary>
    private protected override void FinishScoreBackward(int t, ReadOnlySpan<float> dScores, Span<float> dQuery)
    {
        int B = Batch, S = SourceLength, A = AttentionSize;
        var lengths = Lengths;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < lengths[b]; s++)
                Kernels.AddScaled(_dv, _tanh.Slice(((t * B + b) * S + s) * A, A), dScores[b * S + s]);
        // dq[B, Q] = g[B, A] · W_q[A, Q]
        Gemm.Multiply(_dQueryProjection.Slice(t * B * A, B * A), A, false, QueryWeight, _queryStride, false, dQuery, QuerySize, B, QuerySize, A);
    }

    private protected override void EndScoreBackward(int steps, ReadOnlySpan<float> queries, Span<float> dKeys)
    {
        int B = Batch, S = SourceLength, rows = B * S, A = AttentionSize, Q = QuerySize, K = KeySize;
        ReadOnlySpan<float> dProjected = _dProjectedKeys;
        // dW_q[A, Q] += g[T·B, A]ᵀ · q[T·B, Q]
        Gemm.Multiply(_dQueryProjection, A, true, queries, Q, false, _queryWeight.Grad.Data, _queryStride, A, Q, steps * B, accumulate: true);
        // dW_k[A, K] += dP[B·S, A]ᵀ · k[B·S, K]
        Gemm.Multiply(dProjected, A, true, Keys, K, false, _keyWeight.Grad.Data.AsSpan(_keyColumn), _keyStride, A, K, rows, accumulate: true);
        if (_keyBias is not null)
        {
            Span<float> db = _keyBias.Grad.Data;
            var lengths = Lengths;
            for (int b = 0; b < B; b++)
                for (int s = 0; s < lengths[b]; s++) Kernels.Add(db, dProjected.Slice((b * S + s) * A, A), db);
        }
        // dk[B·S, K] += dP[B·S, A] · W_k[A, K]
        Gemm.Multiply(dProjected, A, false, KeyWeight, _keyStride, false, dKeys, K, rows, K, A, accumulate: true);
        Span<float> dv = _v.Grad.Data;
        Kernels.Add(dv, _dv, dv);
    }
}
