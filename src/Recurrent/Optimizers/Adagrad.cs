using System.Runtime.CompilerServices;
using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>
/// torch.optim.Adagrad:
///   g = g + λ·p;   s = s + g²  (state "sum", starting at initial_accumulator_value)
///   p = p − clr·g / (√s + ε),   clr = lr / (1 + (step − 1)·lr_decay)
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>ε added to √s in the denominator (torch's eps).</summary>
    public float Epsilon { get; }
    /// <summary>λ: L2 penalty added to the gradient as λ·p (torch's weight_decay).</summary>
    public float WeightDecay { get; }
    /// <summary>The value every "sum" state starts at (torch's initial_accumulator_value).</summary>
    public float InitialAccumulatorValue { get; }
    /// <summary>Decay of the learning rate per step: clr = lr / (1 + (step − 1)·lr_decay) (torch's lr_decay).</summary>
    public float LearningRateDecay { get; }

    private readonly Tensors.Tensor[] _sums;
    private readonly double _lrDecay;

    /// <summary>
    /// torch.optim.Adagrad(params, lr, lr_decay, weight_decay, initial_accumulator_value, eps). Throws
    /// <see cref="ArgumentException"/> for an empty parameter list, repeated parameter names, or a negative hyperparameter.
    /// </summary>
    public Adagrad(IEnumerable<Parameter> parameters, float lr = 0.01f, float eps = 1e-10f, float weightDecay = 0,
        float initialAccumulatorValue = 0, float lrDecay = 0) : base(parameters, lr)
    {
        Require("eps", eps, 0);
        Require("weight decay", weightDecay, 0);
        Require("initial accumulator value", initialAccumulatorValue, 0);
        Require("lr decay", lrDecay, 0);
        Epsilon = eps;
        WeightDecay = weightDecay;
        InitialAccumulatorValue = initialAccumulatorValue;
        LearningRateDecay = lrDecay;
        _lrDecay = AsWritten(lrDecay);
        _sums = AddState("sum", initialAccumulatorValue);
    }

    /// <inheritdoc/>
    protected override void UpdateParameters()
    {
        StepCount++;
        double clr = LearningRateAsWritten / (1 + (StepCount - 1) * _lrDecay);
        var update = new Update(WeightDecay, Epsilon, (float)-clr);
        for (int i = 0; i < Parameters.Count; i++)
            ElementwiseUpdate.Run(update, Parameters[i].Value.Span, Parameters[i].Grad.Span, _sums[i].Span);
    }

    private readonly struct Update(float weightDecay, float eps, float negClr) : IElementUpdate
    {
        private readonly float _wd = weightDecay, _eps = eps, _negClr = negClr;
        private readonly bool _decay = weightDecay != 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(ref TV p, TV g, ref TV sum, ref TV s1, ref TV s2)
            where TV : struct, IFloatVector<TV>
        {
            if (_decay) g = ElementwiseUpdate.L2(g, p, TV.Create(_wd));
            sum = TV.FusedMultiplyAdd(g, g, sum);
            var std = TV.Sqrt(sum) + TV.Create(_eps);
            p += TV.Create(_negClr) * g / std;
        }
    }
}
