using System.Globalization;
using System.Security;
using System.Text;
using System.Xml;

namespace Recurrent.Analysis;

/// <summary>
/// One sentence's attention to draw: a title, the source tokens (S), the target tokens (T) and the weights
/// [T, S] row-major, row t being the attention distribution the decoder used when it produced target token t.
/// </summary>
public sealed record AttentionExample(string Title, IReadOnlyList<string> Source, IReadOnlyList<string> Target, float[] Weights);

/// <summary>
/// Attention weights as a standalone SVG a browser opens: per sentence a grid with one row per target token and one
/// column per source token, each cell shaded by its weight (0 white … 1 black, grey in between), source tokens above
/// the columns (rotated to read upwards), target tokens left of the rows, the sentence's title above; the sentences
/// stacked top to bottom in one document. A cell's tooltip gives its tokens and weight. Weights are clamped to [0, 1]
/// (a softmax may round a hair past 1). Pure string building, as <see cref="LossPlot"/>: no fonts measured, so label
/// space is estimated from character counts.
/// </summary>
public static class AttentionMap
{
    private const double Cell = 22, CharWidth = 7.2, Margin = 12, TitleHeight = 26, LabelGap = 6, SentenceGap = 24;

    /// <summary>The SVG document of <paramref name="examples"/>, in order.</summary>
    public static string Svg(IReadOnlyList<AttentionExample> examples)
    {
        if (examples.Count == 0) throw new ArgumentException("no attention examples to draw", nameof(examples));
        for (int i = 0; i < examples.Count; i++) Check(examples[i], i);

        // Layout first: each sentence's row labels set its grid's left edge, its column labels the space above the grid.
        var lefts = new double[examples.Count];
        var heights = new double[examples.Count];
        double width = 0, height = Margin;
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            lefts[i] = Margin + LabelWidth(e.Target) + LabelGap;
            heights[i] = TitleHeight + LabelWidth(e.Source) + LabelGap + e.Target.Count * Cell;
            width = Math.Max(width, Math.Max(lefts[i] + e.Source.Count * Cell, Margin + e.Title.Length * CharWidth * 14 / 12) + Margin);
            height += heights[i] + (i + 1 < examples.Count ? SentenceGap : 0);
        }
        height += Margin;

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(width)}\" height=\"{F(height)}\" ")
           .Append($"viewBox=\"0 0 {F(width)} {F(height)}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<title>attention weights</title>\n");
        svg.Append($"<rect width=\"{F(width)}\" height=\"{F(height)}\" fill=\"white\"/>\n");

        double top = Margin;
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            int sourceLength = e.Source.Count, targetLength = e.Target.Count;
            double left = lefts[i];
            double gridTop = top + heights[i] - targetLength * Cell;
            svg.Append($"<text x=\"{F(Margin)}\" y=\"{F(top + 17)}\" font-size=\"14\" font-weight=\"bold\">{Escape(e.Title)}</text>\n");
            for (int s = 0; s < sourceLength; s++)
            {
                // rotate(-90) turns the baseline upwards with the glyphs to its left, so the baseline sits right of centre.
                double x = left + (s + 0.5) * Cell + 4;
                svg.Append($"<text transform=\"translate({F(x)} {F(gridTop - LabelGap)}) rotate(-90)\">{Escape(e.Source[s])}</text>\n");
            }
            for (int t = 0; t < targetLength; t++)
            {
                double y = gridTop + (t + 0.5) * Cell + 4;
                svg.Append($"<text x=\"{F(left - LabelGap)}\" y=\"{F(y)}\" text-anchor=\"end\">{Escape(e.Target[t])}</text>\n");
                for (int s = 0; s < sourceLength; s++)
                {
                    float weight = Math.Clamp(e.Weights[t * sourceLength + s], 0f, 1f);
                    svg.Append($"<rect class=\"cell\" x=\"{F(left + s * Cell)}\" y=\"{F(gridTop + t * Cell)}\" ")
                       .Append($"width=\"{F(Cell)}\" height=\"{F(Cell)}\" fill=\"{Shade(weight)}\">")
                       .Append($"<title>{Escape(e.Target[t])} \u2190 {Escape(e.Source[s])}: ")
                       .Append(weight.ToString("0.000", CultureInfo.InvariantCulture)).Append("</title></rect>\n");
                }
            }
            if (sourceLength > 0 && targetLength > 0)
                svg.Append($"<rect x=\"{F(left)}\" y=\"{F(gridTop)}\" width=\"{F(sourceLength * Cell)}\" height=\"{F(targetLength * Cell)}\" ")
                   .Append("fill=\"none\" stroke=\"#444\"/>\n");
            top += heights[i] + SentenceGap;
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Check(AttentionExample e, int index)
    {
        int expected = e.Target.Count * e.Source.Count;
        if (e.Weights.Length != expected)
            throw new ArgumentException(
                $"attention example {index} \"{e.Title}\": {e.Weights.Length} weights, but {e.Target.Count} target × {e.Source.Count} source tokens need {expected}");
        for (int k = 0; k < expected; k++)
            if (!float.IsFinite(e.Weights[k]))
                throw new ArgumentException(
                    $"attention example {index} \"{e.Title}\": weight [{k / e.Source.Count}, {k % e.Source.Count}] is {e.Weights[k]}, not a finite number");
    }

    /// <summary>Grey from white (weight 0) to black (1).</summary>
    private static string Shade(float weight)
    {
        int level = (int)Math.Round(255 * (1 - weight));
        return $"#{level:x2}{level:x2}{level:x2}";
    }

    private static double LabelWidth(IReadOnlyList<string> labels) => labels.Count == 0 ? 0 : labels.Max(l => l.Length) * CharWidth;

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>
    /// Text as XML character data: markup characters escaped, and characters XML 1.0 cannot hold at all (control
    /// characters, lone surrogates — a tokenizer makes a token of each) shown as U+FFFD, so the document always parses.
    /// </summary>
    private static string Escape(string s)
    {
        if (!s.Any(c => !XmlConvert.IsXmlChar(c)))
            return SecurityElement.Escape(s) ?? "";
        var valid = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (XmlConvert.IsXmlChar(s[i])) valid.Append(s[i]);
            else if (i + 1 < s.Length && XmlConvert.IsXmlSurrogatePair(s[i + 1], s[i])) valid.Append(s, i++, 2);
            else valid.Append('\uFFFD');
        }
        return SecurityElement.Escape(valid.ToString()) ?? "";
    }
}
