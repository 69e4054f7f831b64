using Recurrent.Data;
using Recurrent.Tensors;

namespace Recurrent.Layers;

/// <summary>
/// Word dropout (Iyyer et al. 2015; Kiperwasser &amp; Goldberg 2016): while training, each real word id is replaced by
/// &lt;unk&gt; with probability p, so the &lt;unk&gt; vector learns to stand for words the model has not seen and the
/// model leans less on any single word. Padding stays padding. Draws one number per real token, in order, from the
/// model's Rng (so a resumed run draws the same).
/// </summary>
public sealed class WordDropout(float p, Rng rng)
{
    /// <summary>Words are dropped only while training; otherwise the tokens pass through unchanged.</summary>
    public bool Training { get; set; } = true;
    private int[] _dropped = []; // grows to the most tokens seen

    /// <summary>
    /// The ids to read: <paramref name="tokens"/> itself when off, else a copy (the first tokens.Length ids of the
    /// layer's buffer, overwritten by the next call) with words dropped.
    /// </summary>
    public ReadOnlySpan<int> Apply(int[] tokens)
    {
        if (!Training || p == 0) return tokens;
        if (_dropped.Length < tokens.Length) _dropped = new int[tokens.Length];
        var dropped = _dropped.AsSpan(0, tokens.Length);
        for (int i = 0; i < tokens.Length; i++)
        {
            int id = tokens[i];
            dropped[i] = id != WordVocabulary.PadId && rng.NextFloat() < p ? WordVocabulary.UnknownId : id;
        }
        return dropped;
    }
}
