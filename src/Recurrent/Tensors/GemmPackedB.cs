using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Tensors;

/// <summary>
/// A right operand op(B) [k, n] packed once into the microkernel's panel order, for many products with the same B:
/// the recurrent weights at every time step (h_{t-1}·W_hhᵀ forward, dG_t·W_hh backward), where packing B on each
/// call would cost a third of a batch-32 GEMM. <see cref="Pack"/> again whenever the weights change; it allocates
/// nothing. Multiply with it through <see cref="Gemm.Multiply(ReadOnlySpan{float}, int, bool, GemmPackedB, Span{float}, int, int, bool)"/>:
/// the result is bit-identical to the unpacked call.
/// Layout: for each k block (see <see cref="GemmBlocked.BlockDepth"/>) every NR-column panel [kc, NR] in turn.
/// </summary>
public sealed unsafe class GemmPackedB
{
    private readonly float[] _buffer;
    internal readonly float* Data;
    internal readonly bool Wide;

    /// <summary>Rows of op(B) (the GEMM's k) and its columns (the GEMM's n).</summary>
    public int K { get; }
    public int N { get; }

    /// <summary>Space for an op(B) of [k, n], packed for the kernel this machine runs.</summary>
    public GemmPackedB(int k, int n) : this(k, n, Gemm.Vector512Default) { }

    internal GemmPackedB(int k, int n, bool vector512)
    {
        if (k < 0 || n < 0) throw new ArgumentException($"GemmPackedB: negative size k={k}, n={n}");
        K = k;
        N = n;
        Wide = vector512 && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        long floats = (long)k * PaddedWidth(n, Nr) + 16 + 16; // +16: the transposing pack's overrun; +16: alignment
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
                GemmPack.PackB(g, p0, kc, 0, N, nr, Data + BlockOffset(p0, kc, 0, N, nr));
            }
        }
    }

    /// <summary>Where the panels of columns [j0, ..) of the k block starting at p0 (depth kc) begin; j0 is a multiple of nr.</summary>
    internal static long BlockOffset(int p0, int kc, int j0, int n, int nr) => (long)p0 * PaddedWidth(n, nr) + (long)j0 * kc;

    private static int PaddedWidth(int n, int nr) => (n + nr - 1) / nr * nr;

    /// <summary>Keeps the buffer alive until a GEMM that reads it through <see cref="Data"/> has finished.</summary>
    internal void KeepAlive() => GC.KeepAlive(_buffer);
}
