using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>One optimizer's update of one vector of parameters (at any width) from their gradients and up to three state values.</summary>
internal interface IElementUpdate
{
    void Apply<TV>(ref TV p, TV g, ref TV s0, ref TV s1, ref TV s2) where TV : struct, IFloatVector<TV>;
}

/// <summary>
/// Runs an IElementUpdate over a parameter in one pass (p, g and the state read once, written once), one vector at a
/// time at the width picked at startup (<see cref="Simd"/>); the tail goes through the same vector code as zero-padded
/// vectors (LoadPartial), so every element gets identical arithmetic. Unused state slots are empty spans.
/// </summary>
internal static class ElementwiseUpdate
{
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

    /// <summary>Every element gets the same arithmetic wherever a part starts, so any split gives the same bits.</summary>
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

        private int Boundary(int part) => part >= _parts ? _n : (int)((long)_n / Simd.Width * part / _parts) * Simd.Width;

        private static Span<float> Slice(float* state, int start, int length) => state == null ? default : new Span<float>(state + start, length);
    }

    private static void RunRange<TUpdate>(in TUpdate update, Span<float> p, ReadOnlySpan<float> g,
        Span<float> s0, Span<float> s1, Span<float> s2) where TUpdate : struct, IElementUpdate
    {
        if (Simd.Is512) RunRange<Vec512, TUpdate>(update, p, g, s0, s1, s2);
        else if (Simd.Is256) RunRange<Vec256, TUpdate>(update, p, g, s0, s1, s2);
        else RunRange<Vec128, TUpdate>(update, p, g, s0, s1, s2);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RunRange<TV, TUpdate>(in TUpdate update, Span<float> p, ReadOnlySpan<float> g,
        Span<float> s0, Span<float> s1, Span<float> s2) where TV : struct, IFloatVector<TV> where TUpdate : struct, IElementUpdate
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
        for (; i <= n - TV.Count; i += TV.Count)
        {
            nuint at = (nuint)i;
            var vp = TV.Load(ref rp, at);
            var v0 = h0 ? TV.Load(ref r0, at) : default;
            var v1 = h1 ? TV.Load(ref r1, at) : default;
            var v2 = h2 ? TV.Load(ref r2, at) : default;
            u.Apply(ref vp, TV.Load(ref rg, at), ref v0, ref v1, ref v2);
            TV.Store(vp, ref rp, at);
            if (h0) TV.Store(v0, ref r0, at);
            if (h1) TV.Store(v1, ref r1, at);
            if (h2) TV.Store(v2, ref r2, at);
        }
        if (i < n)
        {
            int r = n - i;
            var vp = TV.LoadPartial(ref Unsafe.Add(ref rp, i), r, TV.Zero);
            var v0 = h0 ? TV.LoadPartial(ref Unsafe.Add(ref r0, i), r, TV.Zero) : default;
            var v1 = h1 ? TV.LoadPartial(ref Unsafe.Add(ref r1, i), r, TV.Zero) : default;
            var v2 = h2 ? TV.LoadPartial(ref Unsafe.Add(ref r2, i), r, TV.Zero) : default;
            u.Apply(ref vp, TV.LoadPartial(ref Unsafe.Add(ref rg, i), r, TV.Zero), ref v0, ref v1, ref v2);
            TV.StorePartial(vp, ref Unsafe.Add(ref rp, i), r);
            if (h0) TV.StorePartial(v0, ref Unsafe.Add(ref r0, i), r);
            if (h1) TV.StorePartial(v1, ref Unsafe.Add(ref r1, i), r);
            if (h2) TV.StorePartial(v2, ref Unsafe.Add(ref r2, i), r);
        }
    }

    /// <summary>g + wd·p with one rounding: PyTorch's grad.add(param, alpha=weight_decay).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV L2<TV>(TV g, TV p, TV weightDecay) where TV : struct, IFloatVector<TV> => TV.FusedMultiplyAdd(p, weightDecay, g);
}
