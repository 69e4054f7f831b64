namespace Recurrent.IO;

/// <summary>The safetensors element types Recurrent reads and writes (all little-endian in the file).</summary>
public enum SafeDType
{
    /// <summary>"F32": IEEE float32, 4 bytes (weights, activations).</summary>
    F32,
    /// <summary>"I32": signed 32-bit integer, 4 bytes.</summary>
    I32,
    /// <summary>"I64": signed 64-bit integer, 8 bytes (PyTorch's int64 tensors, such as token ids).</summary>
    I64,
}

internal static class SafeDTypes
{
    public static int Size(SafeDType dtype) => dtype switch
    {
        SafeDType.F32 or SafeDType.I32 => 4,
        SafeDType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The header spelling: "F32", "I32", "I64".</summary>
    public static string Name(SafeDType dtype) => dtype.ToString();

    public static bool TryParse(string name, out SafeDType dtype)
    {
        switch (name)
        {
            case "F32": dtype = SafeDType.F32; return true;
            case "I32": dtype = SafeDType.I32; return true;
            case "I64": dtype = SafeDType.I64; return true;
            default: dtype = default; return false;
        }
    }
}
