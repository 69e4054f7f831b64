using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Tensors;

/// <summary>
/// The last count &lt; 16 floats of a span as one Vector512, so a tail runs the same vector code as the body.
/// With AVX-512 a masked load/store (faults suppressed past the end); otherwise element by element.
/// </summary>
internal static class Tail
{
    /// <summary>Lanes [0, count) from src, the other lanes = fill.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load(ref float src, int count, Vector512<float> fill)
    {
        if (Avx512F.IsSupported)
            fixed (float* p = &src) return Avx512F.MaskLoad(p, Mask(count), fill);
        for (int j = 0; j < count; j++) fill = fill.WithElement(j, Unsafe.Add(ref src, j));
        return fill;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float src, int count) => Load(ref src, count, Vector512<float>.Zero);

    /// <summary>Writes lanes [0, count) of v to dst; nothing past them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(ref float dst, int count, Vector512<float> v)
    {
        if (Avx512F.IsSupported)
        {
            fixed (float* p = &dst) Avx512F.MaskStore(p, Mask(count), v);
            return;
        }
        for (int j = 0; j < count; j++) Unsafe.Add(ref dst, j) = v.GetElement(j);
    }

    /// <summary>All bits set in lanes [0, count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Mask(int count) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();
}
