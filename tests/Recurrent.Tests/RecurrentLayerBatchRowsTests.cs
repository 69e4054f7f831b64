using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The rows of a batch are independent sequences, so a batch's parameter gradients are the sums of each row's alone.
/// Checks every row's share reaches them however the rows are cut: B = 20 spans three blocks of the per-block bias
/// sums (the last one short), and at 2 threads the time loops are cut by rows. Sets Gemm.Threads, so it runs alone.
/// </summary>
[Collection("Gemm.Threads")]
public class RecurrentLayerBatchRowsTests
{
    [Theory]
    [InlineData(CellKind.Lstm, 1)]
    [InlineData(CellKind.Gru, 1)]
    [InlineData(CellKind.RnnTanh, 1)]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Gru, 2)]
    public void BatchGradientsAreTheSumsOfEachRowAlone(CellKind cell, int threads)
    {
        const int I = 5, H = 136, T = 4, B = 20;
        using var threadsScope = new GemmThreadsScope(threads);
        var rng = new Rng(3);
        var layer = new RecurrentLayer(cell, I, H, numLayers: 2, bidirectional: true, rng: rng);
        var input = new Tensor(T, B, I);
        for (int i = 0; i < input.Length; i++) input.Data[i] = rng.Uniform(-1f, 1f);
        var dOutput = new Tensor(T, B, 2 * H);
        for (int i = 0; i < dOutput.Length; i++) dOutput.Data[i] = rng.Uniform(-1f, 1f);
        int[] lengths = Enumerable.Range(0, B).Select(b => T - b % 3).ToArray();

        ZeroGradients(layer);
        layer.Forward(input, lengths: lengths);
        layer.Backward(dOutput);
        float[][] batch = layer.Parameters().Select(p => p.Grad.Data.ToArray()).ToArray();

        ZeroGradients(layer);
        for (int b = 0; b < B; b++)
        {
            var row = new Tensor(T, 1, I);
            var dRow = new Tensor(T, 1, 2 * H);
            for (int t = 0; t < T; t++)
            {
                input.Data.AsSpan((t * B + b) * I, I).CopyTo(row.Data.AsSpan(t * I));
                dOutput.Data.AsSpan((t * B + b) * 2 * H, 2 * H).CopyTo(dRow.Data.AsSpan(t * 2 * H));
            }
            layer.Forward(row, lengths: [lengths[b]]);
            layer.Backward(dRow);
        }
        var parameters = layer.Parameters().ToArray();
        for (int p = 0; p < parameters.Length; p++)
            for (int i = 0; i < batch[p].Length; i++)
            {
                float expected = parameters[p].Grad.Data[i];
                Assert.True(Math.Abs(batch[p][i] - expected) <= 1e-4f * (1 + Math.Abs(expected)),
                    $"{parameters[p].Name}[{i}]: batch {batch[p][i]}, sum of rows {expected}");
            }
    }

    private static void ZeroGradients(RecurrentLayer layer)
    {
        foreach (var p in layer.Parameters()) p.Grad.Zero();
    }
}
