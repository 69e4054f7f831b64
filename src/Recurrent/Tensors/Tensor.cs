namespace Recurrent.Tensors;

/// <summary>
/// A dense float32 tensor, row-major and contiguous: the last dimension varies fastest; Length = Π Shape.
/// Most tensors are exact: their array holds Length floats and is <see cref="Data"/>. A layer's per-call output
/// (<see cref="Growable"/>) is the exception: its owner resizes it in place to each call's shape, and its array grows
/// to the largest shape seen and is kept below it, because word tasks train on bucketed batches whose (T, B) changes
/// every step and a new array per shape would be megabytes a step. Such a tensor is the first Length floats of its
/// array: <see cref="Span"/>, the indexers, Zero, CopyFrom and Clone see only those, and Data throws while the array is
/// longer, so no code can take the floats past Length for part of the tensor. Parameters, optimizer state, loaded
/// checkpoints and clones are exact and never change size.
/// </summary>
public sealed class Tensor
{
    private float[] _data;
    private int[] _shape;
    private int _length;
    private readonly bool _growable;

    /// <summary>A zero-filled exact tensor of this shape. Throws <see cref="ArgumentException"/> for a negative dimension or more than Array.MaxLength elements.</summary>
    public Tensor(params ReadOnlySpan<int> shape)
    {
        _shape = shape.ToArray();
        _length = CheckedLength(_shape);
        _data = new float[_length];
    }

    /// <summary>A tensor over <paramref name="data"/> (not copied): the array must hold exactly Π shape floats, else <see cref="ArgumentException"/>.</summary>
    public Tensor(float[] data, params ReadOnlySpan<int> shape)
    {
        _shape = shape.ToArray();
        _length = CheckedLength(_shape);
        if (data.Length != _length)
            throw new ArgumentException($"data has {data.Length} elements but shape {Describe(shape)} needs {_length}");
        _data = data;
    }

    private Tensor(ReadOnlySpan<int> shape, bool growable) : this(shape) => _growable = growable;

    /// <summary>A zeroed buffer of this shape that its owner (a layer) may <see cref="Resize"/>.</summary>
    public static Tensor Growable(params ReadOnlySpan<int> shape) => new(shape, growable: true);

    /// <summary>
    /// The tensor's array, exactly Length floats. Throws for a resized buffer whose array is longer (every use of an
    /// array's length would take the floats past Length along): read <see cref="Span"/> there.
    /// </summary>
    public float[] Data => _data.Length == _length ? _data : ThrowPartialData();

    // Out of line, so that Data itself is small enough to inline (it is read for every weight at every step).
    private float[] ThrowPartialData() =>
        throw new InvalidOperationException($"{this} is the first {_length} floats of a buffer of {_data.Length} " +
                                            "(a layer's output, grown for a larger batch): read Span, not Data");

    /// <summary>
    /// The whole array, Capacity floats, of which the tensor is the first Length: for code in this assembly that hands
    /// an array to a routine told its sizes (the recurrent directions' rows).
    /// </summary>
    internal float[] Storage => _data;

    /// <summary>The floats the array holds: Length for an exact tensor, up to the largest shape seen for a buffer.</summary>
    public int Capacity => _data.Length;
    /// <summary>
    /// The sizes of the axes, read-only: a tensor changes shape only through its own methods (<see cref="Resize"/>), so
    /// no caller can make Shape disagree with Length and the array. A view, not a copy (free on every shape check): a
    /// buffer's Resize may change what it shows, so keep a shape past that with ToArray().
    /// </summary>
    public ReadOnlySpan<int> Shape => _shape;
    /// <summary>Number of dimensions (0 for a scalar of shape []).</summary>
    public int Rank => _shape.Length;
    /// <summary>Number of elements, Π Shape.</summary>
    public int Length => _length;
    /// <summary>The tensor's Length floats, row-major.</summary>
    public Span<float> Span => new(_data, 0, _length);
    /// <summary>The size of dimension <paramref name="axis"/>, Shape[axis].</summary>
    public int Dim(int axis) => _shape[axis];

    /// <summary>Element i of the flat, row-major storage (any rank).</summary>
    public float this[int i] { get => Span[i]; set => Span[i] = value; }
    /// <summary>Element [i, j] of a rank-2 tensor, at flat index i·Shape[1] + j (only that index is bounds-checked).</summary>
    public float this[int i, int j] { get => Span[i * _shape[1] + j]; set => Span[i * _shape[1] + j] = value; }
    /// <summary>Element [i, j, k] of a rank-3 tensor, at flat index (i·Shape[1] + j)·Shape[2] + k (only that index is bounds-checked).</summary>
    public float this[int i, int j, int k]
    {
        get => Span[(i * _shape[1] + j) * _shape[2] + k];
        set => Span[(i * _shape[1] + j) * _shape[2] + k] = value;
    }

    /// <summary>
    /// A buffer takes this shape in place (Shape, Length and Span change; the object stays the same). The array is
    /// kept when it holds the new Length, else replaced by a zeroed one of exactly that length: it grows to the
    /// largest shape seen. Kept floats hold whatever was there (the owner overwrites what it reads). Only for
    /// <see cref="Growable"/> tensors: anything else keeps its size for good.
    /// </summary>
    public void Resize(params ReadOnlySpan<int> shape)
    {
        if (!_growable)
            throw new InvalidOperationException(
                $"Tensor.Resize: {this} is not a growable buffer (only a layer's own buffers change shape)");
        if (HasShape(shape)) return;
        int length = CheckedLength(shape);
        if (length > _data.Length) _data = new float[length];
        if (shape.Length == _shape.Length) shape.CopyTo(_shape);
        else _shape = shape.ToArray();
        _length = length;
    }

    /// <summary>Sets every element to 0.</summary>
    public void Zero() => Span.Clear();
    /// <summary>An exact copy: Length floats in a new array.</summary>
    public Tensor Clone() => new(Span.ToArray(), _shape);
    /// <summary>Copies the elements of a tensor of the same shape in; throws <see cref="ShapeException"/> for another shape.</summary>
    public void CopyFrom(Tensor source)
    {
        RequireShape(source, _shape, "Tensor.CopyFrom");
        source.Span.CopyTo(Span);
    }

    /// <summary>True when Shape equals <paramref name="shape"/> dimension by dimension.</summary>
    public bool HasShape(params ReadOnlySpan<int> shape) => _shape.AsSpan().SequenceEqual(shape);

    /// <summary>"[2, 3, 4]": the form every shape error message uses.</summary>
    public static string Describe(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
    /// <summary>"Tensor[2, 3, 4]": the type and shape, as error messages name it.</summary>
    public override string ToString() => $"Tensor{Describe(_shape)}";

    /// <summary>Throws an error naming the layer, the expected and the actual shape.</summary>
    public static void RequireShape(Tensor actual, ReadOnlySpan<int> expected, string where)
    {
        if (!actual._shape.AsSpan().SequenceEqual(expected))
            throw new ShapeException($"{where}: expected shape {Describe(expected)}, got {Describe(actual._shape)}");
    }

    private static int CheckedLength(ReadOnlySpan<int> shape)
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
