using System.Globalization;

namespace Recurrent.Layers;

/// <summary>
/// The leak α of a leaky-integrator cell (<see cref="CellKind.Leaky"/>), one per hidden unit:
///   h_t = (1 − α) ⊙ h_{t−1} + α ⊙ tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
/// α = 1 is the tanh RNN; a small α makes a unit a slow integrator with time constant about 1/α steps.
///
/// Fixed: every unit's α is <see cref="Alpha"/> (0 &lt; α ≤ 1) and is no parameter, so the layer's parameters stay
/// nn.RNN's four and its state dict loads into nn.RNN when α = 1. Learned: each direction of each layer has one more
/// parameter, "leak_l{k}" [H] (PyTorch-style, beside weight_ih_l{k}), holding an unconstrained u with α = σ(u), every
/// unit starting at α = <see cref="Alpha"/> (0 &lt; α &lt; 1). σ rather than α itself because a gradient step on α
/// can leave (0, 1] (α ≤ 0 freezes or flips a unit, α &gt; 1 makes the direct path 1 − α negative), while every u is a
/// valid time scale, and u moves α near 0 (the slow units) in relative rather than absolute steps.
/// </summary>
public readonly record struct Leak(float Alpha, bool Learned)
{
    /// <summary>What a leaky cell gets when no leak is given: α = 0.5 fixed (the parameters stay nn.RNN's).</summary>
    public static Leak Default => Fixed(0.5f);

    /// <summary>Every unit's α is alpha, not trained.</summary>
    public static Leak Fixed(float alpha) => new(alpha, false);

    /// <summary>α learned per unit, each starting at initial.</summary>
    public static Leak Learn(float initial = 0.5f) => new(initial, true);

    /// <summary>Throws an ArgumentException naming the value when α is outside (0, 1] (fixed) or (0, 1) (learned).</summary>
    public void Validate(string who)
    {
        bool ok = Learned ? Alpha > 0f && Alpha < 1f : Alpha > 0f && Alpha <= 1f;
        if (!ok)
            throw new ArgumentException(Learned
                ? $"{who}: a learned leak starts at α in (0, 1), got {Alpha.ToString(CultureInfo.InvariantCulture)}"
                : $"{who}: a fixed leak α must be in (0, 1], got {Alpha.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>u = logit(α): the learned parameter's value for α.</summary>
    public static float Logit(float alpha) => MathF.Log(alpha / (1f - alpha));

    /// <summary>"0.5" (fixed) or "learned:0.5": what <see cref="Parse"/> reads and the command line's --leak takes.</summary>
    public override string ToString() =>
        (Learned ? "learned:" : "") + Alpha.ToString(CultureInfo.InvariantCulture);

    /// <summary>"A" (fixed α = A), "learned" (from α = 0.5) or "learned:A"; throws ArgumentException naming the text.</summary>
    public static Leak Parse(string text)
    {
        bool learned = text == "learned" || text.StartsWith("learned:", StringComparison.Ordinal);
        string number = learned ? (text.Length > 8 ? text[8..] : "0.5") : text;
        if (!float.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out float alpha))
            throw new ArgumentException($"leak must be a number α in (0, 1], 'learned' or 'learned:α', got '{text}'");
        var leak = new Leak(alpha, learned);
        try { leak.Validate("leak"); }
        catch (ArgumentException e) { throw new ArgumentException($"{e.Message} ('{text}')"); }
        return leak;
    }
}
