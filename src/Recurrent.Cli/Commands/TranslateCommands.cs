using Recurrent.Analysis;
using Recurrent.Data;
using Recurrent.IO;
using Recurrent.Models;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;
using static Recurrent.Cli.Commands.TrainCommand;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent eval` and `recurrent predict` for a translation model: corpus BLEU on a `source<TAB>target` file (lines
/// that share a source are its references), or translations of new sentences, with their attention maps on request.
/// Both read the best/ model by default (the best dev BLEU), the last checkpoint with --last.
/// </summary>
internal static class TranslateCommands
{
    public const string EvalUsage = """
        usage: recurrent eval --model DIR --data FILE [options]      (translate models)
          --data FILE    source<TAB>target lines; lines that share a source are its references
          --beam N       beam width (default: the model's, 5 unless trained with another; 1 = greedy)
          --last  --batch B (default 64)  --threads N  --json
        """;

    public const string PredictUsage = """
        usage: recurrent predict --model DIR [--input FILE] [options]      (translate models)
          --input FILE   one source sentence per line (default: standard input); prints one translation a line
          --beam N       beam width (default: the model's; 1 = greedy)
          --attention FILE.svg   also draw each sentence's attention weights (source × target) into FILE.svg
          --last  --batch B (default 64)  --threads N
        """;

    public static int Eval(string dir, CliArgs args, TextWriter stdout)
    {
        string data = args.Required("data", "FILE", "the sentence pairs to score");
        var (model, which, beam, batch) = Open(dir, args);
        bool json = args.Flag("json");
        args.RejectUnknown();

        var pairsData = TranslationData.Load(data, model.Config);
        var report = TranslateTask.Evaluate(model, pairsData, beam, batch);
        var b = report.Bleu;
        int pairs = pairsData.Sources.Length;
        if (json)
        {
            WriteJson(stdout, w =>
            {
                w.WriteString("task", Seq2SeqConfig.TranslateTask);
                w.WriteString("model", which);
                w.WriteNumber("sentences", pairs);
                w.WriteNumber("sources", report.Outputs.Length);
                Number(w, "loss", report.Loss);
                Number(w, "bleu", b.Bleu);
                Number(w, "brevity_penalty", b.BrevityPenalty);
                w.WriteStartArray("precisions");
                foreach (double p in b.Precisions) w.WriteNumberValue(p);
                w.WriteEndArray();
                w.WriteNumber("beam", beam);
                w.WriteStartObject("bleu_by_length");
                foreach (var bucket in report.ByLength)
                {
                    w.WriteStartObject(bucket.Name);
                    w.WriteNumber("sources", bucket.Sources);
                    Number(w, "bleu", bucket.Bleu.Bleu);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            });
            return 0;
        }
        stdout.WriteLine($"{which} model on '{data}': {pairs:N0} pairs, {report.Outputs.Length:N0} distinct sources, " +
                         $"{(beam == 1 ? "greedy" : $"beam {beam}")}; loss {report.Loss:F4} nats/token");
        stdout.WriteLine($"BLEU {b.Bleu:F2} (precisions {string.Join("/", b.Precisions.Select(p => p.ToString("F1")))}, brevity penalty {b.BrevityPenalty:F3})");
        stdout.WriteLine("by source length (words): " + string.Join(", ",
            report.ByLength.Select(k => $"{k.Name}: {k.Bleu.Bleu:F2} ({k.Sources} sources)")));
        return 0;
    }

    public static int Predict(string dir, CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        string? input = args.String("input");
        string? svg = args.String("attention");
        var (model, which, beam, batch) = Open(dir, args);
        args.RejectUnknown();
        if (svg != null && model.Config.Attention == null) throw new CliException($"--attention {svg}: the model in '{dir}' has no attention");

        var (lines, source) = PredictCommand.ReadLines(input);
        var sentences = new string[lines.Count][];
        for (int i = 0; i < lines.Count; i++)
        {
            sentences[i] = TranslationTokenizer.Tokenize(lines[i]);
            if (sentences[i].Length == 0) throw new CliException($"{source}:{i + 1}: empty line (one sentence per line)");
            if (sentences[i].Length > ParallelCorpus.MaxSourceTokens)
                throw new CliException($"{source}:{i + 1}: {sentences[i].Length} tokens; the longest source a model reads is {ParallelCorpus.MaxSourceTokens}");
        }
        stderr.WriteLine($"translating with the {which} model in '{dir}' ({(beam == 1 ? "greedy" : $"beam {beam}")})");

        var ids = sentences.Select(model.Config.SourceVocabulary.Encode).ToArray();
        var outputs = new Seq2SeqDecoder(model).Decode(ids, beam, batch, keepAttention: svg != null);
        var words = model.Config.TargetVocabulary.Words;
        var targets = outputs.Select(o => o.Words.Select(id => words[id]).ToArray()).ToArray();
        foreach (var target in targets) stdout.WriteLine(TranslationTokenizer.Detokenize(target));
        if (svg != null)
        {
            var examples = outputs.Select((o, i) => new AttentionExample($"{i + 1}: {lines[i].Trim()}", sentences[i],
                o.Ended ? [.. targets[i], WordVocabulary.End] : targets[i], o.Attention!)).ToArray();
            AtomicFile.WriteAllText(svg, AttentionMap.Svg(examples));
            stderr.WriteLine($"attention maps of {examples.Length} sentences → {svg}");
        }
        return 0;
    }

    /// <summary>The model (best/ unless --last) and the shared flags --beam, --batch, --threads.</summary>
    private static (Seq2SeqModel Model, string Which, int Beam, int Batch) Open(string dir, CliArgs args)
    {
        bool last = args.Flag("last");
        int? beamArg = args.OptionalInt("beam", 1, 1000);
        int batch = args.Int("batch", 64, 1, 1 << 16);
        if (args.Threads() is { } threads) Gemm.Threads = threads;
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        var (modelDir, which) = ModelDirectory.ForInference(dir, last);
        var model = Checkpoint.LoadSeq2SeqModel(modelDir);
        return (model, which, beamArg ?? model.Config.Beam, batch);
    }
}
