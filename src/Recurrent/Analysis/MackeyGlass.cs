namespace Recurrent.Analysis;

/// <summary>
/// The Mackey–Glass delay differential equation, the chaotic benchmark of echo state networks (Jaeger &amp; Haas 2004):
///
///   dx/dt = β x(t − τ) / (1 + x(t − τ)¹⁰) − γ x(t),   β = 0.2, γ = 0.1, τ = 17 (chaotic for τ > 16.8)
///
/// Integration: classical Runge–Kutta 4 with step h = 1/substeps on a grid that holds the whole history, so the delayed
/// value at the grid points is a stored sample x(t − τ) (τ·substeps is a whole number of steps) and at the half steps
/// RK4 needs, x(t + h/2 − τ), it is the mean of its two grid neighbours (linear interpolation, error O(h²), far below
/// the series' own scale at h = 0.1). The history on [−τ, 0] is the constant <c>initial</c>; the first
/// <c>transient</c> time units, where the solution leaves that artificial start for the attractor, are discarded;
/// then x is sampled at every whole time unit (sampling step 1, as Jaeger &amp; Haas). No randomness: the series is a
/// function of (τ, substeps, initial, transient) alone. On the attractor x stays within about [0.4, 1.35].
/// </summary>
public static class MackeyGlass
{
    public const double Beta = 0.2, Gamma = 0.1;
    public const int Tau = 17;

    /// <summary>dx/dt at x(t) = x with the delayed value x(t − τ) = delayed.</summary>
    public static double Derivative(double x, double delayed)
    {
        double d2 = delayed * delayed, d4 = d2 * d2, d8 = d4 * d4;
        return Beta * delayed / (1 + d8 * d2) - Gamma * x;
    }

    /// <summary>x(transient), x(transient + 1), …: <paramref name="length"/> samples one time unit apart.</summary>
    /// <param name="tau">the delay, in whole time units.</param>
    /// <param name="substeps">RK4 steps per time unit (h = 1/substeps).</param>
    /// <param name="initial">the constant history x(t) for t ∈ [−τ, 0] (positive).</param>
    /// <param name="transient">time units integrated and discarded before the first sample.</param>
    public static double[] Generate(int length, int tau = Tau, int substeps = 10, double initial = 1.2, int transient = 1000)
    {
        if (length <= 0) throw new ArgumentException($"MackeyGlass: the length must be positive (got {length})");
        if (tau <= 0) throw new ArgumentException($"MackeyGlass: τ must be a positive whole number of time units (got {tau})");
        if (substeps <= 0) throw new ArgumentException($"MackeyGlass: substeps must be positive (got {substeps})");
        if (!(initial > 0) || !double.IsFinite(initial)) throw new ArgumentException($"MackeyGlass: the initial value must be positive (got {initial})");
        if (transient < 0) throw new ArgumentException($"MackeyGlass: the transient must be ≥ 0 time units (got {transient})");

        double h = 1.0 / substeps;
        int delay = tau * substeps;   // the delay in grid steps
        // A ring of the last delay + 1 grid values: ring[i % size] = x at grid step i (step 0 is t = 0).
        int size = delay + 1;
        var ring = new double[size];
        Array.Fill(ring, initial);
        var samples = new double[length];
        long steps = (long)(transient + length - 1) * substeps;
        double x = initial;
        if (transient == 0) samples[0] = x;
        for (long i = 0; i < steps; i++)
        {
            // Grid steps i − delay and i − delay + 1 hold x(t − τ) and x(t + h − τ); before t = τ they are the history.
            double delayed0 = i - delay < 0 ? initial : ring[(i - delay) % size];
            double delayed1 = i - delay + 1 < 0 ? initial : ring[(i - delay + 1) % size];
            double delayedHalf = 0.5 * (delayed0 + delayed1);
            double k1 = Derivative(x, delayed0);
            double k2 = Derivative(x + 0.5 * h * k1, delayedHalf);
            double k3 = Derivative(x + 0.5 * h * k2, delayedHalf);
            double k4 = Derivative(x + h * k3, delayed1);
            x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
            ring[(i + 1) % size] = x;
            long next = i + 1 - (long)transient * substeps;   // grid steps past the transient
            if (next >= 0 && next % substeps == 0) samples[next / substeps] = x;
        }
        return samples;
    }
}
