using Recurrent.Data;
using Recurrent.Models;

namespace Recurrent.Tasks;

/// <summary>
/// A `source&lt;TAB&gt;target` file encoded for a translation model: every pair's source and target word ids (words the
/// vocabularies lack read as &lt;unk&gt;), and its distinct sources with all their references (as tokens) for BLEU.
/// </summary>
public sealed class TranslationData
{
    /// <summary>The file the pairs were read from.</summary>
    public string Path { get; }
    /// <summary>Each pair's source word ids (unknown words as &lt;unk&gt;), in file order.</summary>
    public int[][] Sources { get; }
    /// <summary>The target words' ids, without &lt;s&gt; and &lt;/s&gt; (the task adds them).</summary>
    public int[][] Targets { get; }
    /// <summary>Each pair's source length in words (for bucketing).</summary>
    public int[] SourceLengths { get; }
    /// <summary>Each distinct source sentence once, with every target the file gives it (BLEU's references).</summary>
    public IReadOnlyList<SourceGroup> Groups { get; }
    /// <summary>The ids of each group's source.</summary>
    public int[][] GroupSources { get; }

    private TranslationData(string path, ParallelCorpus corpus, Seq2SeqConfig config)
    {
        Path = path;
        Sources = corpus.Pairs.Select(p => config.SourceVocabulary.Encode(p.Source)).ToArray();
        Targets = corpus.Pairs.Select(p => config.TargetVocabulary.Encode(p.Target)).ToArray();
        SourceLengths = Sources.Select(s => s.Length).ToArray();
        Groups = corpus.Sources;
        GroupSources = corpus.Sources.Select(g => config.SourceVocabulary.Encode(g.Source)).ToArray();
    }

    /// <summary>Reads and encodes the <c>source&lt;TAB&gt;target</c> file <paramref name="path"/>; throws <see cref="InvalidDataException"/> "FILE:LINE: …" for a malformed line.</summary>
    public static TranslationData Load(string path, Seq2SeqConfig config) => new(path, ParallelCorpus.Read(path), config);

    /// <summary>A corpus already read (the training file, read once to build the vocabularies).</summary>
    public static TranslationData FromCorpus(string path, ParallelCorpus corpus, Seq2SeqConfig config) => new(path, corpus, config);
}
