using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Optimizers;

/// <summary>One optimizer's update of 16 parameters from their gradients and up to three state values.</summary>
internal interface IElementUpdate
{
    void Apply(ref Vector512<float> p, Vector512<float> g, ref Vector512<float> s0, ref Vector512<float> s1, ref Vector512<float> s2);
}

/// <summary>
/// Runs an IElementUpdate over a parameter in one pass (p, g and the state read once, written once), 16 floats at a
/// time; the tail goes through the same vector code on padded copies, so every element gets identical arithmetic.
/// Unused state slots are empty spans.
/// </summary>
internal static class ElementwiseUpdate
{
    private const int W = 16;

    [SkipLocalsInit]
    public static void Run<TUpdate>(in TUpdate update, Span<float> p, ReadOnlySpan<float> g,
        Span<float> s0 = default, Span<float> s1 = default, Span<float> s2 = default) where TUpdate : struct, IElementUpdate
    {
        int n = p.Length;
        if (g.Length != n || (!s0.IsEmpty && s0.Length != n) || (!s1.IsEmpty && s1.Length != n) || (!s2.IsEmpty && s2.Length != n))
            throw new ArgumentException("ElementwiseUpdate: parameter, gradient and state lengths differ");
        bool h0 = !s0.IsEmpty, h1 = !s1.IsEmpty, h2 = !s2.IsEmpty;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float r0 = ref MemoryMarshal.GetReference(s0);
        ref float r1 = ref MemoryMarshal.GetReference(s1);
        ref float r2 = ref MemoryMarshal.GetReference(s2);
        int i = 0;
        for (; i <= n - W; i += W)
        {
            nuint at = (nuint)i;
            var vp = Vector512.LoadUnsafe(ref rp, at);
            var v0 = h0 ? Vector512.LoadUnsafe(ref r0, at) : default;
            var v1 = h1 ? Vector512.LoadUnsafe(ref r1, at) : default;
            var v2 = h2 ? Vector512.LoadUnsafe(ref r2, at) : default;
            update.Apply(ref vp, Vector512.LoadUnsafe(ref rg, at), ref v0, ref v1, ref v2);
            vp.StoreUnsafe(ref rp, at);
            if (h0) v0.StoreUnsafe(ref r0, at);
            if (h1) v1.StoreUnsafe(ref r1, at);
            if (h2) v2.StoreUnsafe(ref r2, at);
        }
        if (i < n)
        {
            int r = n - i;
            Span<float> t = stackalloc float[5 * W];
            t.Clear();
            Span<float> tp = t[..W], tg = t.Slice(W, W), t0 = t.Slice(2 * W, W), t1 = t.Slice(3 * W, W), t2 = t.Slice(4 * W, W);
            p[i..].CopyTo(tp);
            g[i..].CopyTo(tg);
            if (h0) s0[i..].CopyTo(t0);
            if (h1) s1[i..].CopyTo(t1);
            if (h2) s2[i..].CopyTo(t2);
            var vp = Vector512.Create<float>(tp);
            var v0 = Vector512.Create<float>(t0);
            var v1 = Vector512.Create<float>(t1);
            var v2 = Vector512.Create<float>(t2);
            update.Apply(ref vp, Vector512.Create<float>(tg), ref v0, ref v1, ref v2);
            vp.CopyTo(tp);
            v0.CopyTo(t0);
            v1.CopyTo(t1);
            v2.CopyTo(t2);
            tp[..r].CopyTo(p[i..]);
            if (h0) t0[..r].CopyTo(s0[i..]);
            if (h1) t1[..r].CopyTo(s1[i..]);
            if (h2) t2[..r].CopyTo(s2[i..]);
        }
    }

    /// <summary>g + wd·p with one rounding: PyTorch's grad.add(param, alpha=weight_decay).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> L2(Vector512<float> g, Vector512<float> p, Vector512<float> weightDecay) =>
        Vector512.FusedMultiplyAdd(p, weightDecay, g);
}
