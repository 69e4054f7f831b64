namespace Recurrent.Layers;

/// <summary>
/// Where a recurrent direction's per-step rows live in a layer's output (or its gradient): columns
/// [Offset, Offset + H) of rows Width wide, stored time-major [T, B, Width] or batch-first [B, T, Width]. Writing a
/// batch-first stack's top layer straight into the caller's layout saves transposing the whole output twice.
/// </summary>
internal readonly record struct OutputSlot(float[] Data, int Width, int Offset, bool BatchFirst)
{
    /// <summary>Index of the first of this direction's H values for step t of sequence b.</summary>
    public int Start(int t, int b, int steps, int batch) => (BatchFirst ? b * steps + t : t * batch + b) * Width + Offset;
}
