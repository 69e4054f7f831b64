using Recurrent.Analysis;
using Xunit;

namespace Recurrent.Tests;

public class MackeyGlassTests
{
    [Fact]
    public void SeriesStaysInItsKnownRangeAndFillsIt()
    {
        double[] x = MackeyGlass.Generate(3000);
        Assert.All(x, v => Assert.InRange(v, 0.35, 1.4));
        Assert.True(x.Min() < 0.5 && x.Max() > 1.2, $"range [{x.Min():F3}, {x.Max():F3}] does not cover the attractor");
    }

    [Fact]
    public void EquilibriumOneStaysPut()
    {
        // x* = 1 solves β x/(1 + x¹⁰) = γ x (0.2/2 = 0.1): a constant history of 1 never moves.
        Assert.Equal(0.0, MackeyGlass.Derivative(1, 1));
        Assert.All(MackeyGlass.Generate(50, initial: 1.0, transient: 0), v => Assert.Equal(1.0, v));
    }

    [Fact]
    public void DeterministicButChaotic()
    {
        Assert.Equal(MackeyGlass.Generate(500), MackeyGlass.Generate(500));
        // A start 1e-7 away: the same at first, then the difference grows until the two series are unrelated.
        double[] a = MackeyGlass.Generate(4000, transient: 0), b = MackeyGlass.Generate(4000, initial: 1.2 + 1e-7, transient: 0);
        Assert.True(Math.Abs(a[0] - b[0]) < 1.1e-7 && Math.Abs(a[100] - b[100]) < 1e-4, $"start differs: {Math.Abs(a[100] - b[100]):G3}");
        double late = Enumerable.Range(3000, 1000).Max(t => Math.Abs(a[t] - b[t]));
        Assert.True(late > 0.1, $"the two runs still agree to {late:G3} after 3,000 time units: not chaotic");
    }

    [Fact]
    public void FinerStepGivesNearlyTheSameFirstSamples()
    {
        double[] coarse = MackeyGlass.Generate(200, substeps: 10, transient: 0);
        double[] fine = MackeyGlass.Generate(200, substeps: 40, transient: 0);
        double diff = Enumerable.Range(0, 200).Max(t => Math.Abs(coarse[t] - fine[t]));
        Assert.True(diff < 1e-4, $"h = 0.1 and h = 0.025 differ by {diff:G3} in the first 200 samples");
        Assert.NotEqual(coarse, fine);   // they are two integrations, not one
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        Assert.Contains("length", Assert.Throws<ArgumentException>(() => MackeyGlass.Generate(0)).Message);
        Assert.Contains("initial", Assert.Throws<ArgumentException>(() => MackeyGlass.Generate(10, initial: -1)).Message);
        Assert.Contains("substeps", Assert.Throws<ArgumentException>(() => MackeyGlass.Generate(10, substeps: 0)).Message);
        Assert.Contains("2 grid steps", Assert.Throws<ArgumentException>(() => MackeyGlass.Generate(10, tau: 1, substeps: 1)).Message);
    }
}
