using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>How <see cref="SequencePooling"/> reduces a sequence to one vector (names: "last", "mean", "max", "attention").</summary>
public enum PoolingKind
{
    /// <summary>The state at each sequence's last real step (each direction's own last step when D = 2).</summary>
    Last,
    /// <summary>The mean over the real steps.</summary>
    Mean,
    /// <summary>The maximum of each feature over the real steps.</summary>
    Max,
    /// <summary>The α-weighted sum of the steps, α = softmax of a learned query's scores (Yang et al. 2016).</summary>
    Attention,
}

/// <summary>
/// Pools a time-major sequence of feature vectors into one vector per sequence, over each sequence's valid steps
/// t &lt; n_b only. T = time, B = batch, F = features, n_b = length of sequence b (1 ≤ n_b ≤ T), D = directions.
///
///   Last:      y_b = x[n_b − 1, b]; with D = 2 the first F/2 features (the forward direction) are taken at step n_b − 1
///              and the last F/2 (the reverse direction) at step 0, where each direction ends: what PyTorch's h_n holds.
///   Mean:      y_b = (1/n_b) Σ_{t&lt;n_b} x[t, b]
///   Max:       y_b,f = max_{t&lt;n_b} x[t, b, f]; a tie goes to the first maximal step, and the gradient flows only to
///              that step (as torch.max's indices). A NaN wins (torch.max propagates it).
///   Attention: u_t = tanh(W x_t + b), s_t = qᵀ u_t, α = softmax of s over t &lt; n_b, y_b = Σ_{t&lt;n_b} α_t x_t
///              (Yang et al. 2016, hierarchical attention networks: a learned query scores every step).
///              W [F, F] ("attention.weight"), b [F] ("attention.bias"), q [F] ("attention.query").
///
/// D matters only to Last: the other kinds treat every feature alike, whichever direction it came from.
/// Padding (t ≥ n_b) is never read by Last, Mean or Max. Attention computes W x_t + b for all T·B rows in one GEMM and
/// ignores the padding rows' results, so padding values change nothing as long as they are finite (a padding row's
/// zero gradient multiplies them in dW; a recurrent layer's output is zero there).
/// Keeps for backward: the lengths; Max the argmax steps [B, F]; Attention a reference to x (the caller must not change
/// it before Backward), u [T, B, F] and α [B, T]. Owns y, dx and the weights, resized in place to each call's shape
/// (their arrays grow to the largest seen); scratch buffers grow and are kept.
/// </summary>
public sealed class SequencePooling : IModule
{
    private static readonly string[] KindNames = ["last", "mean", "max", "attention"];

    /// <summary>How the steps are reduced.</summary>
    public PoolingKind Kind { get; }
    /// <summary>F: the width of a step's features (and of the output).</summary>
    public int Features { get; }
    /// <summary>D: 1, or 2 when the features are [forward, reverse] halves of a bidirectional layer (Last then takes each half's own last step).</summary>
    public int Directions { get; }
    /// <summary>Attention only: W [F, F], b [F], q [F]; null for the other kinds.</summary>
    public Parameter? AttentionWeight { get; }
    /// <summary>Attention only: "attention.bias" b [F]; null for the other kinds.</summary>
    public Parameter? AttentionBias { get; }
    /// <summary>Attention only: "attention.query" q [F], scored against tanh(W x_t + b); null for the other kinds.</summary>
    public Parameter? AttentionQuery { get; }

    /// <summary>Attention only: [B, T] the softmax weights of the last Forward, 0 past each length (the layer's buffer);
    /// null otherwise and before the first Forward.</summary>
    public Tensor? Weights => Kind == PoolingKind.Attention && _steps >= 0 ? _alpha : null;

    private int _steps = -1, _batch = -1;
    private readonly BackwardGuard _guard = new();
    private int[] _lengths = [];     // [B] (grown)
    private Tensor? _x;
    private readonly Tensor _alpha = Tensor.Growable(0), _y = Tensor.Growable(0), _dx = Tensor.Growable(0);
    private int[] _argmax = [];      // Max: [B, F] the step each feature was taken from
    private float[] _u = [];         // Attention: [T, B, F] tanh(W x_t + b)
    private float[] _dPre = [];      // Attention backward: [T, B, F] gradient of W x_t + b
    private float[] _dAlpha = [];    // Attention backward: [T] gradient of one sequence's α

    /// <summary>W, b ~ U(±1/√F) as PyTorch's Linear(F, F), then q ~ U(±1/√F), from rng (an Rng from <see cref="Rng.FromGlobal"/> if null); attention only.</summary>
    public SequencePooling(PoolingKind kind, int features, int directions = 1, Rng? rng = null)
    {
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "SequencePooling: unknown pooling kind");
        if (features <= 0) throw new ArgumentException($"SequencePooling: features must be positive (got {features})");
        if (directions is not (1 or 2)) throw new ArgumentException($"SequencePooling: directions must be 1 or 2 (got {directions})");
        if (features % directions != 0)
            throw new ArgumentException($"SequencePooling: {features} features do not split into {directions} directions");
        Kind = kind;
        Features = features;
        Directions = directions;
        if (kind != PoolingKind.Attention) return;

        AttentionWeight = new Parameter("attention.weight", features, features);
        AttentionBias = new Parameter("attention.bias", features);
        AttentionQuery = new Parameter("attention.query", features);
        rng ??= Rng.FromGlobal();
        float bound = 1f / MathF.Sqrt(features);
        Init.Uniform(AttentionWeight.Value, bound, rng);
        Init.Uniform(AttentionBias.Value, bound, rng);
        Init.Uniform(AttentionQuery.Value, bound, rng);
    }

    /// <summary>"last" | "mean" | "max" | "attention".</summary>
    public static PoolingKind Parse(string name) => name switch
    {
        "last" => PoolingKind.Last, "mean" => PoolingKind.Mean, "max" => PoolingKind.Max, "attention" => PoolingKind.Attention,
        _ => throw new ArgumentException($"unknown pooling '{name}' (poolings: {string.Join(", ", KindNames)})"),
    };

    /// <summary>The name <see cref="Parse"/> reads; throws <see cref="ArgumentOutOfRangeException"/> for an undefined kind.</summary>
    public static string Name(PoolingKind kind) =>
        Enum.IsDefined(kind) ? KindNames[(int)kind] : throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown pooling kind");

    /// <summary>"SequencePooling(kind, F)", with ", directions=2" for two directions.</summary>
    public override string ToString() => $"SequencePooling({Name(Kind)}, {Features}{(Directions == 2 ? ", directions=2" : "")})";

    /// <summary>Attention's weight, bias and query; none for the other kinds.</summary>
    public IEnumerable<Parameter> Parameters()
    {
        if (Kind != PoolingKind.Attention) yield break;
        yield return AttentionWeight!;
        yield return AttentionBias!;
        yield return AttentionQuery!;
    }

    /// <summary>x [T, B, F], lengths [B] in 1..T → y [B, F] (the layer's buffer, overwritten by the next call).</summary>
    public Tensor Forward(Tensor x, int[] lengths)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(lengths);
        if (x.Rank != 3 || x.Dim(2) != Features)
            throw new ShapeException($"{this}.Forward: expected x [T, B, {Features}], got {Tensor.Describe(x.Shape)}");
        int T = x.Dim(0), B = x.Dim(1), F = Features;
        if (T == 0 || B == 0) throw new ShapeException($"{this}.Forward: x {Tensor.Describe(x.Shape)} has no time steps or no sequences");
        if (lengths.Length != B) throw new ShapeException($"{this}.Forward: lengths has {lengths.Length} entries for a batch of {B}");
        for (int b = 0; b < B; b++)
            if (lengths[b] < 1 || lengths[b] > T)
                throw new ArgumentException($"{this}.Forward: lengths[{b}] = {lengths[b]} is outside 1..{T}");

        _y.Resize(B, F);
        (_steps, _batch) = (T, B);
        if (_lengths.Length < B) _lengths = new int[B];
        lengths.CopyTo(_lengths, 0);
        _x = x;
        _guard.Forward();

        switch (Kind)
        {
            case PoolingKind.Last: ForwardLast(x.Span, B); break;
            case PoolingKind.Mean: ForwardMean(x.Span, B); break;
            case PoolingKind.Max: ForwardMax(x.Span, B); break;
            default: ForwardAttention(x.Span, T, B); break;
        }
        return _y;
    }

    /// <summary>dy [B, F] → dx [T, B, F] (the layer's buffer; zero at padding), accumulating W, b and q's gradients (attention).</summary>
    public Tensor Backward(Tensor dy)
    {
        ArgumentNullException.ThrowIfNull(dy);
        _guard.Backward(this);
        Tensor.RequireShape(dy, _y.Shape, $"{this}.Backward");
        int T = _steps, B = _batch;
        _dx.Resize(T, B, Features);

        switch (Kind)
        {
            case PoolingKind.Last: BackwardLast(dy.Span, B); break;
            case PoolingKind.Mean: BackwardMean(dy.Span, T, B); break;
            case PoolingKind.Max: BackwardMax(dy.Span, B); break;
            default: BackwardAttention(dy.Span, T, B); break;
        }
        return _dx;
    }

    // ---- Last: each direction's final step ----

    private void ForwardLast(ReadOnlySpan<float> x, int B)
    {
        int F = Features, half = F / Directions; // half = F when D = 1
        var y = _y.Span;
        for (int b = 0; b < B; b++)
        {
            x.Slice(Row(_lengths[b] - 1, b, B), half).CopyTo(y.Slice(b * F, half));
            if (Directions == 2) x.Slice(Row(0, b, B) + half, half).CopyTo(y.Slice(b * F + half, half));
        }
    }

    private void BackwardLast(ReadOnlySpan<float> dy, int B)
    {
        int F = Features, half = F / Directions;
        var dx = _dx.Span;
        dx.Clear();
        for (int b = 0; b < B; b++)
        {
            dy.Slice(b * F, half).CopyTo(dx.Slice(Row(_lengths[b] - 1, b, B), half));
            if (Directions == 2) dy.Slice(b * F + half, half).CopyTo(dx.Slice(Row(0, b, B) + half, half));
        }
    }

    // ---- Mean over the valid steps ----

    private void ForwardMean(ReadOnlySpan<float> x, int B)
    {
        int F = Features;
        for (int b = 0; b < B; b++)
        {
            var y = _y.Span.Slice(b * F, F);
            x.Slice(Row(0, b, B), F).CopyTo(y);
            for (int t = 1; t < _lengths[b]; t++) Kernels.Add(y, x.Slice(Row(t, b, B), F), y);
            Kernels.Scale(y, 1f / _lengths[b]);
        }
    }

    private void BackwardMean(ReadOnlySpan<float> dy, int T, int B)
    {
        int F = Features;
        var dx = _dx.Span;
        for (int b = 0; b < B; b++)
        {
            var g = dy.Slice(b * F, F);
            float scale = 1f / _lengths[b];
            for (int t = 0; t < T; t++)
            {
                var row = dx.Slice(Row(t, b, B), F);
                if (t < _lengths[b])
                {
                    g.CopyTo(row);
                    Kernels.Scale(row, scale);
                }
                else row.Clear();
            }
        }
    }

    // ---- Max over the valid steps, per feature ----

    private void ForwardMax(ReadOnlySpan<float> x, int B)
    {
        int F = Features;
        if (_argmax.Length < B * F) _argmax = new int[B * F];
        for (int b = 0; b < B; b++)
        {
            var y = _y.Span.Slice(b * F, F);
            var arg = _argmax.AsSpan(b * F, F);
            x.Slice(Row(0, b, B), F).CopyTo(y);
            arg.Clear();
            for (int t = 1; t < _lengths[b]; t++)
            {
                var row = x.Slice(Row(t, b, B), F);
                for (int f = 0; f < F; f++)
                {
                    // Strictly greater: a tie keeps the earlier step. The first NaN wins and stays.
                    float v = row[f], best = y[f];
                    if (v > best || (float.IsNaN(v) && !float.IsNaN(best)))
                    {
                        y[f] = v;
                        arg[f] = t;
                    }
                }
            }
        }
    }

    private void BackwardMax(ReadOnlySpan<float> dy, int B)
    {
        int F = Features;
        var dx = _dx.Span;
        dx.Clear();
        for (int b = 0; b < B; b++)
            for (int f = 0; f < F; f++)
                dx[Row(_argmax[b * F + f], b, B) + f] = dy[b * F + f];
    }

    // ---- Attention ----

    private void ForwardAttention(ReadOnlySpan<float> x, int T, int B)
    {
        int F = Features, rows = T * B;
        _alpha.Resize(B, T);
        Buffers.Grow(ref _u, rows * F);
        var u = _u.AsSpan(0, rows * F);
        // u[T·B, F] = tanh(x[T·B, F] · Wᵀ + b): one GEMM over every row, padding included (its rows go unused).
        Gemm.MultiplyAddBias(x, F, false, AttentionWeight!.Value.Data, F, true, AttentionBias!.Value.Data, u, F, rows, F, F);
        Kernels.Tanh(u, u);

        var q = AttentionQuery!.Value.Span;
        var alpha = _alpha.Span;
        for (int b = 0; b < B; b++)
        {
            int n = _lengths[b];
            var a = alpha.Slice(b * T, T);
            for (int t = 0; t < n; t++) a[t] = Kernels.Dot(q, u.Slice(Row(t, b, B), F));
            Kernels.SoftmaxRow(a[..n], a[..n]);
            a[n..].Clear();

            var y = _y.Span.Slice(b * F, F);
            y.Clear();
            for (int t = 0; t < n; t++) Kernels.AddScaled(y, x.Slice(Row(t, b, B), F), a[t]);
        }
    }

    /// <summary>
    /// With g = dy_b: dα_t = gᵀ x_t; ds_t = α_t (dα_t − Σ_s α_s dα_s) (the softmax's Jacobian); dq += Σ ds_t u_t;
    /// dpre_t = ds_t q ⊙ (1 − u_t²); dx_t = α_t g + dpre_t W; dW += Σ dpre_tᵀ x_t; db += Σ dpre_t.
    /// </summary>
    private void BackwardAttention(ReadOnlySpan<float> dy, int T, int B)
    {
        int F = Features, rows = T * B;
        ReadOnlySpan<float> x = _x!.Span, alpha = _alpha.Span;
        Buffers.Grow(ref _dPre, rows * F);
        Buffers.Grow(ref _dAlpha, T);
        var dPre = _dPre.AsSpan(0, rows * F);
        var u = _u.AsSpan(0, rows * F);
        var q = AttentionQuery!.Value.Span;
        var dq = AttentionQuery.Grad.Span;
        var db = AttentionBias!.Grad.Span;

        for (int b = 0; b < B; b++)
        {
            int n = _lengths[b];
            var g = dy.Slice(b * F, F);
            var a = alpha.Slice(b * T, T);
            var dAlpha = _dAlpha.AsSpan(0, n);
            double expected = 0; // Σ_s α_s dα_s
            for (int t = 0; t < n; t++)
            {
                dAlpha[t] = Kernels.Dot(g, x.Slice(Row(t, b, B), F));
                expected += a[t] * (double)dAlpha[t];
            }
            for (int t = 0; t < T; t++)
            {
                var d = dPre.Slice(Row(t, b, B), F);
                if (t >= n)
                {
                    d.Clear(); // padding: no score, no gradient; the GEMMs below then add nothing for this row
                    continue;
                }
                float ds = (float)(a[t] * (dAlpha[t] - expected));
                var ut = u.Slice(Row(t, b, B), F);
                Kernels.AddScaled(dq, ut, ds);
                Kernels.TanhBackward(ut, q, d); // q ⊙ (1 − u²)
                Kernels.Scale(d, ds);
                Kernels.Add(db, d, db);
            }
        }

        // dx[T·B, F] = dpre · W, then the direct path α_t g on the valid rows.
        var dx = _dx.Span;
        var w = AttentionWeight!;
        Gemm.Multiply(dPre, F, false, w.Value.Data, F, false, dx, F, rows, F, F);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < _lengths[b]; t++)
                Kernels.AddScaled(dx.Slice(Row(t, b, B), F), dy.Slice(b * F, F), alpha[b * T + t]);
        // dW[F, F] += dpreᵀ · x over all T·B rows (padding rows of dpre are zero).
        Gemm.Multiply(dPre, F, true, x, F, false, w.Grad.Data, F, F, F, rows, accumulate: true);
    }

    /// <summary>Offset of x[t, b, :] in a time-major [T, B, F] array.</summary>
    private int Row(int t, int b, int batch) => (t * batch + b) * Features;
}
