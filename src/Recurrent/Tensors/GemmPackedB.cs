using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Tensors;

/// <summary>
/// A right operand op(B) [k, n] packed once into the microkernel's panel order, for many products with the same B:
/// the recurrent weights at every time step (h_{t-1}·W_hhᵀ forward, dG_t·W_hh backward), where packing B on each
/// call would cost a third of a batch-32 GEMM. <see cref="Pack"/> again whenever the weights change; it allocates
/// nothing. Multiply with it through <see cref="Gemm.Multiply(ReadOnlySpan{float}, int, bool, GemmPackedB, Span{float}, int, int, bool)"/>:
/// the result is bit-identical to the unpacked call.
/// Layout: for each k block (see <see cref="GemmBlocked.BlockDepth"/>), for each segment, every NR-column panel
/// [kc, NR] of the segment's columns in turn. The columns may be cut into equal segments (the gate blocks of W_hhᵀ),
/// each padded to whole panels, so that a product may start at any panel boundary within a segment: a thread can
/// take the same units of every gate.
/// </summary>
public sealed unsafe class GemmPackedB
{
    private readonly float[] _buffer;
    internal readonly float* Data;
    internal readonly bool Wide;
    private readonly int _segmentWidth, _paddedSegment, _paddedWidth;

    /// <summary>Rows of op(B) (the GEMM's k) and its columns (the GEMM's n).</summary>
    public int K { get; }
    /// <summary>Columns of op(B): the GEMM's n.</summary>
    public int N { get; }

    /// <summary>Space for an op(B) of [k, n] whose columns form <paramref name="segments"/> equal segments, packed for the kernel this machine runs.</summary>
    public GemmPackedB(int k, int n, int segments = 1) : this(k, n, segments, Gemm.Vector512Default) { }

    internal GemmPackedB(int k, int n, int segments, bool vector512)
    {
        if (k < 0 || n < 0) throw new ArgumentException($"GemmPackedB: negative size k={k}, n={n}");
        if (segments < 1 || n % segments != 0) throw new ArgumentException($"GemmPackedB: {n} columns do not form {segments} equal segments");
        K = k;
        N = n;
        Wide = vector512 && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        _segmentWidth = n / segments;
        _paddedSegment = (_segmentWidth + Nr - 1) / Nr * Nr;
        _paddedWidth = segments * _paddedSegment;
        long floats = (long)k * _paddedWidth + 16 + 16; // +16: the transposing pack's overrun; +16: alignment
        if (floats > Array.MaxLength) throw new ArgumentException($"GemmPackedB: [{k}, {n}] is too large to pack");
        _buffer = GC.AllocateUninitializedArray<float>((int)floats, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_buffer));
        Data = (float*)((address + 63) & ~(nint)63);
    }

    internal int Nr => Wide ? GemmKernel512.NR : GemmKernel256.NR;

    /// <summary>Copies op(B) in: B stored [k, ldb], or [n, ldb] when transB (op(B) = Bᵀ), as for Gemm.Multiply.</summary>
    public void Pack(ReadOnlySpan<float> b, int ldb, bool transB)
    {
        Gemm.RequireMatrix("GemmPackedB.Pack", "B", b.Length, transB ? N : K, transB ? K : N, ldb);
        if (K == 0 || N == 0) return;
        int kcMax = GemmBlocked.BlockDepth(K), nr = Nr;
        fixed (float* pb = b)
        {
            var g = new GemmProblem(null, 0, false, pb, ldb, transB, null, 0, 0, N, K, false);
            for (int p0 = 0; p0 < K; p0 += kcMax)
            {
                int kc = Math.Min(kcMax, K - p0);
                for (int j0 = 0; j0 < N; j0 += _segmentWidth)
                    GemmPack.PackB(g, p0, kc, j0, _segmentWidth, nr, Panels(p0, kc, j0));
            }
        }
    }

    /// <summary>
    /// Where the panels of columns [j, ..) of the k block starting at p0 (depth kc) begin. j is a multiple of NR
    /// within its segment, and the columns read from there stay within the segment.
    /// </summary>
    internal float* Panels(int p0, int kc, int j)
    {
        int segment = j / _segmentWidth;
        long packedColumn = (long)segment * _paddedSegment + (j - segment * _segmentWidth);
        return Data + (long)p0 * _paddedWidth + packedColumn * kc;
    }

    /// <summary>Keeps the buffer alive until a GEMM that reads it through <see cref="Data"/> has finished.</summary>
    internal void KeepAlive() => GC.KeepAlive(_buffer);
}
