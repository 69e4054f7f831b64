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
    public WordModelConfig Config { get; }
    public Embedding Embedding { get; }
    /// <summary>Initializes the parameters, then draws every dropout mask (its state is <see cref="DropoutRngState"/>).</summary>
    protected Rng DropoutRng { get; }
    private Parameter[] _parameters = [];

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

    public string Task => Config.Task;
    public IEnumerable<Parameter> Parameters() => _parameters;
    /// <summary>What the optimizer updates: all but the word embedding when it is frozen.</summary>
    public IEnumerable<Parameter> TrainableParameters() =>
        Config.FreezeEmbeddings ? _parameters.Where(p => p.Value != Embedding.Weight.Value) : _parameters;
    public void WriteConfig(Utf8JsonWriter writer) => Config.WriteJson(writer);
    public uint[] DropoutRngState { get => DropoutRng.State; set => DropoutRng.State = value; }
    public abstract bool Training { get; set; }
}
