using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Tensors;

/// <summary>
/// Zeroed floats whose first element sits on a 64-byte boundary (one cache line). The recurrent layers cut every row
/// of their buffers between threads on multiples of 32 floats; with the row starts aligned, those cuts fall on cache
/// line boundaries, so two cores never write the same line (false sharing would bounce hundreds of lines per step).
/// A pinned array with an offset: the pinned heap never moves it, so the offset stays right.
/// </summary>
internal readonly struct AlignedFloats
{
    private readonly float[]? _array;
    private readonly int _offset;

    public int Length { get; }

    private AlignedFloats(float[] array, int offset, int length) => (_array, _offset, Length) = (array, offset, length);

    public static unsafe AlignedFloats Allocate(int length)
    {
        var array = GC.AllocateArray<float>(length + 15, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        int offset = (int)((64 - (address & 63)) & 63) / sizeof(float);
        return new AlignedFloats(array, offset, length);
    }

    /// <summary>
    /// These floats seen as <paramref name="length"/> of them when the pinned array holds that many, else a new
    /// allocation: buffers sized by (T, B) grow to the largest shape seen instead of churning the pinned heap when
    /// bucketed batches change shape every step. Reused floats keep their old values (callers overwrite what they read).
    /// </summary>
    public AlignedFloats Fit(int length) =>
        _array != null && _array.Length - _offset >= length ? new AlignedFloats(_array, _offset, length) : Allocate(length);

    public Span<float> All => new(_array, _offset, Length);

    public static implicit operator Span<float>(AlignedFloats floats) => floats.All;
    public static implicit operator ReadOnlySpan<float>(AlignedFloats floats) => floats.All;

    public Span<float> Slice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start))
            throw new ArgumentOutOfRangeException(nameof(start), $"[{start}, {start + length}) is outside [0, {Length})");
        return new Span<float>(_array, _offset + start, length);
    }
}
