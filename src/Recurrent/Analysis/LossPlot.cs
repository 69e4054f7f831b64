namespace Recurrent.Analysis;

/// <summary>Learning curves: loss (y) against training step (x), one <see cref="LineChart"/> series per curve.</summary>
public static class LossPlot
{
    /// <summary>
    /// An SVG chart of the curves, x "step", y <paramref name="yLabel"/>; throws <see cref="InvalidDataException"/> when no
    /// series has a finite point.
    /// </summary>
    public static string Render(string title, IReadOnlyList<LineChart.Series> series, string yLabel = "loss (nats/char)")
    {
        if (!series.Any(s => s.Points.Any(p => double.IsFinite(p.X) && double.IsFinite(p.Y))))
            throw new InvalidDataException("nothing to plot: the log has no finite losses");
        return LineChart.Render(title, "step", yLabel, series);
    }
}
