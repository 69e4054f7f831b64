using System.Diagnostics;
using System.Globalization;
using Recurrent.Analysis;
using Recurrent.Data;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent analyze cells`: interpretable cells (Karpathy, Johnson &amp; Fei-Fei 2015). A trained char-LM reads the
/// first N characters of a text; every unit's activation is correlated with features of the text (in quotes, line
/// position, bracket depth, indentation, in comment, speaker line); the table gives each feature's best unit, and an
/// HTML page colours the text by a chosen unit.
/// </summary>
internal static class AnalyzeCellsCommand
{
    public const string Summary = "which LSTM cells track quotes, line position, bracket depth, indentation; an HTML page";

    private const string Usage = """
        usage: recurrent analyze cells --model DIR --text FILE [options]
          --model DIR        a char-lm directory written by 'recurrent train'
          --text FILE        UTF-8 text the model reads (every character must be in its vocabulary)
          --chars N          characters read, one at a time, the state carried (default 20000)
          --from C           where in the text they start, in characters (default 0; e.g. past the training
                             part, to look at text the model has not seen)
          --page-chars P     characters shown on the page, every unit embedded for them (default 3000)
          --cell L:U         colour the page by this unit first (layer:index, layers from 0; default: the best
                             correlated feature's unit)
          --out FILE.html    the page (default cells.html)
          --seed S  --threads N  --json
        LSTM units are tanh(c), the cell state as the output gate sees it; GRU and RNN units are h.
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        string dir = args.String("model") ?? throw CliArgs.Usage("--model DIR is required (a char-lm written by 'recurrent train')");
        string textPath = args.String("text") ?? throw CliArgs.Usage("--text FILE is required (the text the model reads)");
        int chars = args.Int("chars", 20_000, min: 2, max: 10_000_000);
        int from = args.Int("from", 0, min: 0);
        int pageChars = args.Int("page-chars", 3_000, min: 1, max: 1_000_000);
        string? cellArg = args.String("cell");
        var options = AnalysisOptions.Read(args, "cells.html");

        string task = Checkpoint.ReadTask(dir);
        if (task != CharLanguageModelConfig.Task) throw new CliException($"'{dir}' holds a '{task}' model; analyze cells needs a char-lm");
        var model = Checkpoint.LoadModel(dir);
        var config = model.Config;
        string whole = Utf8Text.ReadFile(textPath, "text");
        string text = whole[RuneIndex(whole, from)..];
        text = text[..RuneIndex(text, chars)];
        int[] tokens = config.Vocabulary.Encode(text, from > 0 ? $"'{textPath}' (lines counted from character {from})" : $"'{textPath}'");
        if (tokens.Length < 2)
            throw new CliException($"'{textPath}' has {tokens.Length} character{(from > 0 ? $" from character {from}" : "")}: nothing to correlate");
        int? asked = cellArg == null ? null : ParseCell(cellArg, config.NumLayers, config.HiddenSize);

        var clock = Stopwatch.StartNew();
        AnalysisOptions.Progress(stderr, $"reading {tokens.Length:N0} characters with {CharLanguageModelConfig.CellName(config.Cell)} " +
                                         $"{config.NumLayers}×{config.HiddenSize} ...");
        var activations = CellActivations.Record(model, tokens, n =>
        {
            if (n % 5000 == 0) AnalysisOptions.Progress(stderr, $"  {n:N0} characters, {clock.Elapsed.TotalSeconds:F1}s");
        });
        var features = TextFeatures.Compute(text);
        var matches = CellCorrelations.Best(activations, features);
        // Shown first: the unit asked for, else the best-correlated feature's (unit 0 when every feature is constant).
        int shown = asked ?? matches.Where(m => m != null).MaxBy(m => Math.Abs(m!.Value.Correlation))?.Unit ?? 0;
        string title = $"Interpretable cells: {Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)))} " +
                       $"({CharLanguageModelConfig.CellName(config.Cell)} {config.NumLayers}×{config.HiddenSize}) on {Path.GetFileName(textPath)}";
        string page = CellPage.Render(title, text, activations, matches, shown, asked != null ? [shown] : [], pageChars);
        AnalysisOptions.Progress(stderr, $"done in {clock.Elapsed.TotalSeconds:F1}s");

        var table = new List<string> { $"{"feature",-14} {"best cell",-10} {"correlation",11}" };
        foreach (var (name, m) in TextFeatures.Names.Zip(matches))
            table.Add(m is { } match
                ? $"{name,-14} {match.Cell,-10} {match.Correlation.ToString("+0.000;-0.000", CultureInfo.InvariantCulture),11}"
                : $"{name,-14} {"—",-10} {"constant",11}");
        table.Add($"{activations.Quantity} of {activations.Units} units over " +
                  $"{tokens.Length:N0} characters; the page shows cell {activations.Name(shown)}");
        options.Finish(stdout, table, w =>
        {
            w.WriteString("model", dir);
            w.WriteString("text", textPath);
            w.WriteNumber("from", from);
            w.WriteNumber("chars", tokens.Length);
            w.WriteString("activation", activations.Quantity);
            w.WriteString("cell_shown", activations.Name(shown));
            w.WriteStartArray("features");
            foreach (var m in matches)
            {
                if (m is not { } match) continue;
                w.WriteStartObject();
                w.WriteString("feature", match.Feature);
                w.WriteString("cell", match.Cell);
                w.WriteNumber("correlation", Math.Round(match.Correlation, 4));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("constant_features");
            foreach (var (name, m) in TextFeatures.Names.Zip(matches)) if (m == null) w.WriteStringValue(name);
            w.WriteEndArray();
            w.WriteString("out", options.Out);
        }, page);
        return 0;
    }

    /// <summary>The string index of character (code point) n of the text, or its length when it has fewer.</summary>
    private static int RuneIndex(string text, int n)
    {
        int index = 0, count = 0;
        while (index < text.Length && count < n)
        {
            index += char.IsHighSurrogate(text[index]) && index + 1 < text.Length ? 2 : 1;
            count++;
        }
        return index;
    }

    private static int ParseCell(string name, int layers, int hidden)
    {
        try { return CellActivations.Parse(name, layers, hidden); }
        catch (ArgumentException e) { throw CliArgs.Usage($"--cell: {e.Message}"); }
    }
}
