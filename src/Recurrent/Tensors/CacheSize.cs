using System.Runtime.Intrinsics.X86;
namespace Recurrent.Tensors;

/// <summary>The caches the GEMM blocking is sized for, read once from the CPU.</summary>
internal static class CacheSize
{
    /// <summary>One core's L2 in bytes (CPUID 0x80000006, ECX[31:16], which AMD and Intel both fill); 0 where unknown.</summary>
    public static readonly int L2Bytes = ReadL2();

    private static int ReadL2()
    {
        if (!X86Base.IsSupported) return 0;
        const int extendedLeaves = unchecked((int)0x80000000), l2Leaf = unchecked((int)0x80000006);
        if ((uint)X86Base.CpuId(extendedLeaves, 0).Eax < 0x80000006u) return 0;
        return (int)((uint)X86Base.CpuId(l2Leaf, 0).Ecx >> 16) * 1024;
    }
}
