namespace Recurrent.Tensors;

/// <summary>Scratch arrays a layer or model owns and reuses: they grow to the largest size asked for and never shrink,
/// so batches of varying shape stop allocating once the largest has been seen.</summary>
public static class Buffers
{
    /// <summary>Replaces <paramref name="buffer"/> with a new zeroed array when it is shorter than <paramref name="length"/>.</summary>
    public static void Grow<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[length];
    }
}
