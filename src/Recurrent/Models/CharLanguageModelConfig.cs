using System.Text.Json;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// What a character language model is: its vocabulary (V symbols), the input (an embedding of E dimensions, or the
/// one-hot vector of V when E = 0, as min-char-rnn and char-rnn do), the recurrent cell and its size
/// (num_layers × hidden_size, dropout between layers and before the head), whether layers 1.. add the layer below's
/// output to their own (Residual; config.json's "residual", false when a config written before it lacks the field),
/// the weight drop on W_hh while training (config.json's "weight_drop", 0 when absent), and for the leaky cell its leak α.
/// </summary>
public sealed record CharLanguageModelConfig(
    CellKind Cell, Vocabulary Vocabulary, int EmbeddingSize, int HiddenSize, int NumLayers, float Dropout, bool Residual = false)
{
    /// <summary>config.json's "task" for a character language model.</summary>
    public const string Task = "char-lm";

    /// <summary>V: the characters the model reads and predicts.</summary>
    public int VocabSize => Vocabulary.Count;
    /// <summary>Width of the recurrent layer's input: E, or V for one-hot.</summary>
    public int InputSize => EmbeddingSize == 0 ? VocabSize : EmbeddingSize;

    /// <summary>The leaky cell's α, fixed or learned (config.json "leak", "leak_learned"); ignored by the other cells.</summary>
    public Leak Leak { get; init; } = Leak.Default;

    /// <summary>
    /// The probability with which training drops each element of every W_hh for a whole pass (DropConnect, as
    /// AWD-LSTM's WeightDrop; see <see cref="Layers.WeightDrop"/>); 0 = none. In [0, 1).
    /// </summary>
    public float WeightDrop { get; init; }

    /// <summary>What a RecurrentLayer or RecurrentCell of this cell is given as its leak: Leak, or null for another cell.</summary>
    public static Leak? LeakOf(CellKind cell, Leak leak) => cell == CellKind.Leaky ? leak : null;

    /// <summary>
    /// The PyTorch submodule name of the recurrent layer: "lstm." as in tests/fixtures/reference/make_reference.py's charlm (nn.LSTM assigned to
    /// self.lstm), "gru." for nn.GRU, "rnn." for nn.RNN (tanh or relu) and the leaky RNN (with α = 1 fixed, nn.RNN itself).
    /// </summary>
    public string RecurrentPrefix => ModulePrefix(Cell);

    /// <summary>The PyTorch submodule name of a recurrent layer of this cell, as every model names it: "lstm.", "gru.", "rnn.".</summary>
    public static string ModulePrefix(CellKind cell) => cell switch { CellKind.Lstm => "lstm.", CellKind.Gru => "gru.", _ => "rnn." };

    /// <summary>Throws a one-line ArgumentException for a size that cannot make a model.</summary>
    public void Validate()
    {
        if (EmbeddingSize < 0) throw new ArgumentException($"embedding size must be ≥ 0 (0 = one-hot), got {EmbeddingSize}");
        if (HiddenSize < 1) throw new ArgumentException($"hidden size must be ≥ 1, got {HiddenSize}");
        if (NumLayers < 1) throw new ArgumentException($"number of layers must be ≥ 1, got {NumLayers}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"dropout must be in [0, 1), got {Dropout}");
        if (!(WeightDrop >= 0 && WeightDrop < 1)) throw new ArgumentException($"weight drop must be in [0, 1), got {WeightDrop}");
        Leak.Validate("leak");
    }

    /// <summary>The command line's and config.json's cell names, as <see cref="ParseCell"/> reads them.</summary>
    public static readonly string[] CellNames = ["lstm", "gru", "rnn", "rnn-relu", "leaky"];

    /// <summary>The name of a cell in <see cref="CellNames"/>; throws <see cref="ArgumentOutOfRangeException"/> for an undefined kind.</summary>
    public static string CellName(CellKind cell) => cell switch
    {
        CellKind.Lstm => "lstm", CellKind.Gru => "gru", CellKind.RnnTanh => "rnn", CellKind.RnnRelu => "rnn-relu", CellKind.Leaky => "leaky",
        _ => throw new ArgumentOutOfRangeException(nameof(cell)),
    };

    /// <summary>The cell named "lstm", "gru", "rnn" (or "rnn-tanh"), "rnn-relu" or "leaky"; throws <see cref="ArgumentException"/> for another name.</summary>
    public static CellKind ParseCell(string name) => name switch
    {
        "lstm" => CellKind.Lstm, "gru" => CellKind.Gru, "rnn" or "rnn-tanh" => CellKind.RnnTanh, "rnn-relu" => CellKind.RnnRelu, "leaky" => CellKind.Leaky,
        _ => throw new ArgumentException($"unknown cell '{name}' (cells: {string.Join(", ", CellNames)})"),
    };

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteString("cell", CellName(Cell));
        w.WriteNumber("vocab_size", VocabSize);
        w.WriteNumber("embedding_size", EmbeddingSize);
        w.WriteNumber("hidden_size", HiddenSize);
        w.WriteNumber("num_layers", NumLayers);
        w.WriteNumber("dropout", Dropout);
        w.WriteBoolean("residual", Residual);
        w.WriteNumber("weight_drop", WeightDrop);
        w.WriteString("vocabulary", Vocabulary.AsString());
        if (Cell == CellKind.Leaky)
        {
            w.WriteNumber("leak", Leak.Alpha);
            w.WriteBoolean("leak_learned", Leak.Learned);
        }
    }

    internal static CharLanguageModelConfig ReadJson(JsonFields f)
    {
        CellKind cell;
        try { cell = ParseCell(f.String("cell")); }
        catch (ArgumentException e) { throw new InvalidDataException($"{f.Where}: {e.Message}"); }
        Vocabulary vocabulary;
        try { vocabulary = Vocabulary.Parse(f.String("vocabulary")); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{f.Where}: {e.Message}"); }
        int vocabSize = f.Int("vocab_size", 1);
        if (vocabSize != vocabulary.Count)
            throw new InvalidDataException($"{f.Where}: \"vocab_size\" is {vocabSize} but \"vocabulary\" has {vocabulary.Count} characters");
        var config = new CharLanguageModelConfig(cell, vocabulary, f.Int("embedding_size", 0), f.Int("hidden_size", 1),
            f.Int("num_layers", 1), (float)f.Double("dropout", 0, 0.999999), f.Has("residual") && f.Bool("residual"))
        {
            WeightDrop = f.Has("weight_drop") ? (float)f.Double("weight_drop", 0, 0.999999) : 0,
        };
        if (cell == CellKind.Leaky)
        {
            var leak = new Leak((float)f.Double("leak", 0, 1), f.Bool("leak_learned"));
            try { leak.Validate("leak"); }
            catch (ArgumentException e) { throw new InvalidDataException($"{f.Where}: {e.Message}"); }
            config = config with { Leak = leak };
        }
        return config;
    }
}
