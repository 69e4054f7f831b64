using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// Weight initializers, as torch.nn.init. A 2-D weight is [fan_out, fan_in] (rows = outputs); tensors of higher rank
/// are treated as [Shape[0], rest] like PyTorch. Every one draws from an explicit Rng.
/// </summary>
public static class Init
{
    /// <summary>t ~ U(−bound, bound).</summary>
    public static void Uniform(Tensor t, float bound, Rng rng)
    {
        if (!(bound >= 0)) throw new ArgumentException($"Init.Uniform: bound must be ≥ 0, got {bound}");
        var data = t.Data;
        for (int i = 0; i < data.Length; i++) data[i] = rng.Uniform(-bound, bound);
    }

    /// <summary>t ~ N(0, std²).</summary>
    public static void Normal(Tensor t, float std, Rng rng)
    {
        if (!(std >= 0)) throw new ArgumentException($"Init.Normal: std must be ≥ 0, got {std}");
        var data = t.Data;
        for (int i = 0; i < data.Length; i++) data[i] = std * rng.Normal();
    }

    /// <summary>Glorot: w ~ U(±gain·√(6/(fan_in+fan_out))), w: [fan_out, fan_in].</summary>
    public static void XavierUniform(Tensor w, Rng rng, float gain = 1)
    {
        Matrix(w, "XavierUniform");
        int receptive = w.Length / (w.Shape[0] * w.Shape[1]); // 1 for a matrix
        float fanOut = w.Shape[0] * receptive, fanIn = w.Shape[1] * receptive;
        Uniform(w, gain * MathF.Sqrt(6f / (fanIn + fanOut)), rng);
    }

    /// <summary>
    /// torch.nn.init.orthogonal_: a Gaussian matrix's Q factor with the signs that make R's diagonal positive, times
    /// gain. rows ≥ cols gives orthonormal columns (WᵀW = I); rows &lt; cols gives orthonormal rows (WWᵀ = I).
    /// </summary>
    public static void Orthogonal(Tensor w, Rng rng, float gain = 1)
    {
        var (rows, cols) = Matrix(w, "Orthogonal");
        Orthogonal(w.Span, rows, cols, rng, gain);
    }

    /// <summary>
    /// Orthogonal on a row block: block holds a [rows, cols] matrix row-major (e.g. one gate's rows of W_hh, so each
    /// gate's recurrent matrix is orthogonal on its own).
    /// </summary>
    public static void Orthogonal(Span<float> block, int rows, int cols, Rng rng, float gain = 1)
    {
        if (rows <= 0 || cols <= 0 || block.Length != rows * cols)
            throw new ArgumentException($"Init.Orthogonal: a [{rows}, {cols}] block needs {rows * cols} elements, got {block.Length}");
        // Factor the tall orientation A [m, k] (m ≥ k) and write Q or Qᵀ back.
        bool tall = rows >= cols;
        int m = tall ? rows : cols, k = tall ? cols : rows;
        var q = new double[k * m]; // row j = column j of A, then of Q
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double g = rng.Normal();
                if (tall) q[c * m + r] = g; else q[r * m + c] = g;
            }
        GramSchmidt(q, k, m);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                block[r * cols + c] = (float)(gain * (tall ? q[c * m + r] : q[r * m + c]));
    }

    /// <summary>
    /// Modified Gram–Schmidt on the k rows (length m) of q, twice per row ("twice is enough") so Q is orthonormal to
    /// double rounding. It yields the QR factor whose R has a positive diagonal, which is exactly PyTorch's Householder
    /// Q after its sign fix.
    /// </summary>
    private static void GramSchmidt(double[] q, int k, int m)
    {
        for (int j = 0; j < k; j++)
        {
            var v = q.AsSpan(j * m, m);
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < j; i++)
                {
                    var u = q.AsSpan(i * m, m);
                    AddScaled(v, u, -Dot(u, v));
                }
            double norm = Math.Sqrt(Dot(v, v));
            if (norm == 0) throw new InvalidOperationException("Init.Orthogonal: the Gaussian sample was rank-deficient");
            for (int t = 0; t < m; t++) v[t] /= norm;
        }
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        ref double ra = ref MemoryMarshal.GetReference(a);
        ref double rb = ref MemoryMarshal.GetReference(b);
        var acc = Vector512<double>.Zero;
        int i = 0;
        for (; i <= a.Length - 8; i += 8)
            acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), acc);
        double sum = Vector512.Sum(acc);
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>v += s·u.</summary>
    private static void AddScaled(Span<double> v, ReadOnlySpan<double> u, double s)
    {
        ref double rv = ref MemoryMarshal.GetReference(v);
        ref double ru = ref MemoryMarshal.GetReference(u);
        var vs = Vector512.Create(s);
        int i = 0;
        for (; i <= v.Length - 8; i += 8)
            Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ru, (nuint)i), vs, Vector512.LoadUnsafe(ref rv, (nuint)i)).StoreUnsafe(ref rv, (nuint)i);
        for (; i < v.Length; i++) v[i] += s * u[i];
    }

    /// <summary>
    /// w = scale·I on the leading square part and 0 elsewhere (torch.nn.init.eye_): the IRNN initialization of W_hh.
    /// For a gate-stacked [G·H, H] matrix this sets the first gate's block; use the span overload per block for more.
    /// </summary>
    public static void Identity(Tensor w, float scale = 1)
    {
        var (rows, cols) = Matrix(w, "Identity");
        Identity(w.Span, rows, cols, scale);
    }

    /// <summary>block ([rows, cols] row-major) = scale·I on its leading square part, 0 elsewhere.</summary>
    public static void Identity(Span<float> block, int rows, int cols, float scale = 1)
    {
        if (rows <= 0 || cols <= 0 || block.Length != rows * cols)
            throw new ArgumentException($"Init.Identity: a [{rows}, {cols}] block needs {rows * cols} elements, got {block.Length}");
        block.Clear();
        for (int i = 0; i < Math.Min(rows, cols); i++) block[i * cols + i] = scale;
    }

    /// <summary>
    /// Sets the forget-gate slice [H, 2H) of an LSTM bias [4H] (PyTorch gate order i, f, g, o) to value; the usual
    /// trick is 1 so early training does not forget (Jozefowicz et al. 2015). With both b_ih and b_hh, PyTorch adds them.
    /// </summary>
    public static void ForgetGateBias(Tensor lstmBias, int hiddenSize, float value)
    {
        if (lstmBias.Rank != 1 || lstmBias.Length != 4 * hiddenSize)
            throw new ShapeException($"Init.ForgetGateBias: an LSTM bias for hidden size {hiddenSize} is [{4 * hiddenSize}], got {Tensor.Describe(lstmBias.Shape)}");
        lstmBias.Span.Slice(hiddenSize, hiddenSize).Fill(value);
    }

    /// <summary>
    /// The IRNN of Le, Jaitly &amp; Hinton (2015) "A simple way to initialize recurrent networks of rectified linear
    /// units": a ReLU RNN with every W_hh = recurrentScale·I, every bias 0 and W_ih ~ N(0, inputStd²) (their 0.001).
    /// With the identity, h_t = ReLU(h_{t−1} + W_ih x_t) starts out adding its inputs up and copying its state (and the
    /// gradient through active units) unchanged from step to step, neither fading nor growing. recurrentScale &gt; 1
    /// makes the exploding case (spectral radius recurrentScale).
    /// </summary>
    public static void Irnn(RecurrentLayer layer, Rng rng, float inputStd = 0.001f, float recurrentScale = 1f)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.Cell != CellKind.RnnRelu)
            throw new ArgumentException($"Init.Irnn: an IRNN is a ReLU RNN, got a {layer.Cell} layer ({layer})");
        foreach (var p in layer.Parameters())
        {
            if (p.Name.StartsWith("weight_hh", StringComparison.Ordinal)) Identity(p.Value, recurrentScale);
            else if (p.Name.StartsWith("weight_ih", StringComparison.Ordinal)) Normal(p.Value, inputStd, rng);
            else p.Value.Zero();
        }
    }

    private static (int Rows, int Cols) Matrix(Tensor w, string name)
    {
        if (w.Rank < 2 || w.Length == 0)
            throw new ShapeException($"Init.{name}: needs a non-empty tensor of rank ≥ 2, got {Tensor.Describe(w.Shape)}");
        return (w.Shape[0], w.Length / w.Shape[0]);
    }
}
