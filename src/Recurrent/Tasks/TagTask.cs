using Recurrent.Data;
using Recurrent.Distributed;
using Recurrent.Layers;
using Recurrent.Metrics;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Tasks;

/// <summary>What a tagger's evaluation reports: mean loss (nats per token), token accuracy and (BIO tags) entity scores.</summary>
/// <param name="Bio">whether the tags are BIO, so the entity scores mean something.</param>
/// <param name="Loss">the summed loss over all sentences divided by their tokens (nats per token).</param>
/// <param name="Metrics">token accuracy and entity precision, recall and F1.</param>
public sealed record TaggingReport(double Loss, EntityMetrics Metrics, bool Bio);

/// <summary>
/// The tag task: a <see cref="SequenceTagger"/> trained on CoNLL sentences, selected by entity F1 (BIO tags) or token
/// accuracy (other tag sets, such as part of speech).
/// </summary>
public sealed class TagTask(SequenceTagger model, TaggingData train, TaggingData? dev, int batch) : IWordTask
{
    /// <inheritdoc/>
    public ITaskModel Model => model;
    /// <inheritdoc/>
    public IEnumerable<Parameter> TrainableParameters() => model.TrainableParameters();
    /// <inheritdoc/>
    public int[] TrainLengths => train.Lengths;
    /// <inheritdoc/>
    public bool HasDev => dev != null;
    /// <summary>The selection metric's name: "dev_f1" (entity F1) for BIO tags, else "dev_token_accuracy".</summary>
    public static string MetricName(bool bio) => bio ? "dev_f1" : "dev_token_accuracy";

    /// <inheritdoc/>
    public (float Loss, long Tokens) TrainOn(int[] examples)
    {
        var (tokens, lengths, steps) = PaddedBatch.Pad(train.Tokens, examples);
        model.Forward(tokens, Characters(train.Characters, examples, steps), lengths, steps, examples.Length);
        float loss = model.Loss(PaddedBatch.Pad(train.Tags, examples).Tokens);
        model.Backward();
        return (loss, lengths.Sum());
    }

    /// <summary>The mean loss is per real token.</summary>
    public long LossTerms(int[] examples) => examples.Sum(e => (long)train.Lengths[e]);

    /// <inheritdoc/>
    public ValidationResult Evaluate(ICollective group)
    {
        var report = Evaluate(model, dev!, batch, group);
        return new ValidationResult(report.Loss, MetricName(report.Bio), report.Bio ? report.Metrics.F1 : report.Metrics.TokenAccuracy);
    }

    /// <summary>The model (in evaluation mode) on every sentence of <paramref name="data"/> (with
    /// <paramref name="group"/>, each rank scores its share of the sentences and the counts are reduced).</summary>
    public static TaggingReport Evaluate(SequenceTagger model, TaggingData data, int batch, ICollective? group = null)
    {
        group ??= SingleProcess.Instance;
        var labels = model.Config.Labels;
        var metrics = new EntityMetrics();
        int[] mine = group.Mine(Enumerable.Range(0, data.Tokens.Length)).ToArray();
        var (predicted, lossSum) = group.Size == 1
            ? Decode(model, data.Tokens, data.Characters, batch, data.Tags)
            : Decode(model, ClassifyTask.Gather(data.Tokens, mine), data.Characters == null ? null : ClassifyTask.Gather(data.Characters, mine),
                batch, ClassifyTask.Gather(data.Tags, mine));
        for (int j = 0; j < mine.Length; j++)
            metrics.Add(data.Sentences[mine[j]].Tags, predicted[j].Select(labels.Name).ToArray());
        metrics.SumOver(group, EntityMetrics.TypesOf(labels.Names));
        if (group.Size > 1) lossSum = group.Sum(lossSum)[0];
        return new TaggingReport(lossSum / data.Lengths.Sum(l => (long)l), metrics, EntityMetrics.IsBio(labels.Names));
    }

    /// <summary>The predicted tag ids of each sentence, in input order.</summary>
    public static int[][] Predict(SequenceTagger model, int[][] sentences, int[][][]? characters, int batch) =>
        Decode(model, sentences, characters, batch, gold: null).Tags;

    /// <summary>The predicted tags of each sentence, and with gold tags the summed loss against them.</summary>
    private static (int[][] Tags, double LossSum) Decode(SequenceTagger model, int[][] sentences, int[][][]? characters,
        int batch, int[][]? gold)
    {
        var result = new int[sentences.Length][];
        double lossSum = 0;
        var lengthsAll = sentences.Select(s => s.Length).ToArray();
        foreach (int[] examples in BucketedBatches.Sequential(lengthsAll, batch))
        {
            var (tokens, lengths, steps) = PaddedBatch.Pad(sentences, examples);
            model.Forward(tokens, Characters(characters, examples, steps), lengths, steps, examples.Length);
            if (gold != null)
            {
                model.Loss(PaddedBatch.Pad(gold, examples).Tokens);
                lossSum += model.LossSum;
            }
            var paths = new int[steps * examples.Length];
            model.Predict(paths);
            for (int b = 0; b < examples.Length; b++)
            {
                var tags = new int[lengths[b]];
                for (int t = 0; t < tags.Length; t++) tags[t] = paths[t * examples.Length + b];
                result[examples[b]] = tags;
            }
        }
        return (result, lossSum);
    }

    private static readonly int[] PadWord = [WordVocabulary.PadId];

    /// <summary>The character ids of the word at each of the T·B positions (time-major), a one-character pad word at padding.</summary>
    private static int[][]? Characters(int[][][]? characters, int[] examples, int steps)
    {
        if (characters == null) return null;
        var words = new int[steps * examples.Length][];
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < examples.Length; b++)
            {
                var sentence = characters[examples[b]];
                words[t * examples.Length + b] = t < sentence.Length ? sentence[t] : PadWord;
            }
        return words;
    }
}
