using System.Text.Json;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// What an encoder–decoder translation model is ("translate"): the two vocabularies (the target one with &lt;s&gt; and
/// &lt;/s&gt;), the embedding size E, the hidden size H (the encoder's output width and the decoder's state; each encoder
/// direction has H/2, OpenNMT's convention, so that Luong's dot score needs no projection), the cell, the encoder's
/// layers, the attention (or none: Sutskever's plain encoder–decoder), dropout, teacher forcing and the beam the
/// model decodes with unless told otherwise. Stored in config.json, so a model directory rebuilds the same model.
/// </summary>
public sealed record Seq2SeqConfig
{
    /// <summary>config.json's "task" for a translation model.</summary>
    public const string TranslateTask = "translate";
    /// <summary>The attention name that means none (<see cref="Attention"/> null).</summary>
    public const string NoAttention = "none";

    /// <summary>The cell of the encoder and the decoder.</summary>
    public required CellKind Cell { get; init; }
    /// <summary>Source words (ids 0 and 1 are &lt;pad&gt; and &lt;unk&gt;).</summary>
    public required WordVocabulary SourceVocabulary { get; init; }
    /// <summary>Target words; ids 0–3 are &lt;pad&gt;, &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;.</summary>
    public required WordVocabulary TargetVocabulary { get; init; }
    /// <summary>E: the width of both embeddings.</summary>
    public int EmbeddingSize { get; init; } = 256;
    /// <summary>H: the decoder's state and the encoder's output width; even, since each encoder direction has H/2.</summary>
    public int HiddenSize { get; init; } = 256;
    /// <summary>The encoder's stacked bidirectional layers (the decoder is one cell).</summary>
    public int NumLayers { get; init; } = 1;
    /// <summary>The score function, or null for no attention (the context is then always zero).</summary>
    public AttentionKind? Attention { get; init; } = AttentionKind.Bahdanau;
    /// <summary>Dropout on both embeddings' outputs, on [s_t; c_t] before the output layer, and between encoder layers.</summary>
    public float Dropout { get; init; } = 0.2f;
    /// <summary>The probability that a training step reads the gold previous word rather than the model's own guess.</summary>
    public float TeacherForcing { get; init; } = 1f;
    /// <summary>Beam width for eval and predict unless --beam says otherwise (1 = greedy).</summary>
    public int Beam { get; init; } = 5;

    /// <summary>H/2: the hidden size of each encoder direction.</summary>
    public int EncoderHidden => HiddenSize / 2;

    /// <summary>The name of an attention kind, or <see cref="NoAttention"/> for null.</summary>
    public static string AttentionName(AttentionKind? kind) => kind is { } k ? Layers.Attention.Name(k) : NoAttention;
    /// <summary>The attention kind named, or null for <see cref="NoAttention"/>; throws <see cref="ArgumentException"/> for an unknown name.</summary>
    public static AttentionKind? ParseAttention(string name) => name == NoAttention ? null : Layers.Attention.ParseKind(name);
    /// <summary>Every name <see cref="ParseAttention"/> accepts: the attention kinds', then "none".</summary>
    public static readonly string[] AttentionNames = [.. Enum.GetValues<AttentionKind>().Select(Layers.Attention.Name), NoAttention];

    /// <summary>Throws a one-line ArgumentException for settings that cannot make a model.</summary>
    public void Validate()
    {
        if (EmbeddingSize < 1) throw new ArgumentException($"embedding size must be ≥ 1, got {EmbeddingSize}");
        if (HiddenSize < 2 || HiddenSize % 2 != 0)
            throw new ArgumentException($"hidden size must be even and ≥ 2 (each encoder direction has half), got {HiddenSize}");
        if (NumLayers < 1) throw new ArgumentException($"number of layers must be ≥ 1, got {NumLayers}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"dropout must be in [0, 1), got {Dropout}");
        if (!(TeacherForcing >= 0 && TeacherForcing <= 1)) throw new ArgumentException($"teacher forcing must be in [0, 1], got {TeacherForcing}");
        if (Beam < 1) throw new ArgumentException($"beam must be ≥ 1, got {Beam}");
        if (!TargetVocabulary.HasSentenceMarkers)
            throw new ArgumentException($"the target vocabulary must hold {WordVocabulary.Start} and {WordVocabulary.End}");
    }

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteString("cell", CharLanguageModelConfig.CellName(Cell));
        w.WriteNumber("embedding_size", EmbeddingSize);
        w.WriteNumber("hidden_size", HiddenSize);
        w.WriteNumber("num_layers", NumLayers);
        w.WriteString("attention", AttentionName(Attention));
        w.WriteNumber("dropout", Dropout);
        w.WriteNumber("teacher_forcing", TeacherForcing);
        w.WriteNumber("beam", Beam);
        w.WriteString("tokenizer", TranslationTokenizer.Name);
        JsonFields.WriteList(w, "source_vocabulary", SourceVocabulary.Words);
        JsonFields.WriteList(w, "target_vocabulary", TargetVocabulary.Words);
    }

    internal static Seq2SeqConfig ReadJson(JsonFields f)
    {
        return f.Read(() =>
        {
            string tokenizer = f.String("tokenizer");
            if (tokenizer != TranslationTokenizer.Name)
                throw new InvalidDataException($"unknown tokenizer '{tokenizer}' (this build has '{TranslationTokenizer.Name}')");
            var config = new Seq2SeqConfig
            {
                Cell = CharLanguageModelConfig.ParseCell(f.String("cell")),
                SourceVocabulary = WordVocabulary.FromList(f.StringArray("source_vocabulary"), lowercase: false),
                TargetVocabulary = WordVocabulary.FromList(f.StringArray("target_vocabulary"), lowercase: false),
                EmbeddingSize = f.Int("embedding_size", 1),
                HiddenSize = f.Int("hidden_size", 2),
                NumLayers = f.Int("num_layers", 1),
                Attention = ParseAttention(f.String("attention")),
                Dropout = (float)f.Double("dropout", 0, 0.999999),
                TeacherForcing = (float)f.Double("teacher_forcing", 0, 1),
                Beam = f.Int("beam", 1),
            };
            config.Validate();
            return config;
        });
    }
}
