using System.Globalization;
using Recurrent.IO;
using Recurrent.Tensors;

namespace Recurrent.Verification;

/// <summary>The outcome of one reference file: every expected.* and grad.* tensor compared, in file order.</summary>
public sealed record ReferenceResult(string Path, string Name, string Mode, IReadOnlyList<TensorComparison> Tensors)
{
    /// <summary>True when there was something to compare and every tensor is within tolerance.</summary>
    public bool Passed => Tensors.Count > 0 && Tensors.All(t => t.Passed);
    /// <summary>The comparison that used the largest share of its tolerance (a failing one if any fails).</summary>
    public TensorComparison Worst => Tensors.MaxBy(t => t.WorstRatio)!;
}

/// <summary>
/// One PyTorch reference file (format: tests/fixtures/reference/README.md): rebuilds the model its metadata
/// describes, loads the weights by their PyTorch names, runs forward and backward on the stored inputs with the stored
/// loss, and compares every <c>expected.*</c> and <c>grad.*</c> tensor elementwise (<see cref="TensorComparison"/>).
/// Modes: rnn_tanh, rnn_relu, lstm, gru (one RecurrentLayer, optionally with a <c>lengths</c> tensor) and
/// charlm_lstm (Embedding → 2-layer LSTM → Linear → mean cross-entropy).
/// </summary>
public sealed class ReferenceCase
{
    /// <summary>The mode of the character language model case: Embedding → 2-layer LSTM → Linear → mean cross-entropy.</summary>
    public const string CharLmMode = "charlm_lstm";
    private static readonly string[] Modes = ["rnn_tanh", "rnn_relu", "lstm", "gru", CharLmMode];

    /// <summary>The reference file: inputs, weights, expected outputs and gradients, and the metadata describing the model.</summary>
    public SafeTensorsFile File { get; }
    /// <summary>The file name without ".safetensors", e.g. "lstm_l2_bi".</summary>
    public string Name { get; }
    /// <summary>The metadata's "mode": rnn_tanh, rnn_relu, lstm, gru or <see cref="CharLmMode"/>.</summary>
    public string Mode { get; }

    /// <summary>A case over an opened file; throws <see cref="InvalidDataException"/> when its metadata has no known mode.</summary>
    public ReferenceCase(SafeTensorsFile file)
    {
        File = file;
        Name = System.IO.Path.GetFileNameWithoutExtension(file.Path);
        Mode = Meta("mode");
        if (!Modes.Contains(Mode))
            throw Bad($"metadata 'mode' is '{Mode}', expected one of {string.Join(", ", Modes)}");
    }

    /// <summary>Reads the file at <paramref name="path"/> and opens it as a case (see the constructor for what it throws).</summary>
    public static ReferenceCase Read(string path) => new(SafeTensorsFile.Read(path));

    /// <summary>Runs the case and compares. Errors in the file (missing tensors, bad metadata) throw InvalidDataException.</summary>
    public ReferenceResult Run()
    {
        IReadOnlyDictionary<string, Tensor> actual = Mode == CharLmMode ? CharLmReference.Run(this) : LayerReference.Run(this);
        var comparisons = new List<TensorComparison>();
        foreach (string name in File.Names.Where(IsChecked))
        {
            Tensor expected = File.Float(name);
            comparisons.Add(actual.TryGetValue(name, out Tensor? a)
                ? TensorComparison.Compare(name, a, expected)
                : TensorComparison.Missing(name, expected.Shape.ToArray(), $"the {Mode} case computes no '{name}'"));
        }
        // A reference that leaves out an output or gradient would pass without checking it: that is a failure too.
        foreach (var (name, a) in actual)
            if (!File.Contains(name))
                comparisons.Add(TensorComparison.Missing(name, a.Shape.ToArray(), "not in the reference file"));
        if (comparisons.Count == 0) throw Bad("no expected.* or grad.* tensors to compare");
        return new ReferenceResult(File.Path, Name, Mode, comparisons);
    }

    private static bool IsChecked(string name) =>
        name.StartsWith("expected.", StringComparison.Ordinal) || name.StartsWith("grad.", StringComparison.Ordinal);

    internal string Meta(string key) =>
        File.Metadata.TryGetValue(key, out string? value) ? value : throw Bad($"metadata has no '{key}'");

    internal int PositiveInt(string key)
    {
        string s = Meta(key);
        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v <= 0)
            throw Bad($"metadata '{key}' is '{s}', expected a positive integer");
        return v;
    }

    internal bool Bool(string key) => Meta(key) switch
    {
        "true" or "True" => true,
        "false" or "False" => false,
        string s => throw Bad($"metadata '{key}' is '{s}', expected true or false"),
    };

    /// <summary>The shape of <paramref name="name"/>, required to have <paramref name="rank"/> dimensions.</summary>
    internal int[] ShapeOfRank(string name, int rank, string meaning)
    {
        int[] shape = File.Shape(name);
        if (shape.Length != rank) throw Bad($"tensor '{name}' has shape {Tensor.Describe(shape)}, expected {meaning}");
        return shape;
    }

    internal InvalidDataException Bad(string what) => new($"{File.Path}: {what}");

    /// <summary>Σ a·b in double: the loss terms (output·R).sum() and the like.</summary>
    internal static double Dot(Tensor a, Tensor b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a.Data[i] * b.Data[i];
        return sum;
    }
}
