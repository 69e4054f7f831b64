namespace Recurrent.Tensors;

/// <summary>
/// A dense float32 tensor, row-major and contiguous: the last dimension varies fastest.
/// Layers own their tensors and reuse them across calls; nothing here allocates after construction.
/// </summary>
public sealed class Tensor
{
    public float[] Data { get; }
    public int[] Shape { get; }

    public Tensor(params int[] shape)
    {
        Shape = (int[])shape.Clone();
        Data = new float[CheckedLength(Shape)];
    }

    public Tensor(float[] data, params int[] shape)
    {
        Shape = (int[])shape.Clone();
        long length = CheckedLength(Shape);
        if (data.Length != length)
            throw new ArgumentException($"data has {data.Length} elements but shape {Describe(shape)} needs {length}");
        Data = data;
    }

    public int Rank => Shape.Length;
    public int Length => Data.Length;
    public Span<float> Span => Data;
    public int Dim(int axis) => Shape[axis];

    public float this[int i] { get => Data[i]; set => Data[i] = value; }
    public float this[int i, int j] { get => Data[i * Shape[1] + j]; set => Data[i * Shape[1] + j] = value; }
    public float this[int i, int j, int k]
    {
        get => Data[(i * Shape[1] + j) * Shape[2] + k];
        set => Data[(i * Shape[1] + j) * Shape[2] + k] = value;
    }

    public void Zero() => Array.Clear(Data);
    public Tensor Clone() => new((float[])Data.Clone(), Shape);
    public void CopyFrom(Tensor source)
    {
        RequireShape(source, Shape, "Tensor.CopyFrom");
        source.Data.CopyTo(Data, 0);
    }

    public bool HasShape(params ReadOnlySpan<int> shape) => Shape.AsSpan().SequenceEqual(shape);

    /// <summary>"[2, 3, 4]": the form every shape error message uses.</summary>
    public static string Describe(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
    public override string ToString() => $"Tensor{Describe(Shape)}";

    /// <summary>Throws an error naming the layer, the expected and the actual shape.</summary>
    public static void RequireShape(Tensor actual, ReadOnlySpan<int> expected, string where)
    {
        if (!actual.Shape.AsSpan().SequenceEqual(expected))
            throw new ShapeException($"{where}: expected shape {Describe(expected)}, got {Describe(actual.Shape)}");
    }

    private static int CheckedLength(int[] shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape {Describe(shape)}");
            n *= d;
            if (n > Array.MaxLength) throw new ArgumentException($"shape {Describe(shape)} is too large");
        }
        return (int)n;
    }
}

/// <summary>A tensor whose shape does not fit where it was given; the message names both shapes and the layer.</summary>
public sealed class ShapeException(string message) : ArgumentException(message);
