namespace Recurrent.Data;

/// <summary>
/// A text as character ids, split as char-rnn does: the first part trains, the last <c>valFraction</c> of the text
/// validates (contiguous, so validation text is text the model has never seen).
/// </summary>
public sealed class CharCorpus
{
    /// <summary>What the text was read from, as error messages name it (the quoted path for a file).</summary>
    public string Source { get; }
    /// <summary>The character vocabulary the tokens are ids in.</summary>
    public Vocabulary Vocabulary { get; }
    /// <summary>The whole text: [N] ids.</summary>
    public int[] Tokens { get; }
    /// <summary>Tokens in the training part: the first N − round(N·valFraction).</summary>
    public int TrainLength { get; }
    /// <summary>The training part of <see cref="Tokens"/>: its first <see cref="TrainLength"/> ids.</summary>
    public ReadOnlyMemory<int> Train => Tokens.AsMemory(0, TrainLength);
    /// <summary>The validation part of <see cref="Tokens"/>: everything after the training part (empty when valFraction is 0).</summary>
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

    /// <summary>
    /// Encodes <paramref name="text"/> and splits it as <see cref="Load"/> does; <paramref name="source"/> names it in errors.
    /// Throws <see cref="ArgumentException"/> for valFraction outside [0, 1) and <see cref="InvalidDataException"/> when the
    /// validation part would be under 2 characters or a character is not in the given vocabulary.
    /// </summary>
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
