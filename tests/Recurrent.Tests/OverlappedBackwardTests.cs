using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// A job posted to the worker pool runs while its caller goes on (WorkerPool.TryPost, Finish), and Linear's
/// BackwardOverlapped leaves its weight gradients to such a job: the same bits as Backward, at every thread count.
/// </summary>
[Collection("Gemm.Threads")]
public class OverlappedBackwardTests
{
    /// <summary>Counts how often each part ran; a part may throw.</summary>
    private sealed class CountingWork(int parts, int throwingPart = -1) : IParallelWork
    {
        public readonly int[] Runs = new int[parts];

        public void RunPart(int part)
        {
            Interlocked.Increment(ref Runs[part]);
            Thread.Sleep(1); // long enough for a worker to claim some
            if (part == throwingPart) throw new InvalidOperationException("part failed");
        }
    }

    [Fact]
    public void APostedJobRunsEveryPartOnceWhileItsCallerGoesOn()
    {
        var work = new CountingWork(20);
        Assert.True(WorkerPool.TryPost(work, 20, workers: 1));
        try
        {
            Assert.False(WorkerPool.TryPost(new CountingWork(2), 2, workers: 1)); // one posted job at a time
            var other = new CountingWork(4);
            Assert.False(WorkerPool.TryRun(other, 4)); // the caller's own parallel work runs on its thread meanwhile
            Assert.All(other.Runs, runs => Assert.Equal(0, runs));
        }
        finally
        {
            WorkerPool.Finish();
        }
        Assert.All(work.Runs, runs => Assert.Equal(1, runs));
        Assert.Throws<InvalidOperationException>(WorkerPool.Finish); // nothing posted any more
        var after = new CountingWork(4);
        Assert.True(WorkerPool.TryRun(after, 4));
        Assert.All(after.Runs, runs => Assert.Equal(1, runs));
    }

    /// <summary>Each part tries to start parallel work of its own and records whether the pool took it.</summary>
    private sealed class NestingWork(int parts) : IParallelWork
    {
        public readonly int[] NestedRan = new int[parts];

        public void RunPart(int part)
        {
            var inner = new CountingWork(2);
            if (WorkerPool.TryRun(inner, 2)) NestedRan[part] = -1; // the pool ran it: it must not (it holds this job)
            else
                for (int p = 0; p < 2; p++) inner.RunPart(p);
            NestedRan[part] += inner.Runs.Sum();
        }
    }

    [Fact]
    public void APartsOwnParallelWorkRunsOnItsThread()
    {
        var work = new NestingWork(6);
        Assert.True(WorkerPool.TryRun(work, 6));
        Assert.All(work.NestedRan, runs => Assert.Equal(2, runs));
        var posted = new NestingWork(6);
        Assert.True(WorkerPool.TryPost(posted, 6, workers: 1));
        WorkerPool.Finish();
        Assert.All(posted.NestedRan, runs => Assert.Equal(2, runs));
    }

    [Fact]
    public void APartsFailureSurfacesAtFinishAndFreesThePool()
    {
        Assert.False(WorkerPool.TryPost(new CountingWork(3), 3, workers: 0));
        var work = new CountingWork(6, throwingPart: 4);
        Assert.True(WorkerPool.TryPost(work, 6, workers: 1));
        var error = Assert.Throws<InvalidOperationException>(WorkerPool.Finish);
        Assert.Equal("part failed", error.InnerException?.Message);
        Assert.All(work.Runs, runs => Assert.Equal(1, runs));
        Assert.True(WorkerPool.TryRun(new CountingWork(2), 2));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void LinearBackwardOverlappedIsBackwardBitForBit(int threads, bool bias)
    {
        using var threadsScope = new GemmThreadsScope(threads);
        // 2,100 outputs: three parts of 960 rows of dW, the last one short; 37 rows of dy, 40 inputs.
        var plain = new Linear(40, 2100, bias, new Rng(5));
        var overlapped = new Linear(40, 2100, bias, new Rng(5));
        var rng = new Rng(6);
        var x = new Tensor(GradCheck.RandomArray(rng, 37 * 40), 37, 40);
        var dy = new Tensor(GradCheck.RandomArray(rng, 37 * 2100), 37, 2100);
        foreach (var layer in new[] { plain, overlapped })
        {
            layer.Forward(x);
            layer.Backward(dy); // gradients already hold something: both must add to it
            layer.Forward(x);
        }
        var dxPlain = plain.Backward(dy).Span.ToArray();

        var dx = overlapped.BackwardOverlapped(dy).Span.ToArray();
        // While the weight gradients are summed, the caller's own products still come out right (on its thread).
        var a = GradCheck.RandomArray(rng, 64 * 64);
        var product = new float[64 * 64];
        Gemm.Multiply(a, 64, false, a, 64, true, product, 64, 64, 64, 64);
        Assert.Throws<InvalidOperationException>(() => overlapped.Forward(x));
        overlapped.FinishBackward();
        overlapped.FinishBackward(); // nothing pending: a no-op

        var want = new float[64 * 64];
        GemmReference.Multiply(a, 64, false, a, 64, true, want, 64, 64, 64, 64);
        for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], product[i], MathF.Abs(want[i]) * 1e-5f + 1e-5f);
        Assert.Equal(dxPlain, dx);
        Assert.Equal(plain.Weight.Grad.Span.ToArray(), overlapped.Weight.Grad.Span.ToArray());
        if (bias) Assert.Equal(plain.Bias!.Grad.Span.ToArray(), overlapped.Bias!.Grad.Span.ToArray());
    }
}
