using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class RngTests
{
    [Fact]
    public void SameSeedSameSequence_AndStateRoundTrips()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        for (int i = 0; i < 10; i++) Assert.Equal(a.NextUInt(), b.NextUInt());
        var resumed = Rng.FromState(a.State);
        for (int i = 0; i < 10; i++) Assert.Equal(a.NextFloat(), resumed.NextFloat());
        Assert.NotEqual(new Rng(1).NextUInt(), new Rng(2).NextUInt());
    }

    [Fact]
    public void FillDrawsTheNextValuesInOrder()
    {
        var one = new Rng(7);
        var bulk = new Rng(7);
        var values = new uint[37];
        bulk.Fill(values);
        foreach (uint value in values) Assert.Equal(one.NextUInt(), value);
        Assert.Equal(one.State, bulk.State); // and leaves the state where one value at a time would
    }

    [Fact]
    public void UniformAndNormalHaveTheRightMoments()
    {
        var rng = new Rng(7);
        double sum = 0, sumSq = 0;
        const int n = 200_000;
        for (int i = 0; i < n; i++) { double z = rng.Normal(); sum += z; sumSq += z * z; }
        Assert.InRange(sum / n, -0.01, 0.01);
        Assert.InRange(sumSq / n, 0.98, 1.02);
        for (int i = 0; i < 1000; i++) Assert.InRange(rng.NextFloat(), 0f, 0.99999999f);
    }
}
