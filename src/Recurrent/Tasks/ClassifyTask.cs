using Recurrent.Data;
using Recurrent.Distributed;
using Recurrent.Layers;
using Recurrent.Metrics;
using Recurrent.Models;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Tasks;

/// <summary>What a classifier's evaluation reports: mean loss (nats per sentence), and accuracy, macro-F1, confusion.</summary>
public sealed record ClassificationReport(double Loss, ClassificationMetrics Metrics);

/// <summary>The classify task: a <see cref="SequenceClassifier"/> trained on labelled sentences, scored by accuracy.</summary>
public sealed class ClassifyTask(SequenceClassifier model, ClassificationData train, ClassificationData? dev, int batch) : IWordTask
{
    /// <summary>The selection metric's name in log.jsonl and --json: dev accuracy.</summary>
    public const string Metric = "dev_accuracy";

    /// <inheritdoc/>
    public ITaskModel Model => model;
    /// <inheritdoc/>
    public IEnumerable<Parameter> TrainableParameters() => model.TrainableParameters();
    /// <inheritdoc/>
    public int[] TrainLengths => train.Lengths;
    /// <inheritdoc/>
    public bool HasDev => dev != null;

    /// <inheritdoc/>
    public (float Loss, long Tokens) TrainOn(int[] examples)
    {
        var (tokens, lengths, steps) = PaddedBatch.Pad(train.Tokens, examples);
        model.Forward(tokens, lengths, steps, examples.Length);
        float loss = model.Loss(Gather(train.Labels, examples));
        model.Backward();
        return (loss, lengths.Sum());
    }

    /// <summary>The mean loss is per sentence.</summary>
    public long LossTerms(int[] examples) => examples.Length;

    /// <inheritdoc/>
    public ValidationResult Evaluate(ICollective group)
    {
        var report = Evaluate(model, dev!, batch, group);
        return new ValidationResult(report.Loss, Metric, report.Metrics.Accuracy);
    }

    /// <summary>The model (in evaluation mode) on every sentence of <paramref name="data"/>, in batches of similar
    /// length (with <paramref name="group"/>, each rank scores its share of the batches and the sums are reduced).</summary>
    public static ClassificationReport Evaluate(SequenceClassifier model, ClassificationData data, int batch, ICollective? group = null)
    {
        group ??= SingleProcess.Instance;
        int C = model.Config.Labels.Count;
        var metrics = new ClassificationMetrics(C);
        double lossSum = 0;
        foreach (int[] examples in group.Mine(BucketedBatches.Sequential(data.Lengths, batch)))
        {
            var (tokens, lengths, steps) = PaddedBatch.Pad(data.Tokens, examples);
            var logits = model.Forward(tokens, lengths, steps, examples.Length);
            model.Loss(Gather(data.Labels, examples));
            lossSum += model.LossSum;
            for (int b = 0; b < examples.Length; b++)
                metrics.Add(data.Labels[examples[b]], Kernels.ArgMax(logits.Span.Slice(b * C, C)));
        }
        metrics.SumOver(group);
        if (group.Size > 1) lossSum = group.Sum(lossSum)[0];
        return new ClassificationReport(lossSum / data.Tokens.Length, metrics);
    }

    /// <summary>The likeliest label and its probability for each sentence, in input order.</summary>
    public static (int Label, float Probability)[] Predict(SequenceClassifier model, int[][] sentences, int batch)
    {
        var result = new (int, float)[sentences.Length];
        int C = model.Config.Labels.Count;
        var probabilities = new float[C];
        var lengthsAll = sentences.Select(s => s.Length).ToArray();
        foreach (int[] examples in BucketedBatches.Sequential(lengthsAll, batch))
        {
            var (tokens, lengths, steps) = PaddedBatch.Pad(sentences, examples);
            var logits = model.Forward(tokens, lengths, steps, examples.Length);
            for (int b = 0; b < examples.Length; b++)
            {
                Kernels.SoftmaxRow(logits.Span.Slice(b * C, C), probabilities);
                int best = Kernels.ArgMax(probabilities);
                result[examples[b]] = (best, probabilities[best]);
            }
        }
        return result;
    }

    /// <summary>values[indices[i]] for each i: a batch's labels, or one rank's share of a data set's sentences.</summary>
    internal static T[] Gather<T>(T[] values, int[] indices)
    {
        var result = new T[indices.Length];
        for (int i = 0; i < indices.Length; i++) result[i] = values[indices[i]];
        return result;
    }
}
