using System.Diagnostics;
using Recurrent.Data;
using Recurrent.Metrics;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;
using static Recurrent.Cli.Commands.TrainCommand;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent train --task ngram`, and `eval` and `sample` for the model it writes: the Kneser–Ney character n-gram
/// baseline, counted in one pass over the same training text, vocabulary and validation split as the char-LM's
/// (<see cref="CharCorpus"/>), so its nats/char stand beside the LSTM's.
/// </summary>
internal static class NgramCommands
{
    public const int DefaultOrder = 7;

    public const string TrainUsage = """
        usage: recurrent train --task ngram [options]
          --order N              n-gram order: the context is the N − 1 characters before (default 7)
          --data FILE            training text, UTF-8 (default data/tinyshakespeare.txt)
          --val-fraction F       last fraction of the text held out for validation, as the char-LM's (default 0.1)
          --out DIR              model directory (default runs/ngram-DATE-TIME)
          --force                replace the model already in --out
          --json
        An interpolated modified Kneser–Ney model (Chen & Goodman 1998), counted in seconds; it prints the validation
        nats/char. Score it: recurrent eval --model DIR [--data FILE]; use it: recurrent sample --model DIR.
        """;

    public const string EvalUsage = """
        usage: recurrent eval --model DIR [--data FILE] [--json]      (ngram models)
          --data FILE    the text to score (default: the validation split of the text the model was counted on)
        """;

    public static int Train(CliArgs args, TextWriter stdout)
    {
        if (args.String("resume") is { } resume)
            throw CliArgs.Usage($"an n-gram model is counted in one pass: there is nothing to resume in '{resume}' (build it again with --task ngram --out DIR --force)");
        int order = args.Int("order", DefaultOrder, 1, NgramLanguageModel.MaxOrder);
        string data = args.String("data") ?? FindDefaultData();
        double valFraction = args.Double("val-fraction", 0.1, 0, 0.9);
        bool json = args.Flag("json");
        bool force = args.Flag("force");
        string outDir = args.String("out") ?? Path.Combine("runs", "ngram-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        var corpus = CharCorpus.Load(data, valFraction);
        var clock = Stopwatch.StartNew();
        var model = NgramLanguageModel.Build(corpus.Train.Span, corpus.Vocabulary, order);
        double buildSeconds = clock.Elapsed.TotalSeconds;
        double? valLoss = corpus.Validation.Length >= 2 ? model.MeanLoss(corpus.Validation.Span) : null;

        // Everything is checked: only now is anything written.
        ModelDirectory.PrepareNew(outDir, force);
        NgramCheckpoint.Save(outDir, model, new NgramTrainingData(Path.GetFullPath(data), ModelDirectory.Sha256(data), valFraction, corpus.TrainLength));
        long bytes = new FileInfo(Path.Combine(outDir, NgramCheckpoint.CountsFile)).Length;
        if (json)
        {
            WriteJson(stdout, w =>
            {
                w.WriteString("task", NgramLanguageModel.Task);
                w.WriteNumber("order", order);
                w.WriteNumber("ngrams", model.NgramCount);
                w.WriteNumber("bytes", bytes);
                w.WriteNumber("train_characters", corpus.TrainLength);
                w.WriteNumber("val_characters", corpus.Validation.Length);
                Number(w, "val_loss", valLoss);
                Number(w, "val_bits_per_char", valLoss is { } v ? LanguageModelMetrics.BitsPerChar(v) : null);
                w.WriteNumber("seconds", Math.Round(buildSeconds, 3));
                w.WriteString("out", outDir);
            });
            return 0;
        }
        stdout.WriteLine($"{NgramCheckpoint.Smoothing}, order {order}: {model.NgramCount:N0} n-grams, {bytes:N0} bytes of counts");
        stdout.WriteLine($"data '{Path.GetFullPath(data)}': {corpus.TrainLength:N0} training / {corpus.Validation.Length:N0} validation characters, " +
                         $"{corpus.Vocabulary.Count} symbols");
        string val = valLoss is { } loss ? $", val loss {loss:F4} nats/char ({LanguageModelMetrics.BitsPerChar(loss):F3} bits/char)" : "";
        stdout.WriteLine($"done: counted in {FormatDuration(buildSeconds)}{val} → {outDir}");
        stdout.WriteLine($"score it: recurrent eval --model {outDir}; sample it: recurrent sample --model {outDir}");
        return 0;
    }

    public static int Eval(string dir, CliArgs args, TextWriter stdout)
    {
        string? dataArg = args.String("data");
        bool json = args.Flag("json");
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        var (model, trained) = NgramCheckpoint.Load(dir);
        int[] tokens;
        string what;
        if (dataArg == null)
        {
            tokens = ValidationSplit(trained, model.Vocabulary, dir).Validation.ToArray();
            what = $"the validation split of '{trained.Data}'";
        }
        else
        {
            tokens = model.Vocabulary.Encode(Utf8Text.ReadFile(dataArg), $"'{dataArg}'");
            what = $"'{dataArg}'";
        }
        if (tokens.Length < 2) throw new CliException($"{what} has {tokens.Length} character: there is nothing to predict");

        var clock = Stopwatch.StartNew();
        double loss = model.MeanLoss(tokens);
        double seconds = clock.Elapsed.TotalSeconds;
        if (json)
        {
            WriteJson(stdout, w =>
            {
                Number(w, "loss", loss);
                Number(w, "bits_per_char", LanguageModelMetrics.BitsPerChar(loss));
                Number(w, "perplexity", LanguageModelMetrics.Perplexity(loss));
                w.WriteNumber("characters", tokens.Length - 1);
                w.WriteNumber("order", model.Order);
                w.WriteString("text", dataArg ?? "validation");
                w.WriteNumber("seconds", Math.Round(seconds, 3));
            });
        }
        else
        {
            stdout.WriteLine($"loss {loss:F4} nats/char, {LanguageModelMetrics.BitsPerChar(loss):F4} bits/char, " +
                             $"perplexity {LanguageModelMetrics.Perplexity(loss):F3} over {tokens.Length - 1:N0} predicted characters of {what} " +
                             $"(order {model.Order}, {FormatDuration(seconds)})");
        }
        return 0;
    }

    /// <summary>The corpus the model was counted on, split as it was; the text must still be the same bytes.</summary>
    internal static CharCorpus ValidationSplit(NgramTrainingData trained, Vocabulary vocabulary, string dir)
    {
        ModelDirectory.RequireSameData(trained.Data, trained.DataSha256, dir, "--data", "text");
        var corpus = CharCorpus.Load(trained.Data, trained.ValFraction, vocabulary);
        if (corpus.Validation.Length < 2)
            throw new CliException($"the model in '{dir}' was counted with no validation split (val_fraction {trained.ValFraction}); give --data FILE to score a text");
        return corpus;
    }

    public static int Sample(string dir, CliArgs args, TextWriter stdout)
    {
        string? prime = args.String("prime");
        int length = args.Int("length", 500, 0, 100_000_000);
        double temperature = args.Double("temperature", 0.8, 0, 100);
        int topK = args.Int("top-k", 0, 0);
        int seed = args.Int("seed", 1, 0);
        bool json = args.Flag("json");
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        var (model, _) = NgramCheckpoint.Load(dir);
        if (prime is { Length: 0 }) throw CliArgs.Usage("--prime must not be empty (leave it out for the default)");
        prime ??= CharLanguageModelSampler.DefaultPrime(model.Vocabulary);
        int[] primeIds = model.Vocabulary.Encode(prime, "--prime");
        var sampler = new TokenSampler(model.VocabSize, (float)temperature, topK);
        var rng = new Rng((ulong)seed);
        if (json)
        {
            var text = new System.Text.StringBuilder();
            model.Generate(primeIds, length, sampler, rng, s => text.Append(s));
            WriteJson(stdout, w =>
            {
                w.WriteString("prime", prime);
                w.WriteString("text", text.ToString());
                w.WriteNumber("length", length);
                w.WriteNumber("temperature", temperature);
                w.WriteNumber("top_k", topK);
                w.WriteNumber("seed", seed);
            });
            return 0;
        }
        stdout.Write(prime);
        model.Generate(primeIds, length, sampler, rng, s => { stdout.Write(s); if (s == "\n") stdout.Flush(); });
        stdout.WriteLine();
        stdout.Flush();
        return 0;
    }
}
