using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Recurrent.Layers;

namespace Recurrent.Optimizers;

/// <summary>
/// torch.optim.Adagrad:
///   g = g + λ·p;   s = s + g²  (state "sum", starting at initial_accumulator_value)
///   p = p − clr·g / (√s + ε),   clr = lr / (1 + (step − 1)·lr_decay)
/// </summary>
public sealed class Adagrad : Optimizer
{
    public float Epsilon { get; }
    public float WeightDecay { get; }
    public float InitialAccumulatorValue { get; }
    public float LearningRateDecay { get; }

    private readonly Tensors.Tensor[] _sums;
    private readonly double _lrDecay;

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

    public override void Step()
    {
        StepCount++;
        double clr = LearningRateAsWritten / (1 + (StepCount - 1) * _lrDecay);
        var update = new Update(WeightDecay, Epsilon, (float)-clr);
        for (int i = 0; i < Parameters.Count; i++)
            ElementwiseUpdate.Run(update, Parameters[i].Value.Span, Parameters[i].Grad.Span, _sums[i].Span);
    }

    private readonly struct Update(float weightDecay, float eps, float negClr) : IElementUpdate
    {
        private readonly Vector512<float> _wd = Vector512.Create(weightDecay), _eps = Vector512.Create(eps), _negClr = Vector512.Create(negClr);
        private readonly bool _decay = weightDecay != 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply(ref Vector512<float> p, Vector512<float> g, ref Vector512<float> sum, ref Vector512<float> s1, ref Vector512<float> s2)
        {
            if (_decay) g = ElementwiseUpdate.L2(g, p, _wd);
            sum = Vector512.FusedMultiplyAdd(g, g, sum);
            var std = Vector512.Sqrt(sum) + _eps;
            p += _negClr * g / std;
        }
    }
}
