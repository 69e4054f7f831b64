using System.Globalization;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>`recurrent sample` for a conditioned generator: texts drawn for one condition, one a line.</summary>
internal static class GenerateSampleCommand
{
    public const string Usage = """
        usage: recurrent sample --model DIR --condition LABEL|"v1 v2 …" [options]      (generate models)
          --condition C      a label the model was trained on, or a vector of its size (numbers separated by spaces)
          --count N          texts to draw (default 1), one a line
          --length N         at most N words a text (default 50); a text also ends when the model draws </s>
          --temperature T    softmax temperature; 0 = greedy (default 0.8)
          --top-k K          draw only among the K likeliest words (default 0 = all)
          --seed S  --last  --threads N
        """;

    public static int Run(string dir, CliArgs args, TextWriter stdout)
    {
        string condition = args.Required("condition", "C", "a label or a vector the model knows");
        int count = args.Int("count", 1, 1, 1_000_000);
        int length = args.Int("length", 50, 1, 100_000);
        double temperature = args.Double("temperature", 0.8, 0, 100);
        int topK = args.Int("top-k", 0, 0);
        int seed = args.Int("seed", 1, 0);
        bool last = args.Flag("last");
        if (args.Threads() is { } threads) Gemm.Threads = threads;
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        var (modelDir, _) = ModelDirectory.ForInference(dir, last);
        var model = Checkpoint.LoadGenerator(modelDir);
        var config = model.Config;
        int? label = null;
        float[]? vector = null;
        if (config.Labels is { } labels)
        {
            label = labels.Id(condition.Trim());
            if (label < 0) throw CliArgs.Usage($"--condition '{condition}' is not a label the model knows ({string.Join(", ", labels.Names)})");
        }
        else vector = ParseVector(condition, config.VectorSize);

        var sampler = new TokenSampler(config.Vocabulary.Count, (float)temperature, topK);
        var texts = model.Sample(label, vector, count, length, sampler, new Rng((ulong)seed));
        foreach (var text in texts) stdout.WriteLine(string.Join(' ', text.Select(id => config.Vocabulary.Words[id])));
        return 0;
    }

    private static float[] ParseVector(string text, int size)
    {
        string[] parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != size) throw CliArgs.Usage($"--condition has {parts.Length} values; the model's conditions are vectors of {size}");
        var vector = new float[size];
        for (int i = 0; i < size; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out vector[i]) || !float.IsFinite(vector[i]))
                throw CliArgs.Usage($"--condition value {i + 1} '{parts[i]}' is not a finite number");
        return vector;
    }
}
