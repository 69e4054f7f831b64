using Recurrent.Layers;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// A recurrent layer prints as PyTorch prints nn.RNN / LSTM / GRU (RNNBase.extra_repr): the sizes, then each setting
/// that differs from its default in the constructor's order; a ReLU RNN also says so, where nn.RNN takes it.
/// </summary>
public class RecurrentLayerToStringTests
{
    [Fact]
    public void DefaultsAreLeftOut()
    {
        Assert.Equal("RNN(64, 128)", new RecurrentLayer(CellKind.RnnTanh, 64, 128).ToString());
        Assert.Equal("LSTM(7, 11)", new RecurrentLayer(CellKind.Lstm, 7, 11).ToString());
        Assert.Equal("GRU(7, 11)", new RecurrentLayer(CellKind.Gru, 7, 11).ToString());
    }

    [Fact]
    public void AReluRnnSaysItsNonlinearity()
    {
        Assert.Equal("RNN(64, 128, nonlinearity='relu')", new RecurrentLayer(CellKind.RnnRelu, 64, 128).ToString());
    }

    [Fact]
    public void EverySettingInPyTorchsOrder()
    {
        var layer = new RecurrentLayer(CellKind.RnnRelu, 10, 20, numLayers: 2, bidirectional: true, dropout: 0.5f, batchFirst: true,
            bias: false);
        // torch.nn.RNN(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True) prints the same
        // without the nonlinearity, which PyTorch leaves out.
        Assert.Equal("RNN(10, 20, num_layers=2, nonlinearity='relu', bias=False, batch_first=True, dropout=0.5, bidirectional=True)",
            layer.ToString());
        Assert.Equal("LSTM(3, 4, batch_first=True, bidirectional=True)",
            new RecurrentLayer(CellKind.Lstm, 3, 4, bidirectional: true, batchFirst: true).ToString());
        Assert.Equal("GRU(3, 4, num_layers=3, dropout=0.1)", new RecurrentLayer(CellKind.Gru, 3, 4, numLayers: 3, dropout: 0.1f).ToString());
    }
}
