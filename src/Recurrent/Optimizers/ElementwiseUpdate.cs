using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>One optimizer's update of 16 parameters from their gradients and up to three state values.</summary>
internal interface IElementUpdate
{
    void Apply(ref Vector512<float> p, Vector512<float> g, ref Vector512<float> s0, ref Vector512<float> s1, ref Vector512<float> s2);
}

/// <summary>
/// Runs an IElementUpdate over a parameter in one pass (p, g and the state read once, written once), 16 floats at a
/// time; the tail goes through the same vector code as zero-padded vectors (Tail), so every element gets identical
/// arithmetic. Unused state slots are empty spans.
/// </summary>
internal static class ElementwiseUpdate
{
    private const int W = 16;

    public static void Run<TUpdate>(in TUpdate update, Span<float> p, ReadOnlySpan<float> g,
        Span<float> s0 = default, Span<float> s1 = default, Span<float> s2 = default) where TUpdate : struct, IElementUpdate
    {
        int n = p.Length;
        if (g.Length != n || (!s0.IsEmpty && s0.Length != n) || (!s1.IsEmpty && s1.Length != n) || (!s2.IsEmpty && s2.Length != n))
            throw new ArgumentException("ElementwiseUpdate: parameter, gradient and state lengths differ");
        bool h0 = !s0.IsEmpty, h1 = !s1.IsEmpty, h2 = !s2.IsEmpty;
        var u = update; // a local copy lets the JIT keep the hyperparameter vectors in registers
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
            u.Apply(ref vp, Vector512.LoadUnsafe(ref rg, at), ref v0, ref v1, ref v2);
            vp.StoreUnsafe(ref rp, at);
            if (h0) v0.StoreUnsafe(ref r0, at);
            if (h1) v1.StoreUnsafe(ref r1, at);
            if (h2) v2.StoreUnsafe(ref r2, at);
        }
        if (i < n)
        {
            int r = n - i;
            var vp = Tail.Load(ref Unsafe.Add(ref rp, i), r);
            var v0 = h0 ? Tail.Load(ref Unsafe.Add(ref r0, i), r) : default;
            var v1 = h1 ? Tail.Load(ref Unsafe.Add(ref r1, i), r) : default;
            var v2 = h2 ? Tail.Load(ref Unsafe.Add(ref r2, i), r) : default;
            u.Apply(ref vp, Tail.Load(ref Unsafe.Add(ref rg, i), r), ref v0, ref v1, ref v2);
            Tail.Store(ref Unsafe.Add(ref rp, i), r, vp);
            if (h0) Tail.Store(ref Unsafe.Add(ref r0, i), r, v0);
            if (h1) Tail.Store(ref Unsafe.Add(ref r1, i), r, v1);
            if (h2) Tail.Store(ref Unsafe.Add(ref r2, i), r, v2);
        }
    }

    /// <summary>g + wd·p with one rounding: PyTorch's grad.add(param, alpha=weight_decay).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> L2(Vector512<float> g, Vector512<float> p, Vector512<float> weightDecay) =>
        Vector512.FusedMultiplyAdd(p, weightDecay, g);
}
