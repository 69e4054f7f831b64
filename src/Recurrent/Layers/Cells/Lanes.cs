using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Layers.Cells;

/// <summary>
/// Loads and stores of up to 16 floats as one Vector512, so a kernel is written once for whole vectors and for the
/// tail of a row whose length is not a multiple of 16 (the tail goes through a zero-padded copy).
/// </summary>
internal static class Lanes
{
    public const int Width = 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ReadOnlySpan<float> source, int count) =>
        count == Width ? Vector512.Create(source) : LoadPartial(source, count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, Span<float> destination, int count)
    {
        if (count == Width) value.CopyTo(destination);
        else StorePartial(value, destination, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<float> LoadPartial(ReadOnlySpan<float> source, int count)
    {
        Span<float> padded = stackalloc float[Width];
        source[..count].CopyTo(padded);
        return Vector512.Create((ReadOnlySpan<float>)padded);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StorePartial(Vector512<float> value, Span<float> destination, int count)
    {
        Span<float> padded = stackalloc float[Width];
        value.CopyTo(padded);
        padded[..count].CopyTo(destination);
    }
}
