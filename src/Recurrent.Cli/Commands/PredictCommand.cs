using Recurrent.Data;
using Recurrent.Models;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent predict`: a classify or tag model on new text, one input per line from a file or stdin. classify prints
/// label, probability and the text; tag reads whitespace-separated words and prints CoNLL token<TAB>tag lines with a
/// blank line after each sentence.
/// </summary>
internal static class PredictCommand
{
    public const string Summary = "label sentences (classify), tag their words (tag) or translate them (translate) with a trained model";

    private const string Usage = """
        usage: recurrent predict --model DIR [--input FILE] [options]
          --input FILE   one sentence per line (default: standard input); tag: words separated by spaces
          --last         use the last checkpoint instead of best/ (the best dev score while training)
          --batch B      sentences per forward pass (default 64)
          --threads N
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage + "\n" + TranslateCommands.PredictUsage); return 0; }
        string dir = args.RequiredDirectory("model", "a directory written by 'recurrent train --task classify|tag|translate'");
        if (Checkpoint.ReadTask(dir) == Seq2SeqConfig.TranslateTask) return TranslateCommands.Predict(dir, args, stdout, stderr);
        string? input = args.String("input");
        bool last = args.Flag("last");
        int batch = args.Int("batch", 64, 1, 1 << 16);
        if (args.Threads() is { } threads) Gemm.Threads = threads;
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        var (modelDir, which) = ModelDirectory.ForInference(dir, last);
        var model = Checkpoint.LoadWordModel(modelDir);
        var (lines, source) = ReadLines(input);
        var sentences = new string[lines.Count][];
        for (int i = 0; i < lines.Count; i++)
        {
            sentences[i] = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (sentences[i].Length == 0) throw new CliException($"{source}:{i + 1}: empty line (one sentence per line)");
        }
        stderr.WriteLine($"predicting with the {which} model in '{modelDir}'");

        if (model is SequenceClassifier classifier)
        {
            var ids = sentences.Select(classifier.Config.Vocabulary.Encode).ToArray();
            var predictions = ClassifyTask.Predict(classifier, ids, batch);
            for (int i = 0; i < lines.Count; i++)
                stdout.WriteLine($"{classifier.Config.Labels.Name(predictions[i].Label)}\t{predictions[i].Probability:F4}\t{lines[i].Trim()}");
        }
        else
        {
            var tagger = (SequenceTagger)model;
            var config = tagger.Config;
            var ids = sentences.Select(config.Vocabulary.Encode).ToArray();
            var characters = config.HasCharFeatures
                ? sentences.Select(s => s.Select(w => TaggingData.EncodeCharacters(w, config.Characters!)).ToArray()).ToArray()
                : null;
            var tags = TagTask.Predict(tagger, ids, characters, batch);
            for (int i = 0; i < sentences.Length; i++)
            {
                for (int t = 0; t < sentences[i].Length; t++) stdout.WriteLine($"{sentences[i][t]}\t{config.Labels.Name(tags[i][t])}");
                stdout.WriteLine();
            }
        }
        return 0;
    }

    /// <summary>The lines of --input (or of standard input when it is null), without the final newline, and the name
    /// errors give their source.</summary>
    internal static (List<string> Lines, string Source) ReadLines(string? input)
    {
        string text = input != null ? Utf8Text.ReadFile(input, "input file") : Console.In.ReadToEnd();
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1); // the final newline
        return (lines, input ?? "standard input");
    }
}
