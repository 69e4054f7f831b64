using System.Text.Json;
using Recurrent.Layers;

namespace Recurrent.Training;

/// <summary>
/// A model the shared training core can save, restore and train: its parameters under PyTorch names, the task it
/// solves (config.json's "task"), the fields of config.json that rebuild it, and the random state its dropout draws
/// from (saved so a resumed run draws the masks the uninterrupted run would have).
/// </summary>
public interface ITaskModel : IModule
{
    /// <summary>config.json's "task": "char-lm", "classify", "tag".</summary>
    string Task { get; }

    /// <summary>Writes the model's fields (cell, sizes, vocabularies) into config.json's top-level object.</summary>
    void WriteConfig(Utf8JsonWriter writer);

    /// <summary>Dropout (and any other training-only noise) applies only while training.</summary>
    bool Training { get; set; }

    /// <summary>The state of the Rng that draws dropout masks; setting it makes the next draws those a saved run drew next.</summary>
    uint[] DropoutRngState { get; set; }
}
