using System.Globalization;
using System.Security;
using System.Text;

namespace Recurrent.Analysis;

/// <summary>
/// A line chart as a standalone SVG a browser opens: y against x, one polyline per series (a dot when it has one
/// point), "nice" 1-2-5 ticks or, with a logarithmic y axis, ticks at powers of ten, a legend, and optional horizontal
/// reference lines (a baseline such as "always answer 1"). Pure string building: no fonts measured, no dependencies.
/// Every analysis figure and the learning curves are drawn with it.
/// </summary>
public static class LineChart
{
    /// <summary>One curve: its name, colour and (x, y) points in x order; dashed draws it as a dashed line.</summary>
    public sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

    /// <summary>A horizontal line across the plot at y, labelled at its right end.</summary>
    public sealed record ReferenceLine(string Name, double Y);

    /// <summary>Ten colours that stay apart (matplotlib's tab10), for series i.</summary>
    public static string Color(int i) => Palette[i % Palette.Length];
    private static readonly string[] Palette =
        ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    private const double Width = 800, Height = 480, Left = 80, Right = 20, Top = 40, Bottom = 50;

    /// <param name="logY">a base-10 logarithmic y axis; points with y ≤ 0 are left out.</param>
    /// <summary>The chart as a standalone SVG document.</summary>
    /// <param name="title">the heading above the plot.</param>
    /// <param name="xLabel">the x axis's label.</param>
    /// <param name="yLabel">the y axis's label.</param>
    /// <param name="series">the curves; points with a non-finite coordinate are left out.</param>
    /// <param name="references">horizontal reference lines (e.g. a baseline), or null.</param>
    public static string Render(string title, string xLabel, string yLabel, IReadOnlyList<Series> series, bool logY = false,
        IReadOnlyList<ReferenceLine>? references = null)
    {
        bool Drawable((double X, double Y) p) => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!logY || p.Y > 0);
        var lines = references?.Where(r => double.IsFinite(r.Y) && (!logY || r.Y > 0)).ToList() ?? [];
        var points = series.SelectMany(s => s.Points).Where(Drawable).ToList();
        if (points.Count == 0) throw new InvalidDataException($"nothing to plot: '{title}' has no finite points");
        double YValue(double y) => logY ? Math.Log10(y) : y;

        var (x0, x1, xStep) = NiceRange(points.Min(p => p.X), points.Max(p => p.X));
        var ys = points.Select(p => YValue(p.Y)).Concat(lines.Select(r => YValue(r.Y))).ToList();
        var (y0, y1, yStep) = logY ? DecadeRange(ys.Min(), ys.Max()) : NiceRange(ys.Min(), ys.Max());
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(double v) => Left + (v - x0) / (x1 - x0) * plotW;
        double Y(double v) => Top + plotH - (YValue(v) - y0) / (y1 - y0) * plotH;

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(Width)}\" height=\"{F(Height)}\" ")
           .Append($"viewBox=\"0 0 {F(Width)} {F(Height)}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append($"<title>{Escape(title)}</title>\n");
        svg.Append($"<rect width=\"{F(Width)}\" height=\"{F(Height)}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{F(Width / 2)}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>\n");

        for (int i = 0; i <= (int)Math.Round((x1 - x0) / xStep); i++)
        {
            double v = x0 + i * xStep;
            svg.Append($"<line x1=\"{F(X(v))}\" y1=\"{F(Top)}\" x2=\"{F(X(v))}\" y2=\"{F(Top + plotH)}\" stroke=\"#e0e0e0\"/>\n");
            svg.Append($"<text x=\"{F(X(v))}\" y=\"{F(Top + plotH + 16)}\" text-anchor=\"middle\">{Tick(v, xStep)}</text>\n");
        }
        for (int i = 0; i <= (int)Math.Round((y1 - y0) / yStep); i++)
        {
            double v = y0 + i * yStep, y = Top + plotH - (v - y0) / (y1 - y0) * plotH;
            string label = logY ? PowerOfTen(v) : Tick(v, yStep);
            svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(y)}\" x2=\"{F(Left + plotW)}\" y2=\"{F(y)}\" stroke=\"#e0e0e0\"/>\n");
            svg.Append($"<text x=\"{F(Left - 6)}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{label}</text>\n");
        }
        svg.Append($"<rect x=\"{F(Left)}\" y=\"{F(Top)}\" width=\"{F(plotW)}\" height=\"{F(plotH)}\" fill=\"none\" stroke=\"#444\"/>\n");
        svg.Append($"<text x=\"{F(Left + plotW / 2)}\" y=\"{F(Height - 12)}\" text-anchor=\"middle\">{Escape(xLabel)}</text>\n");
        svg.Append($"<text transform=\"translate(18 {F(Top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>\n");

        foreach (var r in lines)
        {
            svg.Append($"<line x1=\"{F(Left)}\" y1=\"{F(Y(r.Y))}\" x2=\"{F(Left + plotW)}\" y2=\"{F(Y(r.Y))}\" stroke=\"#444\" stroke-dasharray=\"2 3\"/>\n");
            svg.Append($"<text x=\"{F(Left + plotW - 4)}\" y=\"{F(Y(r.Y) - 4)}\" text-anchor=\"end\" fill=\"#444\">{Escape(r.Name)}</text>\n");
        }

        int legendRow = 0;
        foreach (var s in series)
        {
            var drawn = s.Points.Where(Drawable).ToList();
            if (drawn.Count == 0) continue;
            string color = Escape(s.Color), dash = s.Dashed ? " stroke-dasharray=\"6 4\"" : "";
            if (drawn.Count == 1)
                svg.Append($"<circle cx=\"{F(X(drawn[0].X))}\" cy=\"{F(Y(drawn[0].Y))}\" r=\"3\" fill=\"{color}\"/>\n");
            else
                svg.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"{dash} points=\"")
                   .AppendJoin(' ', drawn.Select(p => $"{F(X(p.X))},{F(Y(p.Y))}"))
                   .Append("\"/>\n");
            double ly = Top + 14 + 18 * legendRow++;
            double lx = Left + plotW - 190;
            svg.Append($"<line x1=\"{F(lx)}\" y1=\"{F(ly - 4)}\" x2=\"{F(lx + 24)}\" y2=\"{F(ly - 4)}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>\n");
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

    /// <summary>A log10 range widened to whole decades, with a tick every decade (every few when there are many).</summary>
    private static (double Low, double High, double Step) DecadeRange(double min, double max)
    {
        double low = Math.Floor(min), high = Math.Max(Math.Ceiling(max), low + 1);
        return (low, high, Math.Max(1, Math.Ceiling((high - low) / 10)));
    }

    private static string PowerOfTen(double exponent) => exponent switch
    {
        0 => "1", 1 => "10", _ => "1e" + ((int)Math.Round(exponent)).ToString(CultureInfo.InvariantCulture),
    };

    private static string Tick(double v, double step)
    {
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        if (Math.Abs(v) < step * 1e-9) v = 0;
        return v.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    private static string Escape(string s) => SecurityElement.Escape(s) ?? "";
}
