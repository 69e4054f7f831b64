using System.Runtime.CompilerServices;
using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>
/// torch.optim.SGD:
///   d = g + λ·p                      (weight decay λ)
///   b = d on the first step, else b = μ·b + (1 − τ)·d   (momentum μ, dampening τ; state "momentum_buffer")
///   d = d + μ·b if nesterov, else b
///   p = p − lr·d
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>μ: momentum of the "momentum_buffer" (0: plain SGD, no state).</summary>
    public float Momentum { get; }
    /// <summary>τ: dampening of the momentum, b = μ·b + (1 − τ)·d.</summary>
    public float Dampening { get; }
    /// <summary>Nesterov momentum: step along d + μ·b instead of b.</summary>
    public bool Nesterov { get; }
    /// <summary>λ: L2 penalty added to the gradient as λ·p (torch's weight_decay).</summary>
    public float WeightDecay { get; }

    private readonly Tensors.Tensor[]? _buffers;
    private readonly float _oneMinusDampening; // 1 − τ rounded from double, as PyTorch

    /// <summary>
    /// torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov). Throws <see cref="ArgumentException"/> for
    /// an empty parameter list, repeated parameter names, a negative hyperparameter, or nesterov without momentum &gt; 0 and
    /// dampening = 0.
    /// </summary>
    public Sgd(IEnumerable<Parameter> parameters, float lr, float momentum = 0, float dampening = 0, bool nesterov = false,
        float weightDecay = 0) : base(parameters, lr)
    {
        Require("momentum", momentum, 0);
        Require("dampening", dampening, 0);
        Require("weight decay", weightDecay, 0);
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Sgd: nesterov momentum needs momentum > 0 and dampening = 0, got momentum {momentum}, dampening {dampening}");
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        _oneMinusDampening = (float)(1.0 - AsWritten(dampening));
        if (momentum != 0) _buffers = AddState("momentum_buffer");
    }

    /// <inheritdoc/>
    protected override void UpdateParameters()
    {
        var update = new Update(WeightDecay, Momentum, _oneMinusDampening, Nesterov, first: StepCount == 0, -LearningRate);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            ElementwiseUpdate.Run(update, p.Value.Span, p.Grad.Span, _buffers is null ? default : _buffers[i].Span);
        }
        StepCount++;
    }

    private readonly struct Update(float weightDecay, float momentum, float oneMinusDampening, bool nesterov, bool first, float negLr)
        : IElementUpdate
    {
        private readonly float _wd = weightDecay, _mu = momentum,
            _keep = oneMinusDampening, _negLr = negLr;
        private readonly bool _decay = weightDecay != 0, _momentum = momentum != 0, _nesterov = nesterov, _first = first;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(ref TV p, TV g, ref TV buf, ref TV s1, ref TV s2)
            where TV : struct, IFloatVector<TV>
        {
            var d = _decay ? ElementwiseUpdate.L2(g, p, TV.Create(_wd)) : g;
            if (_momentum)
            {
                buf = _first ? d : TV.FusedMultiplyAdd(d, TV.Create(_keep), buf * TV.Create(_mu));
                d = _nesterov ? TV.FusedMultiplyAdd(buf, TV.Create(_mu), d) : buf;
            }
            p = TV.FusedMultiplyAdd(d, TV.Create(_negLr), p);
        }
    }
}
