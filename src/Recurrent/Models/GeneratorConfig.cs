using System.Text.Json;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// What a conditioned text generator is ("generate", the one-to-many shape of image captioning): the words (with
/// &lt;s&gt; and &lt;/s&gt;), the condition — one of a set of labels, or a vector of a fixed size — and the decoder
/// (cell, L layers of H, embedding E, dropout). Stored in config.json, so a model directory rebuilds the same model.
/// </summary>
public sealed record GeneratorConfig
{
    /// <summary>config.json's "task" for a conditioned generator.</summary>
    public const string GenerateTask = "generate";

    /// <summary>The decoder's recurrent cell.</summary>
    public required CellKind Cell { get; init; }
    /// <summary>Words; ids 0–3 are &lt;pad&gt;, &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;.</summary>
    public required WordVocabulary Vocabulary { get; init; }
    /// <summary>The labels a condition may name, or null when conditions are vectors.</summary>
    public LabelSet? Labels { get; init; }
    /// <summary>The size of a vector condition (0 when conditions are labels).</summary>
    public int VectorSize { get; init; }
    /// <summary>E: the width of a word embedding (and of a label's embedding).</summary>
    public int EmbeddingSize { get; init; } = 128;
    /// <summary>H: the decoder's hidden size.</summary>
    public int HiddenSize { get; init; } = 256;
    /// <summary>L: the decoder's recurrent layers.</summary>
    public int NumLayers { get; init; } = 1;
    /// <summary>Dropout on the word embeddings, between layers and before the output layer.</summary>
    public float Dropout { get; init; } = 0.2f;

    /// <summary>The width of what the bridge reads: a label's embedding (E), or the vector.</summary>
    public int ConditionSize => Labels != null ? EmbeddingSize : VectorSize;

    /// <summary>Throws a one-line ArgumentException for settings that cannot make a model.</summary>
    public void Validate()
    {
        if (EmbeddingSize < 1) throw new ArgumentException($"embedding size must be ≥ 1, got {EmbeddingSize}");
        if (HiddenSize < 1) throw new ArgumentException($"hidden size must be ≥ 1, got {HiddenSize}");
        if (NumLayers < 1) throw new ArgumentException($"number of layers must be ≥ 1, got {NumLayers}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"dropout must be in [0, 1), got {Dropout}");
        if ((Labels == null) == (VectorSize == 0))
            throw new ArgumentException("a generator is conditioned either on labels or on vectors of a size ≥ 1");
        if (VectorSize < 0) throw new ArgumentException($"vector size must be ≥ 0, got {VectorSize}");
        if (!Vocabulary.HasSentenceMarkers)
            throw new ArgumentException($"the vocabulary must hold {WordVocabulary.Start} and {WordVocabulary.End}");
    }

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteString("cell", CharLanguageModelConfig.CellName(Cell));
        w.WriteNumber("embedding_size", EmbeddingSize);
        w.WriteNumber("hidden_size", HiddenSize);
        w.WriteNumber("num_layers", NumLayers);
        w.WriteNumber("dropout", Dropout);
        w.WriteNumber("vector_size", VectorSize);
        if (Labels != null) JsonFields.WriteList(w, "labels", Labels.Names);
        JsonFields.WriteList(w, "vocabulary", Vocabulary.Words);
    }

    internal static GeneratorConfig ReadJson(JsonFields f)
    {
        return f.Read(() =>
        {
            int vectorSize = f.Int("vector_size", 0);
            var config = new GeneratorConfig
            {
                Cell = CharLanguageModelConfig.ParseCell(f.String("cell")),
                Vocabulary = WordVocabulary.FromList(f.StringArray("vocabulary"), lowercase: false),
                Labels = vectorSize == 0 ? LabelSet.FromList(f.StringArray("labels")) : null,
                VectorSize = vectorSize,
                EmbeddingSize = f.Int("embedding_size", 1),
                HiddenSize = f.Int("hidden_size", 1),
                NumLayers = f.Int("num_layers", 1),
                Dropout = (float)f.Double("dropout", 0, 0.999999),
            };
            config.Validate();
            return config;
        });
    }
}
