using System.Text;
using Recurrent.Tensors;

namespace Recurrent.Tests;

/// <summary>
/// Tiny corpora for the translate and generate tasks, written by the tests: English number words translated word by
/// word into French (a rule a small encoder–decoder learns in seconds), and texts whose words follow their label.
/// </summary>
public sealed class Seq2SeqTaskFixture : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("seq2seq").FullName;
    public string TranslateTrain { get; }
    public string TranslateDev { get; }
    public string GenerateTrain { get; }
    public string GenerateDev { get; }

    private static readonly string[] English = ["one", "two", "three", "four", "five", "six"];
    private static readonly string[] French = ["un", "deux", "trois", "quatre", "cinq", "six"];
    private static readonly string[] Positive = ["good", "great", "fine", "nice"], Negative = ["bad", "awful", "dull", "poor"];

    public static readonly string[] TinyTranslate =
        ["--embedding", "8", "--hidden", "16", "--batch", "8", "--seed", "3", "--threads", "1", "--min-count", "1", "--lr", "0.01",
         "--dropout", "0", "--beam", "3"];
    public static readonly string[] TinyGenerate =
        ["--embedding", "8", "--hidden", "16", "--batch", "8", "--seed", "3", "--threads", "1", "--min-count", "1", "--lr", "0.01",
         "--dropout", "0"];

    public Seq2SeqTaskFixture()
    {
        TranslateTrain = Write("train.tsv", Pairs(new Rng(1), 96));
        // The dev file gives its first source twice, with two references.
        string dev = Pairs(new Rng(2), 16);
        string first = dev[..dev.IndexOf('\t')];
        TranslateDev = Write("dev.tsv", dev + first + "\tautre chose .\n");
        GenerateTrain = Write("gen-train.tsv", Conditioned(new Rng(3), 64));
        GenerateDev = Write("gen-dev.tsv", Conditioned(new Rng(4), 16));
    }

    public string Path(string name) => System.IO.Path.Combine(Dir, name);

    public string Write(string name, string text)
    {
        File.WriteAllText(Path(name), text, new UTF8Encoding(false));
        return Path(name);
    }

    private static string Pairs(Rng rng, int count)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            int length = 1 + rng.NextInt(4);
            var words = Enumerable.Range(0, length).Select(_ => rng.NextInt(English.Length)).ToArray();
            sb.AppendJoin(' ', words.Select(w => English[w])).Append(".\t");
            sb.AppendJoin(' ', words.Select(w => French[w])).Append(" .\n");
        }
        return sb.ToString();
    }

    private static string Conditioned(Rng rng, int count)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            bool positive = i % 2 == 0;
            var words = positive ? Positive : Negative;
            sb.Append(positive ? "pos" : "neg").Append('\t').Append("the film was");
            for (int w = 0, n = 1 + rng.NextInt(3); w < n; w++) sb.Append(' ').Append(words[rng.NextInt(words.Length)]);
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public static bool IsPositive(string word) => Positive.Contains(word);
    public static bool IsNegative(string word) => Negative.Contains(word);

    public void Dispose() => Directory.Delete(Dir, true);
}
