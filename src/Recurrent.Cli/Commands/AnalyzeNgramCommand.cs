using Recurrent.Analysis;
using Recurrent.Data;
using Recurrent.Metrics;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `recurrent analyze ngram`: the Kneser–Ney character n-gram baseline at every order on the char-LM's validation split,
/// the best order marked, and (--lstm DIR) a trained char-LM's validation loss on the same characters beside it.
/// </summary>
internal static class AnalyzeNgramCommand
{
    public const string Summary = "Kneser–Ney n-gram validation nats/char against order, beside a trained LSTM";

    private const string DefaultOut = "ngram-orders.svg";

    private const string Usage = """
        usage: recurrent analyze ngram [options]
          --orders LIST          n-gram orders to count and score: 1-9, 5 or 1,3,5 (default 1-9)
          --lstm DIR             a char-LM model directory (recurrent train): its validation loss on the same split is
                                 drawn as a reference line (its best/ model when it has one)
          --data FILE            the text (default: the --lstm model's, else data/tinyshakespeare.txt)
          --val-fraction F       last fraction held out for validation (default: the --lstm model's, else 0.1)
          --out FILE             the figure (default ngram-orders.svg)
          --seed S  --threads N  --json
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        int[] orders;
        try { orders = NgramOrderSweep.ParseOrders(args.String("orders", "1-9")); }
        catch (ArgumentException e) { throw CliArgs.Usage("--" + e.Message); }
        string? lstmArg = args.String("lstm");
        string? dataArg = args.String("data");
        double? valArg = args.Has("val-fraction") ? args.Double("val-fraction", 0.1, 0.000001, 0.9) : null;
        var options = AnalysisOptions.Read(args, DefaultOut);

        // The LSTM first: its data and split are the defaults, and a model trained on another text is refused before
        // anything is counted.
        Models.CharLanguageModel? lstm = null;
        TrainingSettings? lstmSettings = null;
        string? lstmDir = null;
        if (lstmArg != null)
        {
            (lstmDir, _) = ModelDirectory.ForInference(lstmArg, last: false);
            if (Checkpoint.ReadTask(lstmDir) != Models.CharLanguageModelConfig.Task)
                throw new CliException($"--lstm '{lstmArg}' holds a '{Checkpoint.ReadTask(lstmDir)}' model, not a char-lm model");
            lstm = Checkpoint.LoadModel(lstmDir);
            lstmSettings = Checkpoint.LoadConfig(lstmDir).Training
                           ?? throw new CliException($"--lstm '{lstmArg}' has no training settings: its validation split is unknown");
        }
        string data = dataArg ?? lstmSettings?.Data ?? TrainCommand.FindDefaultData();
        double valFraction = valArg ?? lstmSettings?.ValFraction ?? 0.1;
        if (lstmSettings != null)
        {
            if (ModelDirectory.Sha256(data) != lstmSettings.DataSha256)
                throw new CliException($"'{data}' is not the text the LSTM in '{lstmArg}' was trained on (its SHA-256 differs): their validation splits differ");
            if (valFraction != lstmSettings.ValFraction)
                throw new CliException($"--val-fraction {valFraction} differs from the LSTM's {lstmSettings.ValFraction}: their validation splits differ");
        }
        var corpus = CharCorpus.Load(data, valFraction);

        var results = NgramOrderSweep.Run(corpus, orders, r =>
            AnalysisOptions.Progress(stderr, $"order {r.Order}: val {r.ValNatsPerChar:F4} nats/char, {r.Ngrams:N0} n-grams, {r.Seconds:F2}s"));
        var best = NgramOrderSweep.Best(results);
        double? lstmLoss = null;
        if (lstm != null)
        {
            // Exactly as training validates it (Trainer.Validate): the same streams and chunk length.
            var lstmCorpus = CharCorpus.Load(data, valFraction, lstm.Config.Vocabulary);
            lstmLoss = Evaluator.MeanLoss(lstm, lstmCorpus.Validation, lstmSettings!.Batch, lstmSettings.SeqLen);
            AnalysisOptions.Progress(stderr, $"LSTM '{lstmDir}': val {lstmLoss:F4} nats/char");
        }

        var table = new List<string> { $"{"order",5}  {"val nats/char",13}  {"bits/char",9}  {"n-grams",11}  {"bytes",11}  {"seconds",7}" };
        foreach (var r in results)
            table.Add($"{r.Order,5}  {r.ValNatsPerChar,13:F4}  {r.ValBitsPerChar,9:F4}  {r.Ngrams,11:N0}  {r.Bytes,11:N0}  {r.Seconds,7:F2}" +
                      (r == best ? "  ← best" : ""));
        table.Add($"data '{Path.GetFullPath(data)}': {corpus.TrainLength:N0} training / {corpus.Validation.Length:N0} validation characters");
        if (lstmLoss is { } l)
            table.Add($"LSTM '{lstmDir}': val {l:F4} nats/char ({LanguageModelMetrics.BitsPerChar(l):F4} bits/char), " +
                      (l < best.ValNatsPerChar ? $"{best.ValNatsPerChar - l:F4} nats/char below" : $"{l - best.ValNatsPerChar:F4} nats/char above") +
                      $" the best n-gram (order {best.Order})");

        var series = new List<LineChart.Series>
        {
            new("Kneser–Ney n-gram", LineChart.Color(0), results.Select(r => ((double)r.Order, r.ValNatsPerChar)).ToList()),
        };
        var references = lstmLoss is { } ll ? new List<LineChart.ReferenceLine> { new($"LSTM {ll:F3}", ll) } : null;
        string svg = LineChart.Render($"Character n-gram (interpolated modified Kneser–Ney) vs order: best {best.ValNatsPerChar:F3} at order {best.Order}",
            "order", "validation nats/char", series, references: references);

        options.Finish(stdout, table, w =>
        {
            w.WriteStartArray("orders");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteNumber("order", r.Order);
                w.WriteNumber("val_nats_per_char", r.ValNatsPerChar);
                w.WriteNumber("val_bits_per_char", r.ValBitsPerChar);
                w.WriteNumber("ngrams", r.Ngrams);
                w.WriteNumber("bytes", r.Bytes);
                w.WriteNumber("seconds", Math.Round(r.Seconds, 3));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("best_order", best.Order);
            w.WriteNumber("best_val_nats_per_char", best.ValNatsPerChar);
            TrainCommand.Number(w, "lstm_val_nats_per_char", lstmLoss);
            TrainCommand.Number(w, "lstm_margin_nats_per_char", lstmLoss is { } m ? best.ValNatsPerChar - m : null);
            w.WriteString("data", Path.GetFullPath(data));
            w.WriteNumber("val_fraction", valFraction);
            w.WriteNumber("train_characters", corpus.TrainLength);
            w.WriteNumber("val_characters", corpus.Validation.Length);
        }, svg);
        return 0;
    }
}
