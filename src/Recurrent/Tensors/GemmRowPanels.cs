namespace Recurrent.Tensors;

/// <summary>
/// How a packed block of mc rows of A is cut into row panels of at most MR rows; panel q is stored at q·MR·kc in the
/// packed block whatever its height. The plain cut is MR, MR, …, then the rest. When that rest is too tall for the
/// two-panel kernel (<see cref="GemmKernelPair"/>) but short of MR, the panels are balanced instead (heights differing
/// by at most one): a 4-row AVX2 panel has 8 accumulator chains, the bare minimum for two FMA units of latency 4, and
/// ran at 66 % of the FMA peak against 85 % for a 6-row one, so a thread's 16 rows of the step product are cut 6, 5, 5
/// rather than 6, 6, 4. Each C element is still the one FMA chain over p: the cut never changes a result.
/// </summary>
internal readonly struct GemmRowPanels
{
    private readonly int _height, _taller;

    /// <summary>The number of panels.</summary>
    public readonly int Count;

    public GemmRowPanels(int mc, int mr, bool wide)
    {
        Count = (mc + mr - 1) / mr;
        int rest = mc - (Count - 1) * mr;
        bool balanced = Count > 1 && rest < mr && rest > GemmKernelPair.MaxRows(wide);
        _height = balanced ? mc / Count : mr;
        _taller = balanced ? mc % Count : 0;
    }

    /// <summary>The first row of panel q, counted from the block's first row.</summary>
    public int Start(int q) => q * _height + Math.Min(q, _taller);

    /// <summary>The rows of panel q that lie below <paramref name="end"/> (the block's rows, or fewer).</summary>
    public int Rows(int q, int end) => Math.Min(_height + (q < _taller ? 1 : 0), end - Start(q));
}
