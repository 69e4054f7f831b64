using System.Runtime.CompilerServices;
using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>
/// torch.optim.RMSprop:
///   g = g + λ·p;   v = α·v + (1 − α)·g²   (state "square_avg")
///   centered: ḡ = α·ḡ + (1 − α)·g (state "grad_avg"), a = √(v − ḡ²) + ε;  else a = √v + ε
///   momentum μ &gt; 0: b = μ·b + g/a (state "momentum_buffer"), p = p − lr·b;  else p = p − lr·g/a
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>α: decay of the squared-gradient average "square_avg" (torch's alpha).</summary>
    public float Alpha { get; }
    /// <summary>ε added to the root in the denominator (torch's eps).</summary>
    public float Epsilon { get; }
    /// <summary>μ: momentum of the "momentum_buffer" (0: none).</summary>
    public float Momentum { get; }
    /// <summary>Normalize by the variance estimate v − ḡ², keeping the gradient average "grad_avg" (torch's centered).</summary>
    public bool Centered { get; }
    /// <summary>λ: L2 penalty added to the gradient as λ·p (torch's weight_decay).</summary>
    public float WeightDecay { get; }

    private readonly Tensors.Tensor[] _squareAvg;
    private readonly Tensors.Tensor[]? _gradAvg, _buffers;
    private readonly float _oneMinusAlpha; // 1 − α rounded from double, as PyTorch

    /// <summary>
    /// torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered). Throws <see cref="ArgumentException"/>
    /// for an empty parameter list, repeated parameter names, or a negative hyperparameter.
    /// </summary>
    public RmsProp(IEnumerable<Parameter> parameters, float lr = 0.01f, float alpha = 0.99f, float eps = 1e-8f,
        float momentum = 0, bool centered = false, float weightDecay = 0) : base(parameters, lr)
    {
        Require("alpha", alpha, 0);
        Require("eps", eps, 0);
        Require("momentum", momentum, 0);
        Require("weight decay", weightDecay, 0);
        Alpha = alpha;
        Epsilon = eps;
        Momentum = momentum;
        Centered = centered;
        WeightDecay = weightDecay;
        _oneMinusAlpha = (float)(1.0 - AsWritten(alpha));
        _squareAvg = AddState("square_avg");
        if (momentum > 0) _buffers = AddState("momentum_buffer");
        if (centered) _gradAvg = AddState("grad_avg");
    }

    /// <inheritdoc/>
    protected override void UpdateParameters()
    {
        var update = new Update(WeightDecay, Alpha, _oneMinusAlpha, Epsilon, Momentum, Centered, -LearningRate);
        for (int i = 0; i < Parameters.Count; i++)
            ElementwiseUpdate.Run(update, Parameters[i].Value.Span, Parameters[i].Grad.Span, _squareAvg[i].Span,
                _gradAvg is null ? default : _gradAvg[i].Span, _buffers is null ? default : _buffers[i].Span);
        StepCount++;
    }

    private readonly struct Update(float weightDecay, float alpha, float oneMinusAlpha, float eps, float momentum, bool centered, float negLr)
        : IElementUpdate
    {
        private readonly float _wd = weightDecay, _alpha = alpha,
            _oneMinusAlpha = oneMinusAlpha, _eps = eps, _mu = momentum,
            _negLr = negLr;
        private readonly bool _decay = weightDecay != 0, _centered = centered, _momentum = momentum > 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(ref TV p, TV g, ref TV squareAvg, ref TV gradAvg, ref TV buf)
            where TV : struct, IFloatVector<TV>
        {
            if (_decay) g = ElementwiseUpdate.L2(g, p, TV.Create(_wd));
            // square_avg.mul_(α).addcmul_(g, g, value=1−α): one fused (1−α)g·g + α·v
            squareAvg = TV.FusedMultiplyAdd(TV.Create(_oneMinusAlpha) * g, g, squareAvg * TV.Create(_alpha));
            TV avg;
            if (_centered)
            {
                gradAvg = TV.FusedMultiplyAdd(g, TV.Create(_oneMinusAlpha), gradAvg * TV.Create(_alpha));
                avg = TV.Sqrt(TV.FusedMultiplyAdd(-gradAvg, gradAvg, squareAvg));
            }
            else avg = TV.Sqrt(squareAvg);
            avg += TV.Create(_eps);
            if (_momentum)
            {
                buf = buf * TV.Create(_mu) + g / avg;
                p = TV.FusedMultiplyAdd(buf, TV.Create(_negLr), p);
            }
            else p += TV.Create(_negLr) * g / avg;
        }
    }
}
