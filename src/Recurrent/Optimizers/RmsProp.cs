using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Recurrent.Layers;

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
    public override void Step()
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
        private readonly Vector512<float> _wd = Vector512.Create(weightDecay), _alpha = Vector512.Create(alpha),
            _oneMinusAlpha = Vector512.Create(oneMinusAlpha), _eps = Vector512.Create(eps), _mu = Vector512.Create(momentum),
            _negLr = Vector512.Create(negLr);
        private readonly bool _decay = weightDecay != 0, _centered = centered, _momentum = momentum > 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply(ref Vector512<float> p, Vector512<float> g, ref Vector512<float> squareAvg, ref Vector512<float> gradAvg, ref Vector512<float> buf)
        {
            if (_decay) g = ElementwiseUpdate.L2(g, p, _wd);
            // square_avg.mul_(α).addcmul_(g, g, value=1−α): one fused (1−α)g·g + α·v
            squareAvg = Vector512.FusedMultiplyAdd(_oneMinusAlpha * g, g, squareAvg * _alpha);
            Vector512<float> avg;
            if (_centered)
            {
                gradAvg = Vector512.FusedMultiplyAdd(g, _oneMinusAlpha, gradAvg * _alpha);
                avg = Vector512.Sqrt(Vector512.FusedMultiplyAdd(-gradAvg, gradAvg, squareAvg));
            }
            else avg = Vector512.Sqrt(squareAvg);
            avg += _eps;
            if (_momentum)
            {
                buf = buf * _mu + g / avg;
                p = Vector512.FusedMultiplyAdd(buf, _negLr, p);
            }
            else p += _negLr * g / avg;
        }
    }
}
