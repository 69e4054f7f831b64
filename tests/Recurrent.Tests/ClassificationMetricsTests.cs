using Recurrent.Metrics;
using Xunit;

namespace Recurrent.Tests;

public class ClassificationMetricsTests
{
    // Nine pairs over three classes; confusion [gold, predicted]:
    //            p0 p1 p2   support
    //   gold 0 [  2  1  0 ]   3
    //   gold 1 [  1  1  1 ]   3
    //   gold 2 [  1  0  2 ]   3
    //   predicted 4  2  3
    private static ClassificationMetrics ThreeClasses(int classes = 3)
    {
        var m = new ClassificationMetrics(classes);
        (int, int)[] pairs = [(0, 0), (0, 0), (0, 1), (1, 1), (1, 2), (1, 0), (2, 2), (2, 2), (2, 0)];
        foreach (var (g, p) in pairs) m.Add(g, p);
        return m;
    }

    [Fact]
    public void HandWorkedThreeClassExample()
    {
        var m = ThreeClasses();
        Assert.Equal(9, m.Count);
        Assert.Equal(new long[,] { { 2, 1, 0 }, { 1, 1, 1 }, { 1, 0, 2 } }, m.Confusion);
        Assert.Equal(5.0 / 9, m.Accuracy, 12); // diagonal 2 + 1 + 2

        // Class 0: tp 2, predicted 4, support 3 -> P = 1/2, R = 2/3, F1 = 2·(1/3)/(7/6) = 4/7 (= 2tp/(2tp+fp+fn) = 4/7).
        var c0 = m.PerClass(0);
        Assert.Equal(0.5, c0.Precision, 12);
        Assert.Equal(2.0 / 3, c0.Recall, 12);
        Assert.Equal(4.0 / 7, c0.F1, 12);
        Assert.Equal(3, c0.Support);
        // Class 1: tp 1, predicted 2, support 3 -> P = 1/2, R = 1/3, F1 = 2/5.
        var c1 = m.PerClass(1);
        Assert.Equal(0.5, c1.Precision, 12);
        Assert.Equal(1.0 / 3, c1.Recall, 12);
        Assert.Equal(0.4, c1.F1, 12);
        // Class 2: tp 2, predicted 3, support 3 -> P = R = F1 = 2/3.
        Assert.Equal(2.0 / 3, m.PerClass(2).F1, 12);
        // Macro: (4/7 + 2/5 + 2/3) / 3 = (60 + 42 + 70) / 105 / 3 = 172/315.
        Assert.Equal(172.0 / 315, m.MacroF1, 12);
    }

    [Fact]
    public void AClassNeitherInGoldNorPredictedIsLeftOutOfTheMacroMean()
    {
        // The same pairs with a fourth class that never occurs: it has no F1 to average, so macro-F1 does not change.
        var m = ThreeClasses(classes: 4);
        Assert.Equal(172.0 / 315, m.MacroF1, 12);
        Assert.Equal((0.0, 0.0, 0.0, 0L), m.PerClass(3));
    }

    [Fact]
    public void AClassPredictedButNeverGoldCountsAsF1Zero()
    {
        // (0,0), (0,1): class 0 P = 1, R = 1/2, F1 = 2/3; class 1 was predicted once and never right: P = 0, R = 0/0 := 0,
        // F1 = 0, and it is in the mean (as sklearn's f1_score(average="macro") gives: 1/3).
        var m = new ClassificationMetrics(2);
        m.Add(0, 0);
        m.Add(0, 1);
        Assert.Equal(2.0 / 3, m.PerClass(0).F1, 12);
        Assert.Equal((0.0, 0.0, 0.0, 0L), m.PerClass(1));
        Assert.Equal(1.0 / 3, m.MacroF1, 12);
        Assert.Equal(0.5, m.Accuracy, 12);
    }

    [Fact]
    public void EmptyIsNaN_OutOfRangeThrows_ConfusionIsACopy()
    {
        var m = new ClassificationMetrics(2);
        Assert.Equal(0, m.Count);
        Assert.True(double.IsNaN(m.Accuracy));
        Assert.True(double.IsNaN(m.MacroF1));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Add(2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Add(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.PerClass(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClassificationMetrics(0));
        m.Add(1, 1);
        m.Confusion[1, 1] = 100;
        Assert.Equal(1, m.Confusion[1, 1]);
        Assert.Equal(1.0, m.Accuracy);
        Assert.Equal(1.0, m.MacroF1); // class 0 absent from both: the mean is over class 1 alone
    }
}
