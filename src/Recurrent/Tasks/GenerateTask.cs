using Recurrent.Data;
using Recurrent.Distributed;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Tasks;

/// <summary>A `condition&lt;TAB&gt;text` file encoded for a generator: each text's word ids and its condition (a label id
/// or a vector). A label the model does not know, or a vector of another size, is an error naming the file and line.</summary>
public sealed class GenerationData
{
    /// <summary>Each text's word ids (unknown words as &lt;unk&gt;), without &lt;s&gt; and &lt;/s&gt;.</summary>
    public int[][] Texts { get; }
    /// <summary>Label ids (label conditions), else null.</summary>
    public int[]? Labels { get; }
    /// <summary>Vectors (vector conditions), else null.</summary>
    public float[][]? Vectors { get; }
    /// <summary>Each text's length in words (for bucketing).</summary>
    public int[] Lengths { get; }

    private GenerationData(string path, ConditionedCorpus corpus, GeneratorConfig config)
    {
        var lines = corpus.Lines;
        if (config.Labels != null && corpus.IsVector)
            throw new InvalidDataException($"{path}:{lines[0].Line}: the model is conditioned on labels, this file has vectors");
        if (config.Labels == null && (!corpus.IsVector || corpus.VectorSize != config.VectorSize))
            throw new InvalidDataException($"{path}:{lines[0].Line}: the model is conditioned on vectors of {config.VectorSize} values, " +
                (corpus.IsVector ? $"this file's have {corpus.VectorSize}" : "this file has labels"));
        Texts = lines.Select(l => config.Vocabulary.Encode(l.Words)).ToArray();
        if (config.Labels is { } labels)
        {
            Labels = new int[lines.Count];
            for (int i = 0; i < lines.Count; i++)
                if ((Labels[i] = labels.Id(lines[i].Label!)) < 0)
                    throw new InvalidDataException($"{path}:{lines[i].Line}: condition '{lines[i].Label}' is not one the model knows ({string.Join(", ", labels.Names)})");
        }
        else Vectors = lines.Select(l => l.Vector!).ToArray();
        Lengths = Texts.Select(t => t.Length).ToArray();
    }

    /// <summary>Reads and encodes <paramref name="path"/>; throws <see cref="InvalidDataException"/> "FILE:LINE: …" for a malformed line, an unknown label or a vector of another size.</summary>
    public static GenerationData Load(string path, GeneratorConfig config) => new(path, ConditionedText.Read(path), config);
    /// <summary>A corpus already read (the training file, read once to build the vocabulary); <paramref name="path"/> names it in errors.</summary>
    public static GenerationData FromCorpus(string path, ConditionedCorpus corpus, GeneratorConfig config) => new(path, corpus, config);
}

/// <summary>The generate task: a <see cref="ConditionedGenerator"/> trained on conditioned texts; the best model is the
/// one with the lowest dev loss (nats per word, &lt;/s&gt; included).</summary>
public sealed class GenerateTask(ConditionedGenerator model, GenerationData train, GenerationData? dev, int batch) : IWordTask
{
    /// <inheritdoc/>
    public ITaskModel Model => model;
    /// <inheritdoc/>
    public IEnumerable<Parameter> TrainableParameters() => model.Parameters();
    /// <inheritdoc/>
    public int[] TrainLengths => train.Lengths;
    /// <inheritdoc/>
    public bool HasDev => dev != null;

    /// <inheritdoc/>
    public (float Loss, long Tokens) TrainOn(int[] examples)
    {
        float loss = Forward(model, train, examples);
        model.Backward();
        return (loss, model.LossTokens);
    }

    /// <summary>The mean loss is per word, &lt;/s&gt; included.</summary>
    public long LossTerms(int[] examples) => examples.Sum(e => train.Texts[e].Length + 1L);

    /// <inheritdoc/>
    public ValidationResult Evaluate(ICollective group) => new(Evaluate(model, dev!, batch, group));

    /// <summary>The mean loss per token of the model (evaluation mode) over every text of <paramref name="data"/>
    /// (with <paramref name="group"/>, each rank scores its share of the batches and the sums are reduced).</summary>
    public static double Evaluate(ConditionedGenerator model, GenerationData data, int batch, ICollective? group = null)
    {
        group ??= SingleProcess.Instance;
        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            double sum = 0;
            long tokens = 0;
            foreach (int[] examples in group.Mine(BucketedBatches.Sequential(data.Lengths, batch)))
            {
                Forward(model, data, examples);
                sum += model.LossSum;
                tokens += model.LossTokens;
            }
            if (group.Size > 1) (sum, tokens) = (group.Sum(sum)[0], (long)group.Sum(tokens)[0]);
            return tokens == 0 ? 0 : sum / tokens;
        }
        finally { model.Training = wasTraining; }
    }

    private static float Forward(ConditionedGenerator model, GenerationData data, int[] examples)
    {
        var (inputs, targets, lengths, steps) = PaddedBatch.Shifted(data.Texts, examples);
        var labels = data.Labels == null ? null : ClassifyTask.Gather(data.Labels, examples);
        var vectors = data.Vectors == null ? null : examples.SelectMany(e => data.Vectors[e]).ToArray();
        return model.Forward(labels, vectors, inputs, targets, lengths, steps);
    }
}
