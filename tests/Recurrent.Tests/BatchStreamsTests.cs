using Recurrent.Data;
using Xunit;

namespace Recurrent.Tests;

public class BatchStreamsTests
{
    private static int[] Range(int n) => Enumerable.Range(0, n).ToArray();

    [Fact]
    public void ChunksAreConsecutiveWindowsOfContiguousStreams()
    {
        // 23 tokens, B = 2: L = 11, T = 4 -> 2 whole chunks per epoch (3 positions per stream unused).
        var s = new BatchStreams(Range(23), batch: 2, seqLen: 4);
        Assert.Equal(11, s.StreamLength);
        Assert.Equal(2, s.ChunksPerEpoch);
        var x = new int[8];
        var y = new int[8];
        s.Fill(0, x, y);
        // Time-major [T, B]: (stream 0, stream 1) at t = 0, then t = 1, ...
        Assert.Equal(new[] { 0, 11, 1, 12, 2, 13, 3, 14 }, x);
        Assert.Equal(new[] { 1, 12, 2, 13, 3, 14, 4, 15 }, y);
        s.Fill(1, x, y);
        Assert.Equal(new[] { 4, 15, 5, 16, 6, 17, 7, 18 }, x);
        Assert.Equal(new[] { 5, 16, 6, 17, 7, 18, 8, 19 }, y);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Fill(2, x, y));
    }

    [Fact]
    public void SeqLenLongerThanTheStreamMeansFullBptt()
    {
        var s = new BatchStreams(Range(9), batch: 2, seqLen: 100);
        Assert.Equal(4, s.SeqLen);
        Assert.Equal(1, s.ChunksPerEpoch);
        var x = new int[8];
        var y = new int[8];
        s.Fill(0, x, y);
        Assert.Equal(new[] { 0, 4, 1, 5, 2, 6, 3, 7 }, x);
        Assert.Equal(new[] { 1, 5, 2, 6, 3, 7, 4, 8 }, y);
    }

    [Fact]
    public void PaddedStreamsPredictEveryCharacterExactlyOnce()
    {
        foreach (var (n, b, t) in new[] { (23, 2, 4), (10, 4, 3), (5, 4, 7), (50, 3, 5), (2, 1, 1) })
        {
            var s = new BatchStreams(Range(n), b, t, padTail: true);
            var seen = new List<int>();
            var x = new int[b * s.SeqLen];
            var y = new int[b * s.SeqLen];
            for (int k = 0; k < s.ChunksPerEpoch; k++)
            {
                s.Fill(k, x, y);
                for (int i = 0; i < x.Length; i++)
                    if (y[i] != BatchStreams.IgnoreIndex)
                    {
                        Assert.Equal(x[i] + 1, y[i]);
                        seen.Add(y[i]);
                    }
            }
            Assert.Equal(Enumerable.Range(1, n - 1), seen.Order());
            Assert.Equal(n - 1, s.TargetsPerEpoch);
        }
    }

    [Fact]
    public void TextTooShortForTheBatchIsAnError()
    {
        var e = Assert.Throws<InvalidDataException>(() => new BatchStreams(Range(4), batch: 4, seqLen: 2));
        Assert.Contains("too short", e.Message);
    }
}
