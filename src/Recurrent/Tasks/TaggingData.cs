using System.Text;
using Recurrent.Data;
using Recurrent.Models;

namespace Recurrent.Tasks;

/// <summary>
/// A CoNLL file encoded for a tagger: each sentence's word ids, tag ids and (with character features) the character
/// ids of each word. A tag the model does not know is an error naming the file and line.
/// </summary>
public sealed class TaggingData
{
    /// <summary>The sentences as read (words and tags), in file order.</summary>
    public IReadOnlyList<TaggedSentence> Sentences { get; }
    /// <summary>Each sentence's word ids (unknown words as &lt;unk&gt;).</summary>
    public int[][] Tokens { get; }
    /// <summary>Each sentence's tag ids, one per word.</summary>
    public int[][] Tags { get; }
    /// <summary>[sentence][word] character ids, or null without character features.</summary>
    public int[][][]? Characters { get; }
    /// <summary>Each sentence's length in words (for bucketing).</summary>
    public int[] Lengths { get; }

    private TaggingData(string source, List<TaggedSentence> sentences, WordModelConfig config)
    {
        Sentences = sentences;
        Tokens = new int[sentences.Count][];
        Tags = new int[sentences.Count][];
        Characters = config.HasCharFeatures ? new int[sentences.Count][][] : null;
        for (int i = 0; i < sentences.Count; i++)
        {
            var s = sentences[i];
            Tokens[i] = config.Vocabulary.Encode(s.Words);
            Tags[i] = new int[s.Tags.Length];
            for (int t = 0; t < s.Tags.Length; t++)
            {
                Tags[i][t] = config.Labels.Id(s.Tags[t]);
                if (Tags[i][t] < 0)
                    throw new InvalidDataException($"{source}:{s.Line + t}: tag '{s.Tags[t]}' is not one the model knows ({string.Join(", ", config.Labels.Names)})");
            }
            if (Characters != null) Characters[i] = s.Words.Select(w => EncodeCharacters(w, config.Characters!)).ToArray();
        }
        Lengths = Tokens.Select(t => t.Length).ToArray();
    }

    /// <summary>Reads and encodes the CoNLL file <paramref name="path"/>; throws <see cref="InvalidDataException"/> "FILE:LINE: …" for a malformed line or a tag the model does not know.</summary>
    public static TaggingData Load(string path, WordModelConfig config) => new(path, ConllReader.Read(path), config);

    /// <summary>Sentences already read (the training file, read once to build the vocabularies); <paramref name="path"/> names it in errors.</summary>
    public static TaggingData FromSentences(string path, List<TaggedSentence> sentences, WordModelConfig config) =>
        new(path, sentences, config);

    /// <summary>Each character (code point) of the word as written, case kept: the features see what the lookup loses.</summary>
    public static int[] EncodeCharacters(string word, WordVocabulary characters)
    {
        var ids = new List<int>(word.Length);
        foreach (Rune r in word.EnumerateRunes()) ids.Add(characters.Id(r.ToString()));
        return ids.Count > 0 ? ids.ToArray() : [WordVocabulary.UnknownId];
    }

    /// <summary>The characters of a corpus's words, one "word" per code point, for building the character vocabulary.</summary>
    public static IEnumerable<string> CharactersOf(IEnumerable<TaggedSentence> sentences) =>
        sentences.SelectMany(s => s.Words).SelectMany(w => w.EnumerateRunes().Select(r => r.ToString()));
}
