using System.Runtime.CompilerServices;
using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>
/// torch.optim.Adam (weight decay as L2 added to the gradient):
///   g = g + λ·p;   m = β₁m + (1 − β₁)g  ("exp_avg");   v = β₂v + (1 − β₂)g²  ("exp_avg_sq")
///   p = p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </summary>
public class Adam : Optimizer
{
    /// <summary>β₁: decay of the first-moment average "exp_avg" (torch's betas[0]).</summary>
    public float Beta1 { get; }
    /// <summary>β₂: decay of the second-moment average "exp_avg_sq" (torch's betas[1]).</summary>
    public float Beta2 { get; }
    /// <summary>ε added to the bias-corrected √v in the denominator (torch's eps).</summary>
    public float Epsilon { get; }
    /// <summary>λ: the L2 term λ·p added to the gradient (Adam), or the decoupled decay p·(1 − lr·λ) (<see cref="AdamW"/>).</summary>
    public float WeightDecay { get; }

    private readonly Tensor[] _expAvg, _expAvgSq;
    private readonly double _beta1, _beta2, _weightDecay; // as written (Optimizer.AsWritten)
    private readonly bool _decoupled;

    /// <summary>
    /// torch.optim.Adam(params, lr, betas=(beta1, beta2), eps, weight_decay). Throws <see cref="ArgumentException"/> for an
    /// empty parameter list, repeated parameter names, β outside [0, 1), or a negative lr, eps or weight decay.
    /// </summary>
    public Adam(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0) : this(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: false) { }

    /// <param name="decoupled">AdamW's decay p·(1 − lr·λ) instead of Adam's L2 term in the gradient.</param>
    /// <param name="parameters">the parameters updated.</param>
    /// <param name="lr">the learning rate.</param>
    /// <param name="beta1">β₁, in [0, 1).</param>
    /// <param name="beta2">β₂, in [0, 1).</param>
    /// <param name="eps">ε ≥ 0.</param>
    /// <param name="weightDecay">λ ≥ 0.</param>
    private protected Adam(IEnumerable<Parameter> parameters, float lr, float beta1, float beta2, float eps, float weightDecay,
        bool decoupled) : base(parameters, lr)
    {
        AdamStep.Validate(this, beta1, beta2, eps, weightDecay);
        (Beta1, Beta2, Epsilon, WeightDecay, _decoupled) = (beta1, beta2, eps, weightDecay, decoupled);
        (_beta1, _beta2, _weightDecay) = (AsWritten(beta1), AsWritten(beta2), AsWritten(weightDecay));
        (_expAvg, _expAvgSq) = (AddState("exp_avg"), AddState("exp_avg_sq"));
    }

    /// <inheritdoc/>
    protected override void UpdateParameters()
    {
        StepCount++;
        if (_decoupled)
        {
            float decay = (float)(1.0 - LearningRateAsWritten * _weightDecay);
            AdamStep.Run(Parameters, _expAvg, _expAvgSq, LearningRateAsWritten, _beta1, _beta2, Epsilon, StepCount, l2: 0, decay);
        }
        else
            AdamStep.Run(Parameters, _expAvg, _expAvgSq, LearningRateAsWritten, _beta1, _beta2, Epsilon, StepCount, l2: WeightDecay, decay: 1f);
    }
}

/// <summary>
/// torch.optim.AdamW: Adam with decoupled weight decay, p = p·(1 − lr·λ) before the Adam update (no L2 in the moments).
/// </summary>
public sealed class AdamW(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
    float eps = 1e-8f, float weightDecay = 0.01f) : Adam(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true);

/// <summary>The update Adam and AdamW share; the scalars are computed in double as PyTorch's Python code does.</summary>
internal static class AdamStep
{
    public static void Validate(Optimizer who, float beta1, float beta2, float eps, float weightDecay)
    {
        who.Require("beta1", beta1, 0, 1);
        who.Require("beta2", beta2, 0, 1);
        who.Require("eps", eps, 0);
        who.Require("weight decay", weightDecay, 0);
    }

    public static void Run(IReadOnlyList<Parameter> parameters, Tensor[] expAvg, Tensor[] expAvgSq, double lr, double beta1,
        double beta2, float eps, long step, float l2, float decay)
    {
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        double stepSize = lr / biasCorrection1;
        var update = new Update(l2, decay, (float)beta1, (float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2),
            (float)Math.Sqrt(biasCorrection2), eps, (float)-stepSize);
        for (int i = 0; i < parameters.Count; i++)
            ElementwiseUpdate.Run(update, parameters[i].Value.Span, parameters[i].Grad.Span, expAvg[i].Span, expAvgSq[i].Span);
    }

    private readonly struct Update(float l2, float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize) : IElementUpdate
    {
        private readonly float _l2 = l2, _decay = decay,
            _b1 = beta1, _c1 = oneMinusBeta1,
            _b2 = beta2, _c2 = oneMinusBeta2,
            _bc2 = biasCorrection2Sqrt, _eps = eps, _negStep = negStepSize;
        private readonly bool _useL2 = l2 != 0, _useDecay = decay != 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(ref TV p, TV g, ref TV m, ref TV v, ref TV s2)
            where TV : struct, IFloatVector<TV>
        {
            if (_useDecay) p *= TV.Create(_decay);                              // AdamW: param.mul_(1 − lr·λ)
            if (_useL2) g = ElementwiseUpdate.L2(g, p, TV.Create(_l2));         // Adam: grad.add(param, alpha=λ)
            m = TV.FusedMultiplyAdd(g, TV.Create(_c1), m * TV.Create(_b1));     // exp_avg.mul_(β₁).add_(g, alpha=1−β₁)
            v = TV.FusedMultiplyAdd(TV.Create(_c2) * g, g, v * TV.Create(_b2)); // exp_avg_sq.mul_(β₂).addcmul_(g, g, value=1−β₂)
            var denom = TV.Sqrt(v) / TV.Create(_bc2) + TV.Create(_eps);         // (exp_avg_sq.sqrt() / √bc₂).add_(ε)
            p += TV.Create(_negStep) * m / denom;                               // param.addcdiv_(exp_avg, denom, value=−step_size)
        }
    }
}
