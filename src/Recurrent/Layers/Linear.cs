using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// torch.nn.Linear: y = x·Wᵀ + b.  x: [..., in] (any rank ≥ 1), W: [out, in] ("weight"), b: [out] ("bias"), y: [..., out].
/// N = product of the leading dimensions; the layer treats x as [N, in].
/// Keeps for backward: a reference to x (the caller must not change x before Backward). Owns y and dx, resized in place
/// to each call's shape (their arrays grow to the largest seen). One Backward per Forward (<see cref="BackwardGuard"/>).
/// </summary>
public sealed class Linear : IModule
{
    /// <summary>Columns of the weight: the width of an input row (torch's in_features).</summary>
    public int InFeatures { get; }
    /// <summary>Rows of the weight: the width of an output row (torch's out_features).</summary>
    public int OutFeatures { get; }
    /// <summary>"weight" [out, in].</summary>
    public Parameter Weight { get; }
    /// <summary>"bias" [out]; null when built with bias: false.</summary>
    public Parameter? Bias { get; }

    private Tensor? _x;
    private readonly BackwardGuard _guard = new();
    private readonly WeightGradientParts _weightGradients = new();
    private readonly Tensor _y = Tensor.Growable(0), _dx = Tensor.Growable(0);

    /// <summary>Weight and bias ~ U(−1/√in, 1/√in), PyTorch's default (weight first, then bias, from rng; an Rng from <see cref="Rng.FromGlobal"/> if null).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Rng? rng = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: in_features and out_features must be positive, got {inFeatures} and {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = new Parameter("weight", outFeatures, inFeatures);
        Bias = bias ? new Parameter("bias", outFeatures) : null;
        rng ??= Rng.FromGlobal();
        float bound = 1f / MathF.Sqrt(inFeatures);
        Init.Uniform(Weight.Value, bound, rng);
        if (Bias is not null) Init.Uniform(Bias.Value, bound, rng);
    }

    /// <summary>Weight, then Bias if there is one.</summary>
    public IEnumerable<Parameter> Parameters()
    {
        yield return Weight;
        if (Bias is not null) yield return Bias;
    }

    private string Name => $"Linear({InFeatures}->{OutFeatures})";

    /// <summary>"Linear(256->10)": the name its error messages give it.</summary>
    public override string ToString() => Name;

    /// <summary>y = x·Wᵀ + b. x: [..., in] -> y: [..., out] (the layer's buffer, overwritten by the next call).</summary>
    public Tensor Forward(Tensor x)
    {
        if (x.Rank == 0 || x.Shape[^1] != InFeatures)
            throw new ShapeException($"{Name}.Forward: expected last dimension {InFeatures}, got {Tensor.Describe(x.Shape)}");
        if (_weightGradients.Pending) throw new InvalidOperationException($"{Name}.Forward: the previous BackwardOverlapped is not finished");
        _guard.Forward();
        int n = x.Length / InFeatures;
        Resize(_y, x.Shape, OutFeatures);
        // y[N, out] = x[N, in] · W[out, in]ᵀ (+ b)
        if (Bias is not null)
            Gemm.MultiplyAddBias(x.Span, InFeatures, false, Weight.Value.Data, InFeatures, true, Bias.Value.Data, _y.Span, OutFeatures,
                n, OutFeatures, InFeatures);
        else
            Gemm.Multiply(x.Span, InFeatures, false, Weight.Value.Data, InFeatures, true, _y.Span, OutFeatures, n, OutFeatures, InFeatures);
        _x = x;
        return _y;
    }

    /// <summary>
    /// dy: [..., out] (the shape Forward returned). Accumulates dW += dyᵀ·x and db += Σ_rows dy; returns dx = dy·W: [..., in].
    /// </summary>
    public Tensor Backward(Tensor dy)
    {
        _guard.Backward(this);
        var x = _x!;
        Tensor.RequireShape(dy, _y.Shape, $"{Name}.Backward");
        // dW[out, in] += dy[N, out]ᵀ · x[N, in], db += Σ_rows dy
        WeightGradientParts.AccumulateNow(dy, x, x.Length / InFeatures, Weight.Grad, Bias?.Grad);
        return InputGradient(dy);
    }

    /// <summary>
    /// <see cref="Backward"/> with the weight and bias gradients summed by the other cores while the caller goes on:
    /// returns dx at once; the gradients are complete (bit for bit the same) when <see cref="FinishBackward"/> returns.
    /// Until then dy and the input must not change, nothing may read the gradients, and other parallel work runs on the
    /// caller's thread alone. For a layer whose weight gradient is a large product and whose caller's next work leaves
    /// a core half idle: an encoder–decoder's output layer, ahead of the decoder's steps backward.
    /// </summary>
    public Tensor BackwardOverlapped(Tensor dy)
    {
        _guard.Backward(this);
        var x = _x!;
        Tensor.RequireShape(dy, _y.Shape, $"{Name}.Backward");
        var dx = InputGradient(dy);
        _weightGradients.Start(dy, x, x.Length / InFeatures, Weight.Grad, Bias?.Grad);
        return dx;
    }

    /// <summary>Waits for the gradients <see cref="BackwardOverlapped"/> left to the other cores; nothing when none are pending.</summary>
    public void FinishBackward() => _weightGradients.Finish();

    // dx[N, in] = dy[N, out] · W[out, in]
    private Tensor InputGradient(Tensor dy)
    {
        Resize(_dx, _x!.Shape, InFeatures);
        Gemm.Multiply(dy.Span, OutFeatures, false, Weight.Value.Data, InFeatures, false, _dx.Span, InFeatures,
            _x.Length / InFeatures, InFeatures, OutFeatures);
        return _dx;
    }

    /// <summary>The buffer takes the shape leading + [last], with the leading dimensions of another shape.</summary>
    private static void Resize(Tensor buffer, ReadOnlySpan<int> leadingFrom, int last)
    {
        Span<int> shape = stackalloc int[leadingFrom.Length];
        leadingFrom.CopyTo(shape);
        shape[^1] = last;
        buffer.Resize(shape);
    }
}
