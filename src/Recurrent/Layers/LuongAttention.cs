using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// Multiplicative attention of Luong et al. (2015) (see <see cref="Attention"/> for B, S, K, Q, T and the softmax
/// around the score):  dot  e_s = qᵀ k_s  (Q = K, no parameters);  general  e_s = qᵀ W k_s,  "weight" W [Q, K]
/// (nn.Linear(K, Q, bias=False) applied to the keys). Luong's third score, concat, is additive: see
/// <see cref="BahdanauAttention"/>.
///
/// Both are e_s = q·p_s with p_s = k_s (dot) or W k_s (general); for general, SetKeys computes P = k Wᵀ [B, S, Q]
/// once, one GEMM. Per step: e_t,s = q_t·p_s for each real (b, s).
/// Backward of step t, given de_t:  dq_t = Σ_s de_t,s p_s;  dP_s += de_t,s q_t  (dP is dk itself for dot).
/// EndBackward (general), once for all steps:  dW += dPᵀ k,  dk += dP W.
/// Kept for backward: nothing of its own (the base keeps q_t); dP [B, S, Q] gathers the steps.
/// </summary>
public sealed class LuongAttention : Attention
{
    private readonly Parameter? _weight;           // general only
    private AlignedFloats _projected, _dProjected; // P, dP [B, S, Q] (general only)

    internal LuongAttention(AttentionKind kind, int querySize, int keySize, Rng rng) : base(kind, querySize, keySize)
    {
        if (kind == AttentionKind.LuongDot)
        {
            if (querySize != keySize)
                throw new ArgumentException($"Attention(luong-dot): e = qᵀk needs the query size {querySize} to equal the key size {keySize}");
        }
        else if (kind == AttentionKind.LuongGeneral)
        {
            _weight = new Parameter("weight", querySize, keySize);
            Init.Uniform(_weight.Value, 1f / MathF.Sqrt(keySize), rng);
        }
        else throw new ArgumentException($"LuongAttention: {Name(kind)} is not a multiplicative score");
    }

    /// <summary>luong-general: weight; luong-dot: none.</summary>
    public override IEnumerable<Parameter> Parameters()
    {
        if (_weight is not null) yield return _weight;
    }

    /// <summary>P [B, S, Q]: the keys themselves for dot, k Wᵀ for general.</summary>
    private ReadOnlySpan<float> Projected => _weight is null ? Keys : _projected;

    private protected override void PrepareKeys(int maxSteps)
    {
        if (_weight is null) return;
        int rows = Batch * SourceLength, Q = QuerySize, K = KeySize;
        _projected = _projected.Fit(rows * Q);
        _dProjected = _dProjected.Fit(rows * Q);
        // P[B·S, Q] = k[B·S, K] · W[Q, K]ᵀ
        Gemm.Multiply(Keys, K, false, _weight.Value.Data, K, true, _projected, Q, rows, Q, K);
    }

    private protected override void ScoreRows(int t, ReadOnlySpan<float> query, Span<float> scores, int b0, int b1, int part)
    {
        int S = SourceLength, Q = QuerySize;
        var projected = Projected;
        var lengths = Lengths;
        for (int b = b0; b < b1; b++)
        {
            var q = query.Slice(b * Q, Q);
            for (int s = 0; s < lengths[b]; s++) scores[b * S + s] = Kernels.Dot(q, projected.Slice((b * S + s) * Q, Q));
        }
    }

    private protected override void BeginBackward()
    {
        if (_weight is not null) _dProjected.All.Clear();
    }

    private protected override void ScoreBackwardRows(int t, ReadOnlySpan<float> query, ReadOnlySpan<float> dScores, Span<float> dQuery,
        Span<float> dKeys, int b0, int b1, int part)
    {
        int S = SourceLength, Q = QuerySize;
        var projected = Projected;
        var dProjected = _weight is null ? dKeys : _dProjected.All;
        var lengths = Lengths;
        for (int b = b0; b < b1; b++)
        {
            var q = query.Slice(b * Q, Q);
            var dq = dQuery.Slice(b * Q, Q);
            dq.Clear();
            for (int s = 0; s < lengths[b]; s++)
            {
                int row = b * S + s;
                Kernels.AddScaled(dq, projected.Slice(row * Q, Q), dScores[row]);
                Kernels.AddScaled(dProjected.Slice(row * Q, Q), q, dScores[row]);
            }
        }
    }

    private protected override void EndScoreBackward(int steps, ReadOnlySpan<float> queries, Span<float> dKeys)
    {
        if (_weight is null) return;
        int rows = Batch * SourceLength, Q = QuerySize, K = KeySize;
        // dW[Q, K] += dP[B·S, Q]ᵀ · k[B·S, K]
        Gemm.Multiply(_dProjected, Q, true, Keys, K, false, _weight.Grad.Data, K, Q, K, rows, accumulate: true);
        // dk[B·S, K] += dP[B·S, Q] · W[Q, K]
        Gemm.Multiply(_dProjected, Q, false, _weight.Value.Data, K, false, dKeys, K, rows, K, Q, accumulate: true);
    }
}
