using Recurrent.Data;
using Recurrent.Models;

namespace Recurrent.Tasks;

/// <summary>
/// A `label&lt;TAB&gt;text` file encoded for a classifier: each sentence's word ids and its label's id. A label the model
/// does not know is an error naming the file and line (a model cannot be scored on classes it never had).
/// </summary>
public sealed class ClassificationData
{
    /// <summary>Each sentence's word ids (unknown words as &lt;unk&gt;), in file order.</summary>
    public int[][] Tokens { get; }
    /// <summary>Each sentence's label id.</summary>
    public int[] Labels { get; }
    /// <summary>Each sentence's length in words (for bucketing).</summary>
    public int[] Lengths { get; }

    private ClassificationData(string source, List<LabeledText> examples, WordModelConfig config)
    {
        Tokens = new int[examples.Count][];
        Labels = new int[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            Tokens[i] = config.Vocabulary.Encode(e.Words);
            Labels[i] = config.Labels.Id(e.Label);
            if (Labels[i] < 0)
                throw new InvalidDataException($"{source}:{e.Line}: label '{e.Label}' is not one the model knows ({string.Join(", ", config.Labels.Names)})");
        }
        Lengths = Tokens.Select(t => t.Length).ToArray();
    }

    /// <summary>Reads and encodes <paramref name="path"/>; throws <see cref="InvalidDataException"/> "FILE:LINE: …" for a malformed line or a label the model does not know.</summary>
    public static ClassificationData Load(string path, WordModelConfig config) =>
        new(path, LabeledTextReader.Read(path), config);

    /// <summary>Examples already read (the training file, read once to build the vocabulary).</summary>
    public static ClassificationData FromExamples(string path, List<LabeledText> examples, WordModelConfig config) =>
        new(path, examples, config);
}
