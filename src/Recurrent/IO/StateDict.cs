using Recurrent.Layers;

namespace Recurrent.IO;

/// <summary>
/// A module's parameters as a safetensors file keyed by their PyTorch names ("weight_ih_l0", "lstm.weight_hh_l1", ...),
/// so weights move unchanged between Recurrent and torch's load_state_dict.
/// </summary>
public static class StateDict
{
    /// <summary>
    /// Writes every parameter of <paramref name="module"/> under its PyTorch name (as torch's state_dict()), with
    /// <paramref name="metadata"/> as the file's "__metadata__", atomically to <paramref name="path"/>.
    /// </summary>
    public static void Save(string path, IModule module, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var writer = new SafeTensorsWriter();
        if (metadata != null)
            foreach (var (key, value) in metadata) writer.Metadata[key] = value;
        foreach (Parameter p in module.Parameters()) writer.Add(p.Name, p.Value);
        writer.Save(path);
    }

    /// <summary>
    /// Copies every parameter's value from <paramref name="file"/>: each must be there as F32 with the parameter's exact
    /// shape, and (when <paramref name="strict"/>) the file may hold nothing else. Everything is checked before anything
    /// is copied, so on error the module keeps its old values.
    /// </summary>
    public static void Load(SafeTensorsFile file, IModule module, bool strict = true)
    {
        var parameters = module.Parameters().ToList();
        foreach (Parameter p in parameters) file.Check(p.Name, SafeDType.F32, p.Shape);
        if (strict)
        {
            var known = parameters.Select(p => p.Name).ToHashSet();
            var unexpected = file.Names.Where(n => !known.Contains(n)).ToList();
            if (unexpected.Count > 0)
                throw new InvalidDataException(
                    $"{file.Path}: unexpected tensor{(unexpected.Count > 1 ? "s" : "")} " +
                    $"{string.Join(", ", unexpected.Select(n => $"'{n}'"))} (the module has no such parameter)");
        }
        foreach (Parameter p in parameters) file.CopyTo(p.Name, p.Value);
    }
}
