using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Models;

/// <summary>
/// What the sentence classifier and the sequence tagger share: their configuration, the word embedding (drawn first
/// from the model's Rng, so "embedding.weight" starts the same for a seed whatever follows), the parameter list under
/// PyTorch names, and the Rng their dropout and word dropout draw from (saved by checkpoints).
/// </summary>
public abstract class WordModel : ITaskModel
{
    /// <summary>The model's task, shape and vocabularies, as config.json stores them.</summary>
    public WordModelConfig Config { get; }
    /// <summary>The word embedding, "embedding.weight" [V, E]; not trained when <see cref="WordModelConfig.FreezeEmbeddings"/>.</summary>
    public Embedding Embedding { get; }
    /// <summary>Initializes the parameters, then draws every dropout mask (its state is <see cref="DropoutRngState"/>).</summary>
    protected Rng DropoutRng { get; }
    private Parameter[] _parameters = [];

    /// <summary>
    /// Validates <paramref name="config"/> (throwing <see cref="ArgumentException"/> if it is invalid or its task is not
    /// <paramref name="task"/>) and draws the word embedding first from <paramref name="rng"/>.
    /// </summary>
    protected WordModel(WordModelConfig config, string task, Rng rng)
    {
        config.Validate();
        if (config.Task != task) throw new ArgumentException($"a {task} model needs a {task} config, got '{config.Task}'");
        Config = config;
        DropoutRng = rng;
        Embedding = new Embedding(config.Vocabulary.Count, config.EmbeddingSize, rng);
    }

    /// <summary>The model's parameters in state-dict order; called once by the constructor.</summary>
    protected void SetParameters(IEnumerable<Parameter> parameters) => _parameters = parameters.ToArray();

    /// <inheritdoc/>
    public string Task => Config.Task;
    /// <inheritdoc/>
    public IEnumerable<Parameter> Parameters() => _parameters;
    /// <summary>What the optimizer updates: all but the word embedding when it is frozen.</summary>
    public IEnumerable<Parameter> TrainableParameters() =>
        Config.FreezeEmbeddings ? _parameters.Where(p => p.Value != Embedding.Weight.Value) : _parameters;
    /// <inheritdoc/>
    public void WriteConfig(Utf8JsonWriter writer) => Config.WriteJson(writer);
    /// <inheritdoc/>
    public uint[] DropoutRngState { get => DropoutRng.State; set => DropoutRng.State = value; }
    /// <inheritdoc/>
    public abstract bool Training { get; set; }
}
