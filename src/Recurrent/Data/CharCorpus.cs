namespace Recurrent.Data;

/// <summary>
/// A text as character ids, split as char-rnn does: the first part trains, the last <c>valFraction</c> of the text
/// validates (contiguous, so validation text is text the model has never seen).
/// </summary>
public sealed class CharCorpus
{
    public string Source { get; }
    public Vocabulary Vocabulary { get; }
    /// <summary>The whole text: [N] ids.</summary>
    public int[] Tokens { get; }
    public int TrainLength { get; }
    public ReadOnlyMemory<int> Train => Tokens.AsMemory(0, TrainLength);
    public ReadOnlyMemory<int> Validation => Tokens.AsMemory(TrainLength);

    private CharCorpus(string source, Vocabulary vocabulary, int[] tokens, int trainLength)
    {
        Source = source; Vocabulary = vocabulary; Tokens = tokens; TrainLength = trainLength;
    }

    /// <summary>
    /// Reads <paramref name="path"/> strictly (see <see cref="Utf8Text"/>) and splits it. The vocabulary is the text's own
    /// characters unless one is given (a resumed model keeps its vocabulary; a character outside it is an error).
    /// </summary>
    public static CharCorpus Load(string path, double valFraction, Vocabulary? vocabulary = null)
    {
        string text = Utf8Text.ReadFile(path);
        return FromText(text, valFraction, $"'{path}'", vocabulary);
    }

    public static CharCorpus FromText(string text, double valFraction, string source, Vocabulary? vocabulary = null)
    {
        if (!(valFraction >= 0 && valFraction < 1))
            throw new ArgumentException($"the validation fraction must be in [0, 1) (got {valFraction})");
        vocabulary ??= Vocabulary.FromText(text);
        int[] tokens = vocabulary.Encode(text, source);
        int valLength = (int)Math.Round(tokens.Length * valFraction);
        if (valFraction > 0 && valLength < 2)
            throw new InvalidDataException(
                $"{source} has {tokens.Length} characters: its last {valFraction:P0} is too short to validate on " +
                "(needs 2 characters); use a longer text or --val-fraction 0");
        return new CharCorpus(source, vocabulary, tokens, tokens.Length - valLength);
    }
}
