using System.Reflection;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// A tensor's shape changes only through its own methods: no public member hands out the array the tensor keeps its
/// shape in, and no array a caller passes in becomes it (issue 14: `t.Shape[0] = 5` used to corrupt a tensor silently).
/// </summary>
public class TensorShapeTests
{
    [Fact]
    public void ShapeIsAReadOnlySpanWithoutSetterOnTensorAndParameter()
    {
        foreach (var type in new[] { typeof(Tensor), typeof(Parameter) })
        {
            PropertyInfo shape = type.GetProperty("Shape")!;
            Assert.Equal(typeof(ReadOnlySpan<int>), shape.PropertyType);
            Assert.Null(shape.SetMethod);
        }
    }

    [Fact]
    public void NoPublicMemberOfTensorReturnsAnIntArray()
    {
        // An int[] out of a tensor could only be its shape array (or a copy of it: then name it and say so here).
        var members = typeof(Tensor).GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            .Where(m => m switch
            {
                PropertyInfo p => p.PropertyType == typeof(int[]),
                MethodInfo method => method.ReturnType == typeof(int[]),
                FieldInfo f => f.FieldType == typeof(int[]),
                _ => false,
            })
            .Select(m => m.Name);
        Assert.Empty(members);
    }

    [Fact]
    public void TheArrayGivenToAConstructorIsCopied()
    {
        int[] dims = [2, 3];
        var zeros = new Tensor(dims);
        var filled = new Tensor(new float[6], dims);
        var buffer = Tensor.Growable(dims);
        dims[0] = 5;
        foreach (var t in new[] { zeros, filled, buffer })
        {
            Assert.Equal([2, 3], t.Shape);
            Assert.Equal(6, t.Length);
            Assert.Equal(6, t.Span.Length);
        }
    }

    [Fact]
    public void ACloneKeepsItsShapeWhenTheOriginalResizes()
    {
        var buffer = Tensor.Growable(2, 3);
        var copy = buffer.Clone();
        buffer.Resize(3, 2);   // same rank: the shape changes in place
        buffer.Resize(1, 1, 6); // another rank
        Assert.Equal([1, 1, 6], buffer.Shape);
        Assert.Equal([2, 3], copy.Shape);
        Assert.Equal(6, copy.Length);
    }

    [Fact]
    public void AParameterShapeIsItsValueShapeAndTheGradientsToo()
    {
        int[] dims = [4, 2];
        var p = new Parameter("w", dims);
        dims[1] = 9;
        Assert.Equal([4, 2], p.Shape);
        Assert.Equal([4, 2], p.Grad.Shape);
        Assert.Equal(8, p.Value.Length);
    }
}
