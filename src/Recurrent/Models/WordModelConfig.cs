using System.Text.Json;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// What a word-level model is — the sentence classifier ("classify") or the sequence tagger ("tag"): its vocabularies,
/// the word embedding (E), the recurrent stack (cell, L layers of H per direction, uni- or bidirectional), the
/// regularisation, and the task's head (pooling for classify; CRF and character features for tag). Stored in
/// config.json, so a model directory rebuilds the same model.
/// </summary>
public sealed record WordModelConfig
{
    /// <summary>The two values of <see cref="Task"/>: a sentence classifier or a sequence tagger.</summary>
    public const string ClassifyTask = "classify", TagTask = "tag";

    /// <summary>config.json's "task": <see cref="ClassifyTask"/> or <see cref="TagTask"/>.</summary>
    public required string Task { get; init; }
    /// <summary>The cell of every recurrent layer.</summary>
    public required CellKind Cell { get; init; }
    /// <summary>Words (ids 0 and 1 are &lt;pad&gt; and &lt;unk&gt;).</summary>
    public required WordVocabulary Vocabulary { get; init; }
    /// <summary>Classes (classify) or tags (tag).</summary>
    public required LabelSet Labels { get; init; }
    /// <summary>E: the width of a word embedding.</summary>
    public int EmbeddingSize { get; init; } = 128;
    /// <summary>H: the hidden size of each direction.</summary>
    public int HiddenSize { get; init; } = 128;
    /// <summary>L: stacked recurrent layers.</summary>
    public int NumLayers { get; init; } = 1;
    /// <summary>Each layer also reads the sentence backwards (its output is then 2H wide).</summary>
    public bool Bidirectional { get; init; } = true;
    /// <summary>Dropout before the output layer and between recurrent layers.</summary>
    public float Dropout { get; init; } = 0.5f;
    /// <summary>Dropout on the recurrent stack's input (the word vectors, with the character features for tag).</summary>
    public float EmbeddingDropout { get; init; } = 0.5f;
    /// <summary>While training, each word is read as &lt;unk&gt; with this probability (so &lt;unk&gt; learns a useful vector).</summary>
    public float WordDropout { get; init; }
    /// <summary>The word embedding keeps its (pretrained) vectors: it takes no gradient steps.</summary>
    public bool FreezeEmbeddings { get; init; }

    /// <summary>classify: how the recurrent outputs become one vector.</summary>
    public PoolingKind Pooling { get; init; } = PoolingKind.Max;

    /// <summary>tag: a linear-chain CRF over the tags instead of a softmax per token.</summary>
    public bool Crf { get; init; }
    /// <summary>tag: the characters of the character-BiLSTM word features, or null when they are off.</summary>
    public WordVocabulary? Characters { get; init; }
    /// <summary>tag: the width of a character embedding (0: no character features).</summary>
    public int CharEmbedding { get; init; }
    /// <summary>tag: the hidden size of each direction of the character BiLSTM (0: no character features).</summary>
    public int CharHidden { get; init; }

    /// <summary>D: 2 when bidirectional, else 1.</summary>
    public int Directions => Bidirectional ? 2 : 1;
    /// <summary>tag: the words also get character-BiLSTM features (a character set and both sizes above 0).</summary>
    public bool HasCharFeatures => Characters != null && CharEmbedding > 0 && CharHidden > 0;

    /// <summary>The PyTorch submodule name of the recurrent stack, as the char-lm names it.</summary>
    public string RecurrentPrefix => CharLanguageModelConfig.ModulePrefix(Cell);

    /// <summary>Throws a one-line ArgumentException for settings that cannot make a model.</summary>
    public void Validate()
    {
        if (Task is not (ClassifyTask or TagTask)) throw new ArgumentException($"unknown word task '{Task}'");
        if (EmbeddingSize < 1) throw new ArgumentException($"embedding size must be ≥ 1, got {EmbeddingSize}");
        if (HiddenSize < 1) throw new ArgumentException($"hidden size must be ≥ 1, got {HiddenSize}");
        if (NumLayers < 1) throw new ArgumentException($"number of layers must be ≥ 1, got {NumLayers}");
        foreach (var (name, p) in new[] { ("dropout", Dropout), ("embedding dropout", EmbeddingDropout), ("word dropout", WordDropout) })
            if (!(p >= 0 && p < 1)) throw new ArgumentException($"{name} must be in [0, 1), got {p}");
        if (Labels.Count < 1) throw new ArgumentException("a model needs at least one label");
        if (CharEmbedding < 0 || CharHidden < 0) throw new ArgumentException("character sizes must be ≥ 0 (0 = off)");
    }

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteString("cell", CharLanguageModelConfig.CellName(Cell));
        w.WriteNumber("embedding_size", EmbeddingSize);
        w.WriteNumber("hidden_size", HiddenSize);
        w.WriteNumber("num_layers", NumLayers);
        w.WriteBoolean("bidirectional", Bidirectional);
        w.WriteNumber("dropout", Dropout);
        w.WriteNumber("embedding_dropout", EmbeddingDropout);
        w.WriteNumber("word_dropout", WordDropout);
        w.WriteBoolean("freeze_embeddings", FreezeEmbeddings);
        w.WriteBoolean("zero_digits", Vocabulary.ZeroDigits);
        if (Task == ClassifyTask) w.WriteString("pooling", SequencePooling.Name(Pooling));
        else
        {
            w.WriteBoolean("crf", Crf);
            w.WriteNumber("char_embedding", HasCharFeatures ? CharEmbedding : 0);
            w.WriteNumber("char_hidden", HasCharFeatures ? CharHidden : 0);
        }
        w.WriteBoolean("lowercase", Vocabulary.Lowercase);
        JsonFields.WriteList(w, "labels", Labels.Names);
        JsonFields.WriteList(w, "vocabulary", Vocabulary.Words);
        if (Task == TagTask && HasCharFeatures) JsonFields.WriteList(w, "characters", Characters!.Words);
    }

    internal static WordModelConfig ReadJson(JsonFields f, string task)
    {
        return f.Read(() =>
        {
            bool tag = task == TagTask;
            int charEmbedding = tag ? f.Int("char_embedding", 0) : 0, charHidden = tag ? f.Int("char_hidden", 0) : 0;
            var config = new WordModelConfig
            {
                Task = task,
                Cell = CharLanguageModelConfig.ParseCell(f.String("cell")),
                Vocabulary = WordVocabulary.FromList(f.StringArray("vocabulary"), f.Bool("lowercase"), f.Bool("zero_digits")),
                Labels = LabelSet.FromList(f.StringArray("labels")),
                EmbeddingSize = f.Int("embedding_size", 1),
                HiddenSize = f.Int("hidden_size", 1),
                NumLayers = f.Int("num_layers", 1),
                Bidirectional = f.Bool("bidirectional"),
                Dropout = (float)f.Double("dropout", 0, 0.999999),
                EmbeddingDropout = (float)f.Double("embedding_dropout", 0, 0.999999),
                WordDropout = (float)f.Double("word_dropout", 0, 0.999999),
                FreezeEmbeddings = f.Bool("freeze_embeddings"),
                Pooling = tag ? PoolingKind.Max : SequencePooling.Parse(f.String("pooling")),
                Crf = tag && f.Bool("crf"),
                Characters = charEmbedding > 0 && charHidden > 0 ? WordVocabulary.FromList(f.StringArray("characters"), lowercase: false) : null,
                CharEmbedding = charEmbedding,
                CharHidden = charHidden,
            };
            config.Validate();
            return config;
        });
    }
}
