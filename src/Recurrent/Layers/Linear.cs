using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// torch.nn.Linear: y = x·Wᵀ + b.  x: [..., in] (any rank ≥ 1), W: [out, in] ("weight"), b: [out] ("bias"), y: [..., out].
/// N = product of the leading dimensions; the layer treats x as [N, in].
/// Keeps for backward: a reference to x (the caller must not change x before Backward). Owns y and dx, reused while
/// the shape repeats.
/// </summary>
public sealed class Linear : IModule
{
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Parameter Weight { get; }
    public Parameter? Bias { get; }

    private Tensor? _x, _y, _dx;

    /// <summary>Weight and bias ~ U(−1/√in, 1/√in), PyTorch's default (weight first, then bias, from rng; seed 0 if null).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Rng? rng = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: in_features and out_features must be positive, got {inFeatures} and {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = new Parameter("weight", outFeatures, inFeatures);
        Bias = bias ? new Parameter("bias", outFeatures) : null;
        rng ??= new Rng(0);
        float bound = 1f / MathF.Sqrt(inFeatures);
        Init.Uniform(Weight.Value, bound, rng);
        if (Bias is not null) Init.Uniform(Bias.Value, bound, rng);
    }

    public IEnumerable<Parameter> Parameters()
    {
        yield return Weight;
        if (Bias is not null) yield return Bias;
    }

    private string Name => $"Linear({InFeatures}->{OutFeatures})";

    /// <summary>y = x·Wᵀ + b. x: [..., in] -> y: [..., out] (the layer's buffer, overwritten by the next call).</summary>
    public Tensor Forward(Tensor x)
    {
        if (x.Rank == 0 || x.Shape[^1] != InFeatures)
            throw new ShapeException($"{Name}.Forward: expected last dimension {InFeatures}, got {Tensor.Describe(x.Shape)}");
        int n = x.Length / InFeatures;
        var y = _y = Reuse(_y, x.Shape, OutFeatures);
        // y[N, out] = x[N, in] · W[out, in]ᵀ (+ b)
        if (Bias is not null)
            Gemm.MultiplyAddBias(x.Data, InFeatures, false, Weight.Value.Data, InFeatures, true, Bias.Value.Data, y.Data, OutFeatures,
                n, OutFeatures, InFeatures);
        else
            Gemm.Multiply(x.Data, InFeatures, false, Weight.Value.Data, InFeatures, true, y.Data, OutFeatures, n, OutFeatures, InFeatures);
        _x = x;
        return y;
    }

    /// <summary>
    /// dy: [..., out] (the shape Forward returned). Accumulates dW += dyᵀ·x and db += Σ_rows dy; returns dx = dy·W: [..., in].
    /// </summary>
    public Tensor Backward(Tensor dy)
    {
        var x = _x ?? throw new InvalidOperationException($"{Name}.Backward called before Forward");
        Tensor.RequireShape(dy, _y!.Shape, $"{Name}.Backward");
        int n = x.Length / InFeatures;
        // dW[out, in] += dy[N, out]ᵀ · x[N, in]
        Gemm.Multiply(dy.Data, OutFeatures, true, x.Data, InFeatures, false, Weight.Grad.Data, InFeatures,
            OutFeatures, InFeatures, n, accumulate: true);
        if (Bias is not null)
            for (int r = 0; r < n; r++) Kernels.Add(Bias.Grad.Span, dy.Span.Slice(r * OutFeatures, OutFeatures), Bias.Grad.Span);
        // dx[N, in] = dy[N, out] · W[out, in]
        var dx = _dx = Reuse(_dx, x.Shape, InFeatures);
        Gemm.Multiply(dy.Data, OutFeatures, false, Weight.Value.Data, InFeatures, false, dx.Data, InFeatures,
            n, InFeatures, OutFeatures);
        return dx;
    }

    /// <summary>The buffer of shape leading + [last], kept when it already has that shape.</summary>
    private static Tensor Reuse(Tensor? buffer, int[] leadingFrom, int last)
    {
        if (buffer is not null && buffer.Rank == leadingFrom.Length && buffer.Shape[^1] == last
            && buffer.Shape.AsSpan(0, buffer.Rank - 1).SequenceEqual(leadingFrom.AsSpan(0, leadingFrom.Length - 1)))
            return buffer;
        var shape = (int[])leadingFrom.Clone();
        shape[^1] = last;
        return new Tensor(shape);
    }
}
