using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// torch.nn.Dropout, inverted: while training each element is kept with probability 1 − p and scaled by 1/(1 − p),
/// so evaluation is the identity. x: any shape, y: same shape.
/// Keeps for backward: the mask (0 or 1/(1 − p) per element), drawn from the layer's Rng in element order.
/// Owns the mask, y and dx, resized in place to each call's shape (their arrays grow to the largest seen).
/// One Backward per Forward (<see cref="BackwardGuard"/>); after a Forward in eval mode Backward is the identity's.
/// </summary>
public sealed class Dropout
{
    /// <summary>The probability of zeroing an element, in [0, 1).</summary>
    public float P { get; }
    /// <summary>Dropout applies only while training; otherwise Forward returns x itself.</summary>
    public bool Training { get; set; } = true;

    private readonly Rng _rng;
    private readonly Tensor _mask = Tensor.Growable(0), _y = Tensor.Growable(0), _dx = Tensor.Growable(0);
    private bool _identity;
    private readonly BackwardGuard _guard = new();

    /// <summary>Draws the masks from <paramref name="rng"/>; throws <see cref="ArgumentException"/> when p is not in [0, 1).</summary>
    public Dropout(float p, Rng rng)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentException($"Dropout: p must be in [0, 1), got {p}");
        P = p;
        _rng = rng;
    }

    /// <summary>"Dropout(p=0.5)", as PyTorch prints the module.</summary>
    public override string ToString() => $"Dropout(p={P.ToString(System.Globalization.CultureInfo.InvariantCulture)})";

    /// <summary>y = x ⊙ mask (the layer's buffer), or x itself when p = 0 or not training.</summary>
    public Tensor Forward(Tensor x)
    {
        _guard.Forward();
        _identity = P == 0 || !Training;
        if (_identity) return x;
        _mask.Resize(x.Shape);
        _y.Resize(x.Shape);
        DrawMask(_mask.Span);
        Kernels.Multiply(x.Span, _mask.Span, _y.Span);
        return _y;
    }

    /// <summary>
    /// mask[i] = 1/(1 − p) when u ≥ p, else 0, for u = Rng.NextFloat() = (NextUInt() >> 8)·2⁻²⁴: compared as integers
    /// (u ≥ p ⟺ NextUInt() >> 8 ≥ ⌈p·2²⁴⌉) and selected without a branch, which a random keep/drop would mispredict.
    /// The random bits are drawn into the mask first (in order, one Rng stream), then turned into the mask in vectors.
    /// Public for callers that apply a mask a row at a time (a decoder's inputs, known one step at a time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once a step: tiering would leave it in slow code for many steps
    public void DrawMask(Span<float> mask)
    {
        var bits = MemoryMarshal.Cast<float, uint>(mask);
        _rng.Fill(bits);
        uint threshold = (uint)Math.Ceiling(P * (double)(1 << 24));
        uint scaleBits = BitConverter.SingleToUInt32Bits(1f / (1f - P));
        var thresholds = new Vector<uint>(threshold);
        var scales = new Vector<uint>(scaleBits);
        int i = 0;
        for (; i <= bits.Length - Vector<uint>.Count; i += Vector<uint>.Count)
        {
            var u = Vector.ShiftRightLogical(new Vector<uint>(bits[i..]), 8);
            (Vector.GreaterThanOrEqual(u, thresholds) & scales).CopyTo(bits[i..]);
        }
        for (; i < bits.Length; i++) bits[i] = bits[i] >> 8 >= threshold ? scaleBits : 0;
    }

    /// <summary>dx = dy ⊙ mask with the mask of the last Forward (dy itself after an identity Forward).</summary>
    public Tensor Backward(Tensor dy)
    {
        _guard.Backward(this);
        if (_identity) return dy;
        Tensor.RequireShape(dy, _mask.Shape, $"{this}.Backward");
        _dx.Resize(dy.Shape);
        Kernels.Multiply(dy.Span, _mask.Span, _dx.Span);
        return _dx;
    }
}
