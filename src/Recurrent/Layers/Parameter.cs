using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>A trainable tensor, its gradient (accumulated by Backward) and its PyTorch state-dict name.</summary>
public sealed class Parameter
{
    public string Name { get; }
    public Tensor Value { get; }
    public Tensor Grad { get; }
    public ReadOnlySpan<int> Shape => Value.Shape;

    public Parameter(string name, params ReadOnlySpan<int> shape) : this(name, new Tensor(shape), new Tensor(shape)) { }

    /// <summary>A view under another name sharing value and gradient (a submodule's parameter seen from its parent).</summary>
    public Parameter(string name, Tensor value, Tensor grad)
    {
        Name = name;
        Value = value;
        Grad = grad;
    }
}

/// <summary>Anything that owns parameters: layers and models. Names are PyTorch's state-dict keys.</summary>
public interface IModule
{
    IEnumerable<Parameter> Parameters();
}

public static class ModuleExtensions
{
    public static void ZeroGrad(this IModule module)
    {
        foreach (var p in module.Parameters()) p.Grad.Zero();
    }

    public static long ParameterCount(this IModule module) => module.Parameters().Sum(p => (long)p.Value.Length);

    /// <summary>The parameters with a prefix on each name, as PyTorch names a submodule's ("lstm." + "weight_ih_l0").</summary>
    public static IEnumerable<Parameter> Prefixed(this IModule module, string prefix) =>
        module.Parameters().Select(p => new Parameter(prefix + p.Name, p.Value, p.Grad));
}
