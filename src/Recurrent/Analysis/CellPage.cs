using System.Globalization;
using System.Text;

namespace Recurrent.Analysis;

/// <summary>
/// A self-contained HTML page (inline CSS and script, nothing fetched) that shows a text with each character's
/// background coloured by one unit's activation after reading it, as in Karpathy, Johnson &amp; Fei-Fei (2015): a
/// diverging scale, −1 red, 0 white, +1 blue, with a legend. A selector offers each feature's best unit (and the unit
/// asked for), a box takes any "layer:unit", clicking a row of the features table picks its unit, and the address may
/// say one ("page.html#cell=1:137"); every choice recolours the text in the browser.
///
/// The page shows the first P characters (P ≤ N) and embeds every unit's activations over them, one byte each
/// (q = round(127·(a/s + 1)), 0..254, s = 1 for bounded activations, else the unit's largest |a| on the page), base64
/// in a JSON block: U·P bytes, 4/3 of that in the file, so any unit can be typed in. The initial colours are written
/// into the spans, so the page reads without script too. Text is HTML-escaped and its newlines kept (white-space:
/// pre-wrap). The page is well-formed XML as well (XHTML syntax, the script in a CDATA section), so tests and tools
/// can read it with an XML parser.
/// </summary>
public static class CellPage
{
    /// <summary>The background of a quantized activation q (0..254): white blended toward red (q &lt; 127) or blue.</summary>
    public static (int R, int G, int B) Colour(int q)
    {
        double x = q / 127.0 - 1;
        (double r, double g, double b) end = x < 0 ? (214, 39, 40) : (31, 119, 180);
        double w = Math.Min(1, Math.Abs(x));
        // Math.Floor(v + 0.5) is JavaScript's Math.round, so the page's script gives the same colours.
        static int Mix(double from, double to, double w) => (int)Math.Floor(from + (to - from) * w + 0.5);
        return (Mix(255, end.r, w), Mix(255, end.g, w), Mix(255, end.b, w));
    }

    /// <summary>The byte the page stores for activation a of a unit scaled by s.</summary>
    public static int Quantize(float a, double s) => (int)Math.Clamp(Math.Floor(127 * (a / s + 1) + 0.5), 0, 254);

    /// <param name="title">the page's heading (the model).</param>
    /// <param name="text">the text the activations were recorded over (at least P characters).</param>
    /// <param name="matches">each feature's best unit, or null for a feature constant over the text (as <see cref="CellCorrelations.Best"/>).</param>
    /// <param name="shown">the unit coloured when the page opens.</param>
    /// <param name="extra">units offered in the selector besides the features' best (e.g. one asked for).</param>
    /// <param name="pageChars">P: characters shown.</param>
    /// <param name="activations">the recorded activations [U, N] the page colours the text with.</param>
    public static string Render(string title, string text, CellActivations activations, IReadOnlyList<CellMatch?> matches,
        int shown, IReadOnlyList<int> extra, int pageChars)
    {
        if (matches.Count != TextFeatures.Names.Length)
            throw new ArgumentException($"CellPage: {matches.Count} matches for {TextFeatures.Names.Length} features");
        if (pageChars < 1) throw new ArgumentException($"CellPage: the page must show at least one character (got {pageChars})");
        string[] chars = text.EnumerateRunes().Take(Math.Min(pageChars, activations.Length)).Select(r => r.ToString()).ToArray();
        int P = chars.Length, U = activations.Units;
        if (P < Math.Min(pageChars, activations.Length))
            throw new ArgumentException($"CellPage: the text has {P} characters, the activations {activations.Length}");
        foreach (int unit in extra.Append(shown))
            if ((uint)unit >= (uint)U) throw new ArgumentOutOfRangeException(nameof(shown), $"CellPage: unit {unit} is outside the {U} units");

        // Every unit over the page, one byte per character, unit-major.
        var scales = new double[U];
        var bytes = new byte[U * P];
        for (int u = 0; u < U; u++)
        {
            var a = activations.Unit(u)[..P];
            double s = 1;
            if (!activations.Bounded)
            {
                s = 0;
                foreach (float v in a) s = Math.Max(s, Math.Abs(v));
                if (!(s > 0)) s = 1;
            }
            scales[u] = s;
            for (int t = 0; t < P; t++) bytes[u * P + t] = (byte)Quantize(a[t], s);
        }

        var offered = new List<(int Unit, string Label)>();
        void Offer(int unit, string why)
        {
            int i = offered.FindIndex(o => o.Unit == unit);
            if (i < 0) offered.Add((unit, $"{activations.Name(unit)} — {why}"));
            else offered[i] = (unit, offered[i].Label + ", " + why);
        }
        foreach (var m in matches)
            if (m is { } match) Offer(match.Unit, $"{match.Feature} (r = {match.Correlation.ToString("0.000", CultureInfo.InvariantCulture)})");
        foreach (int unit in extra) Offer(unit, "asked for");
        if (offered.All(o => o.Unit != shown)) Offer(shown, "shown first");

        var html = new StringBuilder(P * 48 + bytes.Length * 4 / 3 + 8192);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<title>")
            .Append(Escape(title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n<h1>")
            .Append(Escape(title)).Append("</h1>\n<p class=\"note\">Each character's background is the chosen unit's ")
            .Append(Escape(activations.Quantity)).Append(" after reading it")
            .Append(activations.Bounded ? "" : " (each unit scaled by its largest |value| on the page)")
            .Append(". Units are layer:index, layers from 0. ").Append(P.ToString("N0", CultureInfo.InvariantCulture))
            .Append(" of the ").Append(activations.Length.ToString("N0", CultureInfo.InvariantCulture))
            .Append(" characters the correlations were measured over are shown.</p>\n");

        html.Append("<div id=\"controls\">\n<label>cell <select id=\"cell\">");
        foreach (var (unit, label) in offered)
            html.Append("<option value=\"").Append(activations.Name(unit)).Append('"').Append(unit == shown ? " selected=\"selected\"" : "")
                .Append('>').Append(Escape(label)).Append("</option>");
        html.Append("</select></label>\n<label>or type <input id=\"typed\" size=\"8\" placeholder=\"layer:unit\" /></label> ")
            .Append("<button id=\"go\">show</button> <span id=\"message\"></span>\n")
            .Append("<span class=\"legend\"><span>−1</span><span class=\"bar\"></span><span>+1</span></span>\n</div>\n");

        html.Append("<table id=\"features\">\n<tr><th>feature</th><th>best cell</th><th>correlation</th></tr>\n");
        for (int f = 0; f < matches.Count; f++)
        {
            if (matches[f] is { } m)
                html.Append("<tr data-cell=\"").Append(m.Cell).Append("\"><td>").Append(Escape(m.Feature)).Append("</td><td>")
                    .Append(m.Cell).Append("</td><td>").Append(m.Correlation.ToString("0.000", CultureInfo.InvariantCulture))
                    .Append("</td></tr>\n");
            else
                html.Append("<tr class=\"constant\"><td>").Append(Escape(TextFeatures.Names[f]))
                    .Append("</td><td>—</td><td>constant over the text</td></tr>\n");
        }
        html.Append("</table>\n<p id=\"status\">&#160;</p>\n");

        html.Append("<div id=\"text\" data-cell=\"").Append(activations.Name(shown)).Append("\">");
        for (int t = 0; t < P; t++)
        {
            var (r, g, b) = Colour(bytes[shown * P + t]);
            html.Append("<span style=\"background-color: rgb(").Append(r).Append(", ").Append(g).Append(", ").Append(b)
                .Append(");\">").Append(Escape(chars[t])).Append("</span>");
        }
        html.Append("</div>\n");

        html.Append("<script id=\"activations\" type=\"application/json\">{\"layers\":").Append(activations.Layers)
            .Append(",\"hidden\":").Append(activations.Hidden).Append(",\"chars\":").Append(P).Append(",\"scales\":[")
            .AppendJoin(',', scales.Select(s => s.ToString("R", CultureInfo.InvariantCulture)))
            .Append("],\"bytes\":\"").Append(Convert.ToBase64String(bytes)).Append("\"}</script>\n<script>//<![CDATA[\n")
            .Append(Script).Append("//]]></script>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Escape(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");

    private const string Css = """
        body { font-family: sans-serif; margin: 1.5em; color: #222; }
        h1 { font-size: 1.3em; }
        .note { color: #555; max-width: 60em; }
        #controls { margin: 0.8em 0; }
        #controls label { margin-right: 0.8em; }
        #message { color: #b00; }
        .legend { margin-left: 1.5em; white-space: nowrap; }
        .legend .bar { display: inline-block; width: 12em; height: 0.9em; vertical-align: middle; margin: 0 0.4em;
          background: linear-gradient(to right, rgb(214, 39, 40), rgb(255, 255, 255), rgb(31, 119, 180)); border: 1px solid #aaa; }
        #features { border-collapse: collapse; margin: 0.5em 0; }
        #features td, #features th { border: 1px solid #ccc; padding: 0.15em 0.6em; text-align: left; }
        #features tr[data-cell] { cursor: pointer; }
        #features tr.chosen { background: #eef; }
        #features tr.constant { color: #888; }
        #status { font-family: monospace; color: #444; min-height: 1.2em; }
        #text { font-family: monospace; white-space: pre-wrap; line-height: 1.35; border: 1px solid #ddd; padding: 0.6em; }

        """;

    // Decodes the embedded bytes once; show(name) recolours every span with the same formula as Colour above.
    private const string Script = """
        (function () {
          var data = JSON.parse(document.getElementById('activations').textContent);
          var raw = atob(data.bytes), P = data.chars;
          var spans = document.getElementById('text').children;
          var select = document.getElementById('cell'), typed = document.getElementById('typed');
          var message = document.getElementById('message'), status = document.getElementById('status');
          var current = -1;
          function unitOf(name) {
            var m = /^\s*(\d+):(\d+)\s*$/.exec(name || '');
            if (!m) return -1;
            var layer = +m[1], index = +m[2];
            return layer < data.layers && index < data.hidden ? layer * data.hidden + index : -1;
          }
          function colour(q) {
            var x = q / 127 - 1, w = Math.min(1, Math.abs(x));
            var end = x < 0 ? [214, 39, 40] : [31, 119, 180];
            return 'rgb(' + end.map(function (e) { return Math.floor(255 + (e - 255) * w + 0.5); }).join(', ') + ')';
          }
          function show(name) {
            var u = unitOf(name);
            if (u < 0) { message.textContent = 'no cell "' + name + '" (layers 0..' + (data.layers - 1) + ', units 0..' + (data.hidden - 1) + ')'; return; }
            message.textContent = '';
            current = u;
            var canonical = Math.floor(u / data.hidden) + ':' + (u % data.hidden);
            for (var t = 0; t < P; t++) spans[t].style.backgroundColor = colour(raw.charCodeAt(u * P + t));
            document.getElementById('text').setAttribute('data-cell', canonical);
            var listed = false;
            for (var i = 0; i < select.options.length; i++) if (select.options[i].value === canonical) { select.selectedIndex = i; listed = true; }
            if (!listed) { var o = new Option(canonical + ' (typed)', canonical); select.add(o); select.selectedIndex = select.options.length - 1; }
            var rows = document.querySelectorAll('#features tr[data-cell]');
            for (var r = 0; r < rows.length; r++) rows[r].className = rows[r].getAttribute('data-cell') === canonical ? 'chosen' : '';
          }
          function fromHash() {
            var m = /cell=([0-9]+:[0-9]+)/.exec(location.hash);
            if (m) show(m[1]);
          }
          select.addEventListener('change', function () { show(select.value); });
          document.getElementById('go').addEventListener('click', function () { show(typed.value); });
          typed.addEventListener('keydown', function (e) { if (e.key === 'Enter') show(typed.value); });
          var rows = document.querySelectorAll('#features tr[data-cell]');
          for (var r = 0; r < rows.length; r++) rows[r].addEventListener('click', function () { show(this.getAttribute('data-cell')); });
          document.getElementById('text').addEventListener('mouseover', function (e) {
            var t = Array.prototype.indexOf.call(spans, e.target);
            if (t < 0 || current < 0) return;
            var q = raw.charCodeAt(current * P + t), s = data.scales[current];
            status.textContent = 'character ' + t + ' ' + JSON.stringify(e.target.textContent) + ': ' + ((q / 127 - 1) * s).toFixed(3);
          });
          window.addEventListener('hashchange', fromHash);
          show(document.getElementById('text').getAttribute('data-cell'));
          fromHash();
        })();

        """;
}
