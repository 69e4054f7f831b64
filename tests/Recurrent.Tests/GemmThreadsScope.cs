using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// Sets the process-wide Gemm.Threads until disposed, then restores what it was:
/// <c>using var threadsScope = new GemmThreadsScope(2);</c>. Tests using it belong to the "Gemm.Threads" collection.
/// </summary>
internal sealed class GemmThreadsScope : IDisposable
{
    private readonly int _saved = Gemm.Threads;

    public GemmThreadsScope(int threads) => Gemm.Threads = threads;

    public void Dispose() => Gemm.Threads = _saved;
}

/// <summary>Tests that set the process-wide Gemm.Threads run alone, after the parallel ones.</summary>
[CollectionDefinition("Gemm.Threads", DisableParallelization = true)]
public class GemmThreadsCollection;
