namespace Recurrent.Analysis;

/// <summary>
/// The Mackey–Glass delay differential equation, the chaotic benchmark of echo state networks (Jaeger &amp; Haas 2004):
///
///   dx/dt = β x(t − τ) / (1 + x(t − τ)¹⁰) − γ x(t),   β = 0.2, γ = 0.1, τ = 17 (chaotic for τ > 16.8)
///
/// Integration: classical Runge–Kutta 4 with step h = 1/substeps on a grid that keeps the last τ of the solution, so
/// the delayed value at the grid points is a stored sample x(t − τ) (τ·substeps is a whole number of steps) and at the
/// half steps RK4 needs, x(t + h/2 − τ) comes from the four grid neighbours by cubic interpolation,
/// (−x₋₁ + 9x₀ + 9x₁ − x₂)/16, error O(h⁴) like RK4's own (the mean of two neighbours would be O(h²) and dominate: at
/// h = 0.1 it moves the first 200 samples by 1e-4). The history on [−τ, 0] is the constant <c>initial</c>; the first
/// <c>transient</c> time units, where the solution leaves that artificial start for the attractor, are discarded;
/// then x is sampled at every whole time unit (sampling step 1, as Jaeger &amp; Haas). No randomness: the series is a
/// function of (τ, substeps, initial, transient) alone. On the attractor x stays within about [0.4, 1.35].
/// </summary>
public static class MackeyGlass
{
    /// <summary>β and γ of dx/dt = β x(t − τ) / (1 + x(t − τ)¹⁰) − γ x(t).</summary>
    public const double Beta = 0.2, Gamma = 0.1;
    /// <summary>τ = 17: the delay at which the series is mildly chaotic, the usual benchmark.</summary>
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
    /// <param name="length">samples wanted (≥ 1).</param>
    public static double[] Generate(int length, int tau = Tau, int substeps = 10, double initial = 1.2, int transient = 1000)
    {
        if (length <= 0) throw new ArgumentException($"MackeyGlass: the length must be positive (got {length})");
        if (tau <= 0) throw new ArgumentException($"MackeyGlass: τ must be a positive whole number of time units (got {tau})");
        if (substeps <= 0) throw new ArgumentException($"MackeyGlass: substeps must be positive (got {substeps})");
        if (!(initial > 0) || !double.IsFinite(initial)) throw new ArgumentException($"MackeyGlass: the initial value must be positive (got {initial})");
        if (transient < 0) throw new ArgumentException($"MackeyGlass: the transient must be ≥ 0 time units (got {transient})");

        double h = 1.0 / substeps;
        int delay = tau * substeps;   // the delay in grid steps
        if (delay < 2) throw new ArgumentException($"MackeyGlass: τ·substeps must be at least 2 grid steps (got {delay})");
        // A ring of the last delay + 2 grid values: ring[i % size] = x at grid step i (step 0 is t = 0); steps before 0
        // are the constant history and are not stored.
        int size = delay + 2;
        var ring = new double[size];
        double At(long step) => step <= 0 ? initial : ring[step % size];
        var samples = new double[length];
        long steps = (long)(transient + length - 1) * substeps;
        double x = initial;
        ring[0] = x;
        if (transient == 0) samples[0] = x;
        for (long i = 0; i < steps; i++)
        {
            // x(t − τ) and x(t + h − τ) are grid steps i − delay and i − delay + 1; x(t + h/2 − τ) lies between them.
            long d = i - delay;
            double delayed0 = At(d), delayed1 = At(d + 1);
            double delayedHalf = (9 * (delayed0 + delayed1) - At(d - 1) - At(d + 2)) / 16;
            double k1 = Derivative(x, delayed0);
            double k2 = Derivative(x + 0.5 * h * k1, delayedHalf);
            double k3 = Derivative(x + 0.5 * h * k2, delayedHalf);
            double k4 = Derivative(x + h * k3, delayed1);
            x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
            ring[(i + 1) % size] = x;   // overwrites step i − delay − 1, read above for the last time
            long next = i + 1 - (long)transient * substeps;   // grid steps past the transient
            if (next >= 0 && next % substeps == 0) samples[next / substeps] = x;
        }
        return samples;
    }
}
