using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>`recurrent sample`: text from a trained character model, streamed character by character.</summary>
internal static class SampleCommand
{
    public const string Summary = "generate text from a character language model, or from a condition (generate)";

    private const string Usage = """
        usage: recurrent sample --model DIR [options]
          --prime TEXT       text the model reads first and the sample continues (default: a newline)
          --length N         characters to generate (default 500)
          --temperature T    softmax temperature; 0 = greedy, always the likeliest character (default 0.8)
          --top-k K          draw only among the K likeliest characters (default 0 = all)
          --seed S           seed of the draws (default 1)
          --threads N  --json   (--json prints one object {"prime", "text", ...} instead of streaming)
        An ngram model (train --task ngram) takes the same options but --threads.
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage + "\n" + GenerateSampleCommand.Usage); return 0; }
        string dir = args.RequiredDirectory("model", "a directory written by 'recurrent train'");
        string task = Checkpoint.ReadTask(dir);
        if (task == GeneratorConfig.GenerateTask) return GenerateSampleCommand.Run(dir, args, stdout);
        if (task == NgramLanguageModel.Task) return NgramCommands.Sample(dir, args, stdout);
        string? prime = args.String("prime");
        int length = args.Int("length", 500, 0, 100_000_000);
        double temperature = args.Double("temperature", 0.8, 0, 100);
        int topK = args.Int("top-k", 0, 0);
        int seed = args.Int("seed", 1, 0);
        bool json = args.Flag("json");
        if (args.Threads() is { } threads) Gemm.Threads = threads;
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();

        var model = Checkpoint.LoadModel(dir);
        var vocabulary = model.Config.Vocabulary;
        if (prime is { Length: 0 }) throw CliArgs.Usage("--prime must not be empty (leave it out for the default)");
        prime ??= CharLanguageModelSampler.DefaultPrime(vocabulary);
        vocabulary.Encode(prime, "--prime"); // an unknown character is an error before anything is printed
        var sampler = new CharLanguageModelSampler(model, new TokenSampler(vocabulary.Count, (float)temperature, topK), new Rng((ulong)seed));

        if (json)
        {
            string text = sampler.Generate(prime, length);
            TrainCommand.WriteJson(stdout, w =>
            {
                w.WriteString("prime", prime);
                w.WriteString("text", text);
                w.WriteNumber("length", length);
                w.WriteNumber("temperature", temperature);
                w.WriteNumber("top_k", topK);
                w.WriteNumber("seed", seed);
            });
            return 0;
        }
        stdout.Write(prime);
        sampler.Generate(prime, length, s => { stdout.Write(s); if (s == "\n") stdout.Flush(); });
        stdout.WriteLine();
        stdout.Flush();
        return 0;
    }
}
