using System.Globalization;
using System.Security;
using System.Text;

namespace Recurrent.Analysis;

/// <summary>
/// Learning curves as a standalone SVG a browser opens: loss (y) against training step (x), one polyline per series
/// (train, validation), "nice" 1-2-5 ticks, a legend. Pure string building: no fonts measured, no dependencies.
/// </summary>
public static class LossPlot
{
    /// <summary>One curve: its name, colour and (step, loss) points in step order.</summary>
    public sealed record Series(string Name, string Color, IReadOnlyList<(double Step, double Loss)> Points);

    private const double Width = 800, Height = 480, Left = 70, Right = 20, Top = 40, Bottom = 50;

    public static string Render(string title, IReadOnlyList<Series> series, string yLabel = "loss (nats/char)")
    {
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Step) && double.IsFinite(p.Loss)).ToList();
        if (points.Count == 0) throw new InvalidDataException("nothing to plot: the log has no finite losses");

        var (x0, x1, xStep) = NiceRange(points.Min(p => p.Step), points.Max(p => p.Step));
        var (y0, y1, yStep) = NiceRange(points.Min(p => p.Loss), points.Max(p => p.Loss));
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(double v) => Left + (v - x0) / (x1 - x0) * plotW;
        double Y(double v) => Top + plotH - (v - y0) / (y1 - y0) * plotH;

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(Width)}\" height=\"{F(Height)}\" ")
           .Append($"viewBox=\"0 0 {F(Width)} {F(Height)}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append($"<title>{Escape(title)}</title>\n");
        svg.Append($"<rect width=\"{F(Width)}\" height=\"{F(Height)}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{F(Width / 2)}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>\n");

        // Grid and tick labels.
        for (int i = 0; i <= (int)Math.Round((x1 - x0) / xStep); i++)
        {
            double v = x0 + i * xStep;
            svg.Append($"<line x1=\"{F(X(v))}\" y1=\"{F(Top)}\" x2=\"{F(X(v))}\" y2=\"{F(Top + plotH)}\" stroke=\"#e0e0e0\"/>\n");
            svg.Append($"<text x=\"{F(X(v))}\" y=\"{F(Top + plotH + 16)}\" text-anchor=\"middle\">{Tick(v, xStep)}</text>\n");
        }
        for (int i = 0; i <= (int)Math.Round((y1 - y0) / yStep); i++)
        {
            double v = y0 + i * yStep;
            svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Y(v))}\" x2=\"{F(Left + plotW)}\" y2=\"{F(Y(v))}\" stroke=\"#e0e0e0\"/>\n");
            svg.Append($"<text x=\"{F(Left - 6)}\" y=\"{F(Y(v) + 4)}\" text-anchor=\"end\">{Tick(v, yStep)}</text>\n");
        }
        svg.Append($"<rect x=\"{F(Left)}\" y=\"{F(Top)}\" width=\"{F(plotW)}\" height=\"{F(plotH)}\" fill=\"none\" stroke=\"#444\"/>\n");
        svg.Append($"<text x=\"{F(Left + plotW / 2)}\" y=\"{F(Height - 12)}\" text-anchor=\"middle\">step</text>\n");
        svg.Append($"<text transform=\"translate(18 {F(Top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>\n");

        int legendRow = 0;
        foreach (var s in series)
        {
            var finite = s.Points.Where(p => double.IsFinite(p.Step) && double.IsFinite(p.Loss)).ToList();
            if (finite.Count == 0) continue;
            string color = Escape(s.Color);
            if (finite.Count == 1)
                svg.Append($"<circle cx=\"{F(X(finite[0].Step))}\" cy=\"{F(Y(finite[0].Loss))}\" r=\"3\" fill=\"{color}\"/>\n");
            else
                svg.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"")
                   .AppendJoin(' ', finite.Select(p => $"{F(X(p.Step))},{F(Y(p.Loss))}"))
                   .Append("\"/>\n");
            double ly = Top + 14 + 18 * legendRow++;
            double lx = Left + plotW - 150;
            svg.Append($"<line x1=\"{F(lx)}\" y1=\"{F(ly - 4)}\" x2=\"{F(lx + 24)}\" y2=\"{F(ly - 4)}\" stroke=\"{color}\" stroke-width=\"2\"/>\n");
            svg.Append($"<text x=\"{F(lx + 30)}\" y=\"{F(ly)}\">{Escape(s.Name)}</text>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>An axis range widened to multiples of a 1-2-5 step giving about five intervals.</summary>
    internal static (double Low, double High, double Step) NiceRange(double min, double max)
    {
        if (max <= min)
        {
            double pad = min == 0 ? 1 : Math.Abs(min) * 0.05;
            min -= pad; max += pad;
        }
        double raw = (max - min) / 5;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = (raw / magnitude) switch { <= 1 => magnitude, <= 2 => 2 * magnitude, <= 5 => 5 * magnitude, _ => 10 * magnitude };
        return (Math.Floor(min / step) * step, Math.Ceiling(max / step) * step, step);
    }

    private static string Tick(double v, double step)
    {
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        if (Math.Abs(v) < step * 1e-9) v = 0;
        return v.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    private static string Escape(string s) => SecurityElement.Escape(s) ?? "";
}
