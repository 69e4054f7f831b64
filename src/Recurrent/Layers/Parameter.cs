using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>A trainable tensor, its gradient (accumulated by Backward) and its PyTorch state-dict name.</summary>
public sealed class Parameter
{
    /// <summary>The state-dict key, e.g. "weight_ih_l0" or "lstm.weight_ih_l0" (unique within a module).</summary>
    public string Name { get; }
    /// <summary>The current values.</summary>
    public Tensor Value { get; }
    /// <summary>The gradient, shaped like <see cref="Value"/>: Backward adds to it, ZeroGrad clears it.</summary>
    public Tensor Grad { get; }
    /// <summary>The shape of <see cref="Value"/> (and of <see cref="Grad"/>), read-only.</summary>
    public ReadOnlySpan<int> Shape => Value.Shape;

    /// <summary>A zero-valued parameter with a zero gradient of this shape.</summary>
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
    /// <summary>Every trainable parameter, each once, named by its PyTorch state-dict key, in the order state_dict() lists them.</summary>
    IEnumerable<Parameter> Parameters();
}

/// <summary>What every <see cref="IModule"/> can do with its parameters.</summary>
public static class ModuleExtensions
{
    /// <summary>Sets every parameter's gradient to 0 (as torch's module.zero_grad(set_to_none=False)).</summary>
    public static void ZeroGrad(this IModule module)
    {
        foreach (var p in module.Parameters()) p.Grad.Zero();
    }

    /// <summary>The number of trainable floats: Σ over parameters of their element counts.</summary>
    public static long ParameterCount(this IModule module) => module.Parameters().Sum(p => (long)p.Value.Length);

    /// <summary>The parameters with a prefix on each name, as PyTorch names a submodule's ("lstm." + "weight_ih_l0").</summary>
    public static IEnumerable<Parameter> Prefixed(this IModule module, string prefix) =>
        module.Parameters().Select(p => new Parameter(prefix + p.Name, p.Value, p.Grad));
}
