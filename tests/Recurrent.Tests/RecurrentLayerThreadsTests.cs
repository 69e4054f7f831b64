using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The time loops are cut into one part per thread: by batch rows (whole blocks of 8) when each part gets a block,
/// else each step by hidden units (GEMM columns and cells together). The cut must not change a single bit: the same
/// layer at 1, 2 and 3 threads gives identical outputs, states and gradients. Sizes are large enough for the parallel
/// path (B·H·G·H ≥ 2¹⁸); batches of 16 and 24 cut into two and three row parts, a batch of 8 by units, where
/// H = 136 is not a multiple of the 32-unit cut, so the last part is short; lengths differ so frozen rows are cut
/// too. Sets Gemm.Threads, so it runs alone.
/// </summary>
[Collection("Gemm.Threads")]
public class RecurrentLayerThreadsTests
{
    [Theory]
    [InlineData(CellKind.Lstm, 16)]
    [InlineData(CellKind.Gru, 16)]
    [InlineData(CellKind.RnnTanh, 16)]
    [InlineData(CellKind.RnnRelu, 16)]
    [InlineData(CellKind.Lstm, 24)]
    [InlineData(CellKind.Gru, 24)]
    [InlineData(CellKind.Lstm, 8)] // one block of rows: each step cut by units
    [InlineData(CellKind.Gru, 8)]
    [InlineData(CellKind.Lstm, 4)] // sampling-sized batch: the unpacked dot-product path
    public void ThreadCountChangesNoBit(CellKind cell, int batch)
    {
        float[][] one = Run(cell, batch, threads: 1);
        Assert.Equal(one, Run(cell, batch, threads: 2));
        Assert.Equal(one, Run(cell, batch, threads: 3));
    }

    private static float[][] Run(CellKind cell, int batch, int threads)
    {
        const int I = 7, H = 136, T = 5;
        using var threadsScope = new GemmThreadsScope(threads);
        var rng = new Rng(11);
        var layer = new RecurrentLayer(cell, I, H, numLayers: 2, bidirectional: true, rng: rng);
        var input = new Tensor(T, batch, I);
        for (int i = 0; i < input.Length; i++) input.Data[i] = rng.Uniform(-1f, 1f);
        int[] lengths = Enumerable.Range(0, batch).Select(b => T - b % 3).ToArray();
        var output = layer.Forward(input, lengths: lengths);
        var dOutput = new Tensor(output.Output.Shape);
        for (int i = 0; i < dOutput.Length; i++) dOutput.Data[i] = rng.Uniform(-1f, 1f);
        float[][] forward = [output.Output.Data.ToArray(), output.HN.Data.ToArray(), output.CN?.Data.ToArray() ?? []];
        var grads = layer.Backward(dOutput);
        return [.. forward, grads.DInput.Data.ToArray(), grads.DH0.Data.ToArray(),
            .. layer.Parameters().Select(p => p.Grad.Data.ToArray())];
    }
}
