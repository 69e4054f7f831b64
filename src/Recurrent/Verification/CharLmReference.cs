using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Tensors;

namespace Recurrent.Verification;

/// <summary>
/// The char-LM case (mode charlm_lstm): Embedding(V, E) → LSTM(E, H, num_layers, batch_first) → Linear(H, V), zero
/// initial state, loss = mean cross-entropy over all B·T positions. B = batch, T = time, V = vocab_size,
/// E = embedding_dim, H = hidden_size. Stored: tokens and targets [B, T] (I64), the weights under PyTorch's names
/// "embedding.weight", "lstm.weight_ih_l0", ..., "head.weight", "head.bias".
/// </summary>
internal static class CharLmReference
{
    /// <summary>The three submodules seen as one, with PyTorch's prefixed names.</summary>
    private sealed class CharLm(Embedding embedding, RecurrentLayer lstm, Linear head) : IModule
    {
        public IEnumerable<Parameter> Parameters() =>
            embedding.Prefixed("embedding.").Concat(lstm.Prefixed("lstm.")).Concat(head.Prefixed("head."));
    }

    public static IReadOnlyDictionary<string, Tensor> Run(ReferenceCase c)
    {
        SafeTensorsFile file = c.File;
        int vocab = c.PositiveInt("vocab_size"), dim = c.PositiveInt("embedding_dim");
        int hidden = c.PositiveInt("hidden_size"), layers = c.PositiveInt("num_layers");
        // The file's weights replace the initial ones: an Rng of their own leaves the process-wide one's stream alone.
        var init = new Rng(0);
        var embedding = new Embedding(vocab, dim, init);
        var lstm = new RecurrentLayer(CellKind.Lstm, dim, hidden, layers, batchFirst: true, rng: init);
        var head = new Linear(hidden, vocab, rng: init);
        var model = new CharLm(embedding, lstm, head);
        StateDict.Load(file, model, strict: false);

        int[] shape = c.ShapeOfRank("tokens", 2, "[B, T]");
        int batch = shape[0], steps = shape[1];
        if (!file.Shape("targets").AsSpan().SequenceEqual(shape))
            throw c.Bad($"tensor 'targets' has shape {Tensor.Describe(file.Shape("targets"))}, expected {Tensor.Describe(shape)} like 'tokens'");
        int[] tokens = file.Indices("tokens"), targets = file.Indices("targets");
        foreach (int[] ids in (int[][])[tokens, targets])
            foreach (int id in ids)
                if (id < 0 || id >= vocab)
                    throw c.Bad($"token id {id} is outside the vocabulary 0..{vocab - 1}");

        // Forward: tokens [B, T] → (x [B, T, E] →) y [B, T, H] → logits [B, T, V], seen as [B·T, V] by the loss.
        Tensor y = lstm.Forward(embedding, tokens, [batch, steps]).Output;
        Tensor logits = head.Forward(y);
        var loss = new SoftmaxCrossEntropy();
        float meanLoss = loss.Forward(new Tensor(logits.Data, batch * steps, vocab), targets);
        var actual = new Dictionary<string, Tensor>
        {
            ["expected.logits"] = logits,
            ["expected.loss"] = new Tensor([meanLoss], 1),
        };

        model.ZeroGrad();
        Tensor dLogits = loss.Backward();
        Tensor dy = head.Backward(new Tensor(dLogits.Data, batch, steps, vocab));
        lstm.Backward(dy); // the embedding's gradient included
        foreach (Parameter p in model.Parameters()) actual["grad." + p.Name] = p.Grad;
        return actual;
    }
}
