using Recurrent.Data;
using Recurrent.Distributed;
using Recurrent.Layers;
using Recurrent.Metrics;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Tasks;

/// <summary>BLEU over the sources whose length falls in [Min, Max] words.</summary>
public sealed record LengthBucket(string Name, int Min, int Max, int Sources, BleuScore Bleu);

/// <summary>What a translation model's evaluation reports: the teacher-forced loss (nats per target token, &lt;/s&gt;
/// included), corpus BLEU of the decoded sources against all their references, BLEU by source length, and the outputs
/// (one per distinct source, in <see cref="TranslationData.Groups"/> order).</summary>
public sealed record TranslationReport(double Loss, BleuScore Bleu, IReadOnlyList<LengthBucket> ByLength, Translation[] Outputs);

/// <summary>The translate task: a <see cref="Seq2SeqModel"/> trained on sentence pairs, scored by dev BLEU.</summary>
public sealed class TranslateTask(Seq2SeqModel model, TranslationData train, TranslationData? dev, int batch) : IWordTask
{
    /// <summary>The selection metric's name in log.jsonl and --json: dev BLEU.</summary>
    public const string Metric = "dev_bleu";

    /// <summary>The source length buckets BLEU is broken down by (the lecture's point: without attention, long
    /// sentences suffer). A source's length is its words: tokens with a letter or a digit, punctuation left out.</summary>
    public static readonly (string Name, int Min, int Max)[] Buckets = [("1-3", 1, 3), ("4-6", 4, 6), ("7+", 7, int.MaxValue)];

    /// <inheritdoc/>
    public ITaskModel Model => model;
    /// <inheritdoc/>
    public IEnumerable<Parameter> TrainableParameters() => model.Parameters();
    /// <inheritdoc/>
    public int[] TrainLengths => train.SourceLengths;
    /// <inheritdoc/>
    public bool HasDev => dev != null;

    /// <inheritdoc/>
    public (float Loss, long Tokens) TrainOn(int[] examples)
    {
        var b = Pairs(train, examples);
        float loss = model.Forward(b.Source, b.SourceLengths, b.SourceSteps, b.TargetIn, b.TargetOut, b.TargetSteps);
        model.Backward();
        return (loss, model.LossTokens);
    }

    /// <summary>The mean loss is per target token, &lt;/s&gt; included.</summary>
    public long LossTerms(int[] examples) => examples.Sum(e => train.Targets[e].Length + 1L);

    /// <inheritdoc/>
    public ValidationResult Evaluate(ICollective group)
    {
        var report = Evaluate(model, dev!, model.Config.Beam, batch, group);
        return new ValidationResult(report.Loss, Metric, report.Bleu.Bleu);
    }

    /// <summary>The model (in evaluation mode) on <paramref name="data"/>: loss over every pair, and BLEU of the
    /// translations of its distinct sources (beam 1 = greedy). With <paramref name="group"/>, each rank translates its
    /// share of the sources and the sums are reduced; the outputs are then this rank's share only (null elsewhere).</summary>
    public static TranslationReport Evaluate(Seq2SeqModel model, TranslationData data, int beam, int batch, ICollective? group = null)
    {
        group ??= SingleProcess.Instance;
        bool wasTraining = model.Training;
        model.Training = false;
        double lossSum = 0;
        long tokens = 0;
        try
        {
            foreach (int[] examples in group.Mine(BucketedBatches.Sequential(data.SourceLengths, batch)))
            {
                var b = Pairs(data, examples);
                model.Forward(b.Source, b.SourceLengths, b.SourceSteps, b.TargetIn, b.TargetOut, b.TargetSteps);
                lossSum += model.LossSum;
                tokens += model.LossTokens;
            }
        }
        finally { model.Training = wasTraining; }

        int[] mine = group.Mine(Enumerable.Range(0, data.Groups.Count)).ToArray();
        var decoded = new Seq2SeqDecoder(model).Decode(group.Size == 1 ? data.GroupSources : [.. mine.Select(g => data.GroupSources[g])], beam, batch);
        var outputs = new Translation[data.Groups.Count];
        for (int j = 0; j < mine.Length; j++) outputs[mine[j]] = decoded[j];
        var all = new BleuStatistics();
        var buckets = Buckets.Select(_ => new BleuStatistics()).ToArray();
        var counts = new long[Buckets.Length];
        var words = model.Config.TargetVocabulary.Words;
        foreach (int g in mine)
        {
            var hypothesis = outputs[g].Words.Select(id => words[id]).ToArray();
            var source = data.Groups[g];
            all.Add(hypothesis, source.References);
            int length = Math.Max(1, WordCount(source.Source)); // a source of punctuation only counts as one word
            for (int k = 0; k < Buckets.Length; k++)
                if (length >= Buckets[k].Min && length <= Buckets[k].Max)
                {
                    buckets[k].Add(hypothesis, source.References);
                    counts[k]++;
                }
        }
        all.SumOver(group);
        foreach (var bucket in buckets) bucket.SumOver(group);
        group.Sum(counts);
        if (group.Size > 1) (lossSum, tokens) = (group.Sum(lossSum)[0], (long)group.Sum(tokens)[0]);
        var byLength = Buckets.Select((bucket, k) => new LengthBucket(bucket.Name, bucket.Min, bucket.Max, (int)counts[k], buckets[k].Score())).ToArray();
        return new TranslationReport(tokens == 0 ? 0 : lossSum / tokens, all.Score(), byLength, outputs);
    }

    /// <summary>Tokens with a letter or a digit: a sentence's length in words.</summary>
    public static int WordCount(IEnumerable<string> tokens) => tokens.Count(t => t.Any(char.IsLetterOrDigit));

    /// <summary>The chosen pairs as the model reads them: sources [S, B] time-major with their lengths, the decoder's
    /// inputs (&lt;s&gt; y …) and outputs (y … &lt;/s&gt;) [T, B] with &lt;pad&gt; after each target.</summary>
    internal static (int[] Source, int[] SourceLengths, int SourceSteps, int[] TargetIn, int[] TargetOut, int TargetSteps)
        Pairs(TranslationData data, int[] examples)
    {
        var (source, lengths, S) = PaddedBatch.Pad(data.Sources, examples);
        var (targetIn, targetOut, _, T) = PaddedBatch.Shifted(data.Targets, examples);
        return (source, lengths, S, targetIn, targetOut, T);
    }
}
