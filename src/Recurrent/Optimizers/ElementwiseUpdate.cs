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

    /// <summary>Below this many parameters one thread does the update; above, the worker threads share it.</summary>
    private const int ParallelMinLength = 1 << 16;

    public static unsafe void Run<TUpdate>(in TUpdate update, Span<float> p, ReadOnlySpan<float> g,
        Span<float> s0 = default, Span<float> s1 = default, Span<float> s2 = default) where TUpdate : struct, IElementUpdate
    {
        int n = p.Length;
        if (g.Length != n || (!s0.IsEmpty && s0.Length != n) || (!s1.IsEmpty && s1.Length != n) || (!s2.IsEmpty && s2.Length != n))
            throw new ArgumentException("ElementwiseUpdate: parameter, gradient and state lengths differ");
        int parts = n < ParallelMinLength ? 1 : Math.Min(Gemm.Threads, n / ParallelMinLength * 2);
        if (parts > 1)
            fixed (float* pp = p, pg = g, p0 = s0, p1 = s1, p2 = s2)
                if (WorkerPool.TryRun(ElementwiseWork<TUpdate>.Prepare(update, pp, pg, p0, p1, p2, n, parts), parts)) return;
        RunRange(update, p, g, s0, s1, s2);
    }

    /// <summary>Elements [16·k, …) are the same arithmetic wherever a part starts, so any split gives the same bits.</summary>
    private sealed unsafe class ElementwiseWork<TUpdate> : IParallelWork where TUpdate : struct, IElementUpdate
    {
        [ThreadStatic] private static ElementwiseWork<TUpdate>? _current;
        private TUpdate _update;
        private float* _p, _g, _s0, _s1, _s2;
        private int _n, _parts;

        public static ElementwiseWork<TUpdate> Prepare(in TUpdate update, float* p, float* g, float* s0, float* s1, float* s2,
            int n, int parts)
        {
            var work = _current ??= new ElementwiseWork<TUpdate>();
            (work._update, work._n, work._parts) = (update, n, parts);
            work._p = p; work._g = g; work._s0 = s0; work._s1 = s1; work._s2 = s2;
            return work;
        }

        public void RunPart(int part)
        {
            int start = Boundary(part), length = Boundary(part + 1) - start;
            RunRange(_update, new Span<float>(_p + start, length), new ReadOnlySpan<float>(_g + start, length),
                Slice(_s0, start, length), Slice(_s1, start, length), Slice(_s2, start, length));
        }

        private int Boundary(int part) => part >= _parts ? _n : (int)((long)_n / W * part / _parts) * W;

        private static Span<float> Slice(float* state, int start, int length) => state == null ? default : new Span<float>(state + start, length);
    }

    private static void RunRange<TUpdate>(in TUpdate update, Span<float> p, ReadOnlySpan<float> g,
        Span<float> s0, Span<float> s1, Span<float> s2) where TUpdate : struct, IElementUpdate
    {
        int n = p.Length;
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
