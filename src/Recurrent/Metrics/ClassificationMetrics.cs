using Recurrent.Distributed;
namespace Recurrent.Metrics;

/// <summary>
/// Accuracy, per-class precision / recall / F1 and their macro average for single-label classification with C classes,
/// accumulated one (gold, predicted) pair at a time into a confusion matrix N[gold, predicted].
///
/// For class c: tp = N[c, c], predicted_c = Σ_g N[g, c], support_c = Σ_p N[c, p];
/// precision = tp / predicted_c, recall = tp / support_c, F1 = 2·P·R / (P + R).
/// accuracy = Σ_c N[c, c] / Σ N.   macro-F1 = mean of F1_c over the classes that are present.
///
/// Undefined ratios are 0, as scikit-learn's default (zero_division) gives: precision of a class never predicted,
/// recall of a class never in gold, F1 when P + R = 0. A class is "present" when it occurs in gold or in the
/// predictions, as scikit-learn's f1_score(average="macro") with its default labels (the union of y_true and y_pred):
/// a class the data never mentions cannot be got right or wrong, so counting it as F1 = 0 would only punish the
/// label set being larger than the evaluation set. Accuracy and macro-F1 are NaN before anything is added.
/// </summary>
public sealed class ClassificationMetrics
{
    private readonly long[,] _n;

    /// <summary>An empty confusion matrix over classes 0 … classes − 1; throws <see cref="ArgumentOutOfRangeException"/> when classes &lt; 1.</summary>
    public ClassificationMetrics(int classes)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), $"need at least one class (got {classes})");
        Classes = classes;
        _n = new long[classes, classes];
    }

    /// <summary>Number of classes: the confusion matrix is [Classes, Classes].</summary>
    public int Classes { get; }

    /// <summary>Number of (gold, predicted) pairs added.</summary>
    public int Count { get; private set; }

    /// <summary>Counts one example; throws <see cref="ArgumentOutOfRangeException"/> when either class is outside [0, Classes).</summary>
    public void Add(int gold, int predicted)
    {
        if ((uint)gold >= (uint)Classes)
            throw new ArgumentOutOfRangeException(nameof(gold), $"gold class {gold} is outside [0, {Classes})");
        if ((uint)predicted >= (uint)Classes)
            throw new ArgumentOutOfRangeException(nameof(predicted), $"predicted class {predicted} is outside [0, {Classes})");
        _n[gold, predicted]++;
        Count++;
    }

    /// <summary>Sums the confusion matrix over the ranks (each scored its share of the data): every rank then holds the
    /// whole data's.</summary>
    public void SumOver(ICollective group)
    {
        if (group.Size == 1) return;
        var all = new long[Classes * Classes + 1];
        for (int g = 0; g < Classes; g++)
            for (int p = 0; p < Classes; p++) all[g * Classes + p] = _n[g, p];
        all[^1] = Count;
        group.Sum(all);
        for (int g = 0; g < Classes; g++)
            for (int p = 0; p < Classes; p++) _n[g, p] = all[g * Classes + p];
        Count = (int)all[^1];
    }

    /// <summary>Fraction of examples whose predicted class is the gold one; NaN before any is added.</summary>
    public double Accuracy
    {
        get
        {
            if (Count == 0) return double.NaN;
            long correct = 0;
            for (int c = 0; c < Classes; c++) correct += _n[c, c];
            return (double)correct / Count;
        }
    }

    /// <summary>Mean per-class F1 over the classes present in gold or predictions (see the class comment).</summary>
    public double MacroF1
    {
        get
        {
            double sum = 0;
            int present = 0;
            for (int c = 0; c < Classes; c++)
            {
                if (Support(c) == 0 && Predicted(c) == 0) continue;
                sum += PerClass(c).F1;
                present++;
            }
            return present == 0 ? double.NaN : sum / present;
        }
    }

    /// <summary>A copy of the confusion matrix, indexed [gold, predicted].</summary>
    public long[,] Confusion => (long[,])_n.Clone();

    /// <summary>
    /// Precision, recall and F1 of class <paramref name="c"/> (0 where undefined, as scikit-learn's zero_division), and its
    /// support: the gold examples of that class. Throws <see cref="ArgumentOutOfRangeException"/> for a class outside [0, Classes).
    /// </summary>
    public (double Precision, double Recall, double F1, long Support) PerClass(int c)
    {
        if ((uint)c >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(c), $"class {c} is outside [0, {Classes})");
        long tp = _n[c, c], predicted = Predicted(c), support = Support(c);
        double precision = predicted == 0 ? 0 : (double)tp / predicted;
        double recall = support == 0 ? 0 : (double)tp / support;
        return (precision, recall, F1(precision, recall), support);
    }

    /// <summary>2·P·R / (P + R), 0 when P + R = 0. Shared with <see cref="EntityMetrics"/>.</summary>
    internal static double F1(double precision, double recall) =>
        precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);

    private long Support(int c)
    {
        long s = 0;
        for (int p = 0; p < Classes; p++) s += _n[c, p];
        return s;
    }

    private long Predicted(int c)
    {
        long s = 0;
        for (int g = 0; g < Classes; g++) s += _n[g, c];
        return s;
    }
}
