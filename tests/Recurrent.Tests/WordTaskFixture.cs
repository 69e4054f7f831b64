using System.Text;
using Recurrent.Tensors;

namespace Recurrent.Tests;

/// <summary>
/// Tiny classify and tag corpora the tests write (the real ones are not all openly licensed): sentences of random
/// words whose label (1 when "good" outnumbers "bad") or tags (capitalised names are PER entities, "Bank" ends an ORG)
/// follow a rule a small model learns in a few hundred steps.
/// </summary>
public sealed class WordTaskFixture : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("wordtask").FullName;
    public string ClassifyTrain { get; }
    public string ClassifyDev { get; }
    public string TagTrain { get; }
    public string TagDev { get; }

    private static readonly string[] Filler = ["the", "a", "film", "is", "was", "very", "plot", "and", "it", "but", "quite"];
    private static readonly string[] Names = ["Anna", "Bob", "Carla", "Dmitri", "Eve"];

    /// <summary>Flags of tiny models that learn the rules in a second (no dropout: the tests check behaviour, not regularisation).</summary>
    public static readonly string[] TinyClassify =
        ["--embedding", "8", "--hidden", "6", "--batch", "4", "--seed", "3", "--threads", "1", "--min-count", "1", "--lr", "0.01",
         "--dropout", "0", "--embedding-dropout", "0", "--word-dropout", "0"];
    public static readonly string[] TinyTag =
        ["--embedding", "6", "--hidden", "5", "--char-embedding", "3", "--char-hidden", "2", "--batch", "4", "--seed", "3",
         "--threads", "1", "--lr", "0.01", "--dropout", "0", "--embedding-dropout", "0", "--word-dropout", "0"];

    /// <summary>The tiny flags with <paramref name="extra"/>'s values in place of any they give too.</summary>
    public static string[] With(string[] tiny, string[] extra)
    {
        var flags = new List<string>();
        for (int i = 0; i < tiny.Length; i += 2)
            if (!extra.Contains(tiny[i])) flags.AddRange([tiny[i], tiny[i + 1]]);
        return [.. flags, .. extra];
    }

    public WordTaskFixture()
    {
        ClassifyTrain = Write("train.tsv", ClassifyLines(new Rng(1), 48));
        ClassifyDev = Write("dev.tsv", ClassifyLines(new Rng(2), 12));
        TagTrain = Write("train.conll", TagSentences(new Rng(3), 40));
        TagDev = Write("dev.conll", TagSentences(new Rng(4), 10));
    }

    public string Path(string name) => System.IO.Path.Combine(Dir, name);

    public string Write(string name, string text)
    {
        File.WriteAllText(Path(name), text, new UTF8Encoding(false));
        return Path(name);
    }

    private static string ClassifyLines(Rng rng, int count)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            int length = 2 + rng.NextInt(9), good = 0, bad = 0;
            var words = new List<string>();
            for (int w = 0; w < length; w++)
            {
                int r = rng.NextInt(5);
                string word = r == 0 ? "good" : r == 1 ? "bad" : Filler[rng.NextInt(Filler.Length)];
                good += word == "good" ? 1 : 0;
                bad += word == "bad" ? 1 : 0;
                words.Add(word);
            }
            sb.Append(good > bad ? "pos" : "neg").Append('\t').AppendJoin(' ', words).Append('\n');
        }
        return sb.ToString();
    }

    private static string TagSentences(Rng rng, int count)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            int length = 1 + rng.NextInt(8);
            for (int w = 0; w < length; w++)
            {
                int r = rng.NextInt(6);
                if (r == 0) sb.Append(Names[rng.NextInt(Names.Length)]).Append("\tB-PER\n");
                else if (r == 1 && w + 1 < length) { sb.Append("City\tB-ORG\nBank\tI-ORG\n"); w++; }
                else sb.Append(Filler[rng.NextInt(Filler.Length)]).Append(rng.NextInt(4) == 0 ? "1999" : "").Append("\tO\n");
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public void Dispose() => Directory.Delete(Dir, true);
}
