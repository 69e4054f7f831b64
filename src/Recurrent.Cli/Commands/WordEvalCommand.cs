using Recurrent.Models;
using Recurrent.Tasks;
using Recurrent.Tensors;
using Recurrent.Training;
using static Recurrent.Cli.Commands.TrainCommand;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent eval` for a classify or tag model: loss and the task's metrics on a labelled file — accuracy, macro-F1
/// and the confusion matrix; or token accuracy and conlleval's entity precision, recall and F1, per type and overall.
/// Reads the best/ model by default (the best dev score), the last checkpoint with --last.
/// </summary>
internal static class WordEvalCommand
{
    public const string Usage = """
        usage: recurrent eval --model DIR --data FILE [options]      (classify and tag models)
          --data FILE    classify: label<TAB>text lines; tag: CoNLL token<TAB>tag lines
          --last         score the last checkpoint instead of best/ (the best dev score while training)
          --batch B      sentences per forward pass (default 64; does not change the result)
          --threads N  --json
        """;

    public static int Run(string dir, CliArgs args, TextWriter stdout)
    {
        string data = args.Required("data", "FILE", "the labelled data to score");
        bool last = args.Flag("last");
        int batch = args.Int("batch", 64, 1, 1 << 16);
        bool json = args.Flag("json");
        if (args.Threads() is { } threads) Gemm.Threads = threads;
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        var (modelDir, which) = ModelDirectory.ForInference(dir, last);
        var model = Checkpoint.LoadWordModel(modelDir);
        if (model is SequenceClassifier classifier)
        {
            var report = ClassifyTask.Evaluate(classifier, ClassificationData.Load(data, classifier.Config), batch);
            WriteClassification(stdout, report, classifier.Config, json, which, data);
        }
        else
        {
            var tagger = (SequenceTagger)model;
            var report = TagTask.Evaluate(tagger, TaggingData.Load(data, tagger.Config), batch);
            WriteTagging(stdout, report, json, which, data);
        }
        return 0;
    }

    private static void WriteClassification(TextWriter stdout, ClassificationReport r, WordModelConfig config, bool json, string which, string data)
    {
        var m = r.Metrics;
        var labels = config.Labels.Names;
        var confusion = m.Confusion;
        if (json)
        {
            WriteJson(stdout, w =>
            {
                w.WriteString("task", WordModelConfig.ClassifyTask);
                w.WriteString("model", which);
                w.WriteNumber("examples", m.Count);
                Number(w, "loss", r.Loss);
                Number(w, "accuracy", m.Accuracy);
                Number(w, "macro_f1", m.MacroF1);
                w.WriteStartArray("labels");
                foreach (string label in labels) w.WriteStringValue(label);
                w.WriteEndArray();
                w.WriteStartArray("confusion");
                for (int g = 0; g < labels.Count; g++)
                {
                    w.WriteStartArray();
                    for (int p = 0; p < labels.Count; p++) w.WriteNumberValue(confusion[g, p]);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            });
            return;
        }
        stdout.WriteLine($"{which} model on '{data}': {m.Count:N0} examples, loss {r.Loss:F4}, accuracy {m.Accuracy:F4}, macro-F1 {m.MacroF1:F4}");
        int width = Math.Max(8, labels.Max(l => l.Length) + 2);
        stdout.WriteLine("confusion (rows: gold, columns: predicted)");
        stdout.WriteLine(new string(' ', width) + string.Concat(labels.Select(l => l.PadLeft(width))));
        for (int g = 0; g < labels.Count; g++)
            stdout.WriteLine(labels[g].PadRight(width) + string.Concat(Enumerable.Range(0, labels.Count).Select(p => confusion[g, p].ToString().PadLeft(width))));
    }

    private static void WriteTagging(TextWriter stdout, TaggingReport r, bool json, string which, string data)
    {
        var m = r.Metrics;
        if (json)
        {
            WriteJson(stdout, w =>
            {
                w.WriteString("task", WordModelConfig.TagTask);
                w.WriteString("model", which);
                w.WriteNumber("sentences", m.Sentences);
                w.WriteNumber("tokens", m.Tokens);
                Number(w, "loss", r.Loss);
                Number(w, "token_accuracy", m.TokenAccuracy);
                Number(w, "precision", r.Bio ? m.Precision : null);
                Number(w, "recall", r.Bio ? m.Recall : null);
                Number(w, "f1", r.Bio ? m.F1 : null);
                if (!r.Bio) { w.WriteNull("per_type"); return; }
                w.WriteStartObject("per_type");
                foreach (var (type, s) in m.PerType)
                {
                    w.WriteStartObject(type);
                    Number(w, "precision", s.Precision);
                    Number(w, "recall", s.Recall);
                    Number(w, "f1", s.F1);
                    w.WriteNumber("support", s.Support);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            });
            return;
        }
        stdout.WriteLine($"{which} model on '{data}': {m.Sentences:N0} sentences, {m.Tokens:N0} tokens, loss {r.Loss:F4}, token accuracy {m.TokenAccuracy:F4}");
        if (!r.Bio) { stdout.WriteLine("(the tags are not BIO: no entity scores)"); return; }
        stdout.WriteLine($"entities (conlleval): precision {m.Precision:F4}, recall {m.Recall:F4}, F1 {m.F1:F4}");
        foreach (var (type, s) in m.PerType)
            stdout.WriteLine($"  {type,-8} precision {s.Precision:F4}  recall {s.Recall:F4}  F1 {s.F1:F4}  ({s.Support} gold)");
    }
}
