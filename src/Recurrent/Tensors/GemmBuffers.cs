using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Tensors;

/// <summary>
/// One thread's packing buffers (a block of A, a block of B, one C tile), 64-byte aligned and reused by every call
/// on that thread: steady-state GEMMs allocate nothing. Pinned managed arrays, so they die with their thread.
/// </summary>
internal sealed unsafe class GemmBuffers
{
    [ThreadStatic] private static GemmBuffers? _current;

    public static GemmBuffers Current => _current ??= new GemmBuffers();

    private float[] _a = [], _b = [], _tile = [];

    public float* A(int floats) => Aligned(ref _a, floats);
    public float* B(int floats) => Aligned(ref _b, floats);
    public float* Tile(int floats) => Aligned(ref _tile, floats);

    private const int AlignFloats = 16; // 64 bytes: one cache line, one zmm

    private static float* Aligned(ref float[] buffer, int floats)
    {
        if (buffer.Length < floats + AlignFloats)
            buffer = GC.AllocateUninitializedArray<float>(floats + AlignFloats, pinned: true);
        // Pinned-heap arrays never move, so the address stays valid for the array's lifetime.
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (float*)((address + 63) & ~(nint)63);
    }
}
