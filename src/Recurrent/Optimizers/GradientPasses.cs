using Recurrent.Layers;
using Recurrent.Tensors;

namespace Recurrent.Optimizers;

/// <summary>
/// The passes over every gradient a training step makes besides the optimizer's own (zeroing, the global norm's sum
/// of squares, the clip's scaling), shared among the GEMM threads one whole parameter at a time: each thread takes
/// the largest parameter not yet taken, so the big embedding and output matrices spread over the threads. A whole
/// parameter keeps its sum of squares the same bits as on one thread, and the per-parameter sums are added in the
/// parameters' order afterwards, so the norm does not depend on the thread count. On one thread (or a small model)
/// the passes run in order on the caller's thread.
/// </summary>
internal sealed class GradientPasses : IParallelWork
{
    private enum Pass { Zero, SumOfSquares, Scale }

    [ThreadStatic] private static GradientPasses? _current;
    private IReadOnlyList<Parameter> _parameters = [];
    private int[] _order = [];     // parameter indices, largest first
    private double[] _sums = [];   // per parameter, SumOfSquares
    private Pass _pass;
    private float _scale;
    private int _next;             // the next index into _order to take

    /// <summary>Every gradient set to zero.</summary>
    public static void Zero(IReadOnlyList<Parameter> parameters) => Run(parameters, Pass.Zero, 0);

    /// <summary>Σ of every gradient element squared: each parameter's in double (<see cref="Kernels.SumOfSquares"/>),
    /// added in the parameters' order.</summary>
    public static double SumOfSquares(IReadOnlyList<Parameter> parameters)
    {
        var work = Run(parameters, Pass.SumOfSquares, 0);
        double sum = 0;
        for (int i = 0; i < parameters.Count; i++) sum += work._sums[i];
        return sum;
    }

    /// <summary>Every gradient multiplied by <paramref name="scale"/>.</summary>
    public static void Scale(IReadOnlyList<Parameter> parameters, float scale) => Run(parameters, Pass.Scale, scale);

    private static GradientPasses Run(IReadOnlyList<Parameter> parameters, Pass pass, float scale)
    {
        var work = _current ??= new GradientPasses();
        int count = parameters.Count;
        if (work._order.Length < count) (work._order, work._sums) = (new int[count], new double[count]);
        long floats = 0;
        for (int i = 0; i < count; i++)
        {
            floats += parameters[i].Grad.Length;
            // Insertion sort by size, largest first (a model has tens of parameters).
            int j = i;
            for (; j > 0 && parameters[work._order[j - 1]].Grad.Length < parameters[i].Grad.Length; j--) work._order[j] = work._order[j - 1];
            work._order[j] = i;
        }
        (work._parameters, work._pass, work._scale, work._next) = (parameters, pass, scale, 0);
        ParallelParts.Run(work, ParallelParts.For(floats, count));
        work._parameters = [];
        return work;
    }

    /// <summary>One thread's share: parameters taken one at a time, largest first, until none is left.</summary>
    public void RunPart(int part)
    {
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < _parameters.Count)
        {
            int index = _order[i];
            var grad = _parameters[index].Grad.Span;
            switch (_pass)
            {
                case Pass.Zero: grad.Clear(); break;
                case Pass.SumOfSquares: _sums[index] = Kernels.SumOfSquares(grad); break;
                default: Kernels.Scale(grad, _scale); break;
            }
        }
    }
}
