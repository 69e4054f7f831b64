using Recurrent.IO;
using Recurrent.Layers;
using Recurrent.Tensors;
using Xunit;

namespace Recurrent.Tests;

public class StateDictTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("recurrent-sd-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A two-parameter module standing in for a layer: weight [3, 2], bias [3].</summary>
    private sealed class Toy : IModule
    {
        public readonly Parameter Weight = new("weight", 3, 2);
        public readonly Parameter Bias = new("bias", 3);
        public IEnumerable<Parameter> Parameters() { yield return Weight; yield return Bias; }
    }

    private static Toy Filled(float start)
    {
        var m = new Toy();
        for (int i = 0; i < 6; i++) m.Weight.Value[i] = start + i;
        for (int i = 0; i < 3; i++) m.Bias.Value[i] = -start - i;
        return m;
    }

    private string Save(Action<SafeTensorsWriter> fill)
    {
        var writer = new SafeTensorsWriter();
        fill(writer);
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".safetensors");
        writer.Save(path);
        return path;
    }

    [Fact]
    public void SaveThenLoadRoundTripsValuesNamesAndMetadata()
    {
        var source = Filled(1);
        string path = Path.Combine(_dir, "toy.safetensors");
        StateDict.Save(path, source, new Dictionary<string, string> { ["cell"] = "lstm" });
        var file = SafeTensorsFile.Read(path);
        Assert.Equal(new[] { "weight", "bias" }, file.Names);
        Assert.Equal("lstm", file.Metadata["cell"]);

        var target = new Toy();
        StateDict.Load(file, target);
        Assert.Equal(source.Weight.Value.Data, target.Weight.Value.Data);
        Assert.Equal(source.Bias.Value.Data, target.Bias.Value.Data);
    }

    [Fact]
    public void PrefixedNamesLoadAsASubmodule()
    {
        var source = Filled(5);
        string path = Path.Combine(_dir, "p.safetensors");
        StateDict.Save(path, new PrefixedModule(source, "lstm."));
        Assert.Equal(new[] { "lstm.weight", "lstm.bias" }, SafeTensorsFile.Read(path).Names);
        var target = new Toy();
        StateDict.Load(SafeTensorsFile.Read(path), new PrefixedModule(target, "lstm."));
        Assert.Equal(source.Weight.Value.Data, target.Weight.Value.Data);
    }

    private sealed class PrefixedModule(IModule inner, string prefix) : IModule
    {
        public IEnumerable<Parameter> Parameters() => inner.Prefixed(prefix);
    }

    [Fact]
    public void MissingParameterNamesFileAndTensor()
    {
        string path = Save(w => w.Add("weight", new Tensor(3, 2)));
        var e = Assert.Throws<InvalidDataException>(() => StateDict.Load(SafeTensorsFile.Read(path), new Toy()));
        Assert.Equal($"{path}: no tensor 'bias' (has: weight)", e.Message);
    }

    [Fact]
    public void WrongShapeOrDTypeIsAnErrorAndNothingIsCopied()
    {
        var target = Filled(10);
        float[] before = (float[])target.Weight.Value.Data.Clone();
        // weight is fine and comes first; bias has the wrong shape: weight must still be untouched.
        string path = Save(w => { w.Add("weight", new Tensor(3, 2)); w.Add("bias", new Tensor(4)); });
        var e = Assert.Throws<InvalidDataException>(() => StateDict.Load(SafeTensorsFile.Read(path), target));
        Assert.Equal($"{path}: tensor 'bias' has shape [4], expected [3]", e.Message);
        Assert.Equal(before, target.Weight.Value.Data);

        string ints = Save(w => { w.Add("weight", new Tensor(3, 2)); w.AddInt32("bias", new int[3], new[] { 3 }); });
        e = Assert.Throws<InvalidDataException>(() => StateDict.Load(SafeTensorsFile.Read(ints), target));
        Assert.Equal($"{ints}: tensor 'bias' is I32, expected F32", e.Message);
        Assert.Equal(before, target.Weight.Value.Data);
    }

    [Fact]
    public void UnexpectedTensorsAreAnErrorUnlessNotStrict()
    {
        var source = Filled(2);
        string path = Save(w =>
        {
            w.Add("weight", source.Weight.Value);
            w.Add("bias", source.Bias.Value);
            w.Add("extra", new Tensor(1));
            w.AddInt64("tokens", new long[2], new[] { 2 });
        });
        var target = Filled(0);
        var e = Assert.Throws<InvalidDataException>(() => StateDict.Load(SafeTensorsFile.Read(path), target));
        Assert.Equal($"{path}: unexpected tensors 'extra', 'tokens' (the module has no such parameter)", e.Message);
        Assert.Equal(Filled(0).Weight.Value.Data, target.Weight.Value.Data);

        StateDict.Load(SafeTensorsFile.Read(path), target, strict: false);
        Assert.Equal(source.Weight.Value.Data, target.Weight.Value.Data);
        Assert.Equal(source.Bias.Value.Data, target.Bias.Value.Data);
    }
}
