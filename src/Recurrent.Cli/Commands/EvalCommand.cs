using System.Diagnostics;
using Recurrent.Data;
using Recurrent.Metrics;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>`recurrent eval`: a character model's loss, bits per character and perplexity over a whole text.</summary>
internal static class EvalCommand
{
    /// <summary>
    /// The fewest characters a default stream reads: each stream starts from a zero state, so a stream of a few
    /// characters is scored mostly without context (a one-line text cut into 32 streams scores far worse than read whole).
    /// </summary>
    internal const int MinStreamLength = 256;

    public const string Summary = "score a model: bits/char (char-lm, ngram), accuracy and F1 (classify), entity F1 (tag), BLEU (translate)";

    private const string Usage = """
        usage: recurrent eval --model DIR --data FILE [options]      (char-lm models; classify and tag: see below)
          --batch B      the text is read as B contiguous streams, each carrying its state from its start
                         (default: the model's training batch, fewer for a short text so that each stream has at
                         least 256 characters; 1 = one stream through the whole text)
          --seq-len T    characters per forward pass (default: the model's training seq_len); does not change the result
          --threads N  --json
        """ + "\n" + NgramCommands.EvalUsage + "\n" + WordEvalCommand.Usage + "\n" + TranslateCommands.EvalUsage;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        string dir = args.RequiredDirectory("model", "a directory written by 'recurrent train'");
        string task = Checkpoint.ReadTask(dir);
        if (task == Seq2SeqConfig.TranslateTask) return TranslateCommands.Eval(dir, args, stdout);
        if (task == NgramLanguageModel.Task) return NgramCommands.Eval(dir, args, stdout);
        if (task != CharLanguageModelConfig.Task) return WordEvalCommand.Run(dir, args, stdout);
        string data = args.Required("data", "FILE", "the text to evaluate on");
        int? batchArg = args.OptionalInt("batch", 1, 1 << 16);
        int? seqArg = args.OptionalInt("seq-len", 1, 1 << 20);
        bool json = args.Flag("json");
        if (args.Threads() is { } threads) Gemm.Threads = threads;
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        var model = Checkpoint.LoadModel(dir);
        var (_, training) = Checkpoint.LoadConfig(dir);
        int trainingBatch = training?.Batch ?? 32, seqLen = seqArg ?? training?.SeqLen ?? 100;
        string text = Utf8Text.ReadFile(data);
        int[] tokens = model.Config.Vocabulary.Encode(text, $"'{data}'");
        if (tokens.Length < 2) throw new CliException($"'{data}' has {tokens.Length} character: there is nothing to predict");
        int batch = Math.Min(batchArg ?? Math.Clamp((tokens.Length - 1) / MinStreamLength, 1, trainingBatch), tokens.Length - 1);
        string why = batchArg == null && batch < trainingBatch
            ? $": the text is too short for the training batch's {trainingBatch} of at least {MinStreamLength} characters each; --batch sets them" : "";

        var clock = Stopwatch.StartNew();
        double loss = Evaluator.MeanLoss(model, tokens, batch, seqLen);
        double seconds = clock.Elapsed.TotalSeconds;
        if (json)
        {
            TrainCommand.WriteJson(stdout, w =>
            {
                TrainCommand.Number(w, "loss", loss);
                TrainCommand.Number(w, "bits_per_char", LanguageModelMetrics.BitsPerChar(loss));
                TrainCommand.Number(w, "perplexity", LanguageModelMetrics.Perplexity(loss));
                w.WriteNumber("characters", tokens.Length - 1);
                w.WriteNumber("streams", batch);
                w.WriteNumber("seconds", Math.Round(seconds, 3));
            });
        }
        else
        {
            stdout.WriteLine($"loss {loss:F4} nats/char, {LanguageModelMetrics.BitsPerChar(loss):F4} bits/char, " +
                             $"perplexity {LanguageModelMetrics.Perplexity(loss):F3} over {tokens.Length - 1:N0} predicted characters of '{data}' " +
                             $"({batch} stream{(batch == 1 ? "" : "s")}{why}; {TrainCommand.FormatDuration(seconds)})");
        }
        return 0;
    }
}
