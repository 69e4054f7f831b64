using System.Security.Cryptography;

namespace Recurrent.Training;

/// <summary>
/// The resume policy every task shares: a new model goes into an empty directory (or, with force, one whose model
/// files are removed); a resumed model continues in its own directory or a copy, whose log.jsonl loses the lines logged
/// after the checkpoint (they belong to a future that was lost) and which keeps the best/ model so far. Nothing is
/// written until the caller has checked everything else.
/// </summary>
public static class ModelDirectory
{
    /// <summary>A new or empty directory, or (with <paramref name="force"/>) one whose model files are removed.</summary>
    public static void PrepareNew(string dir, bool force)
    {
        if (File.Exists(dir)) throw new IOException($"--out '{dir}' is a file, not a directory");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            bool isModel = File.Exists(Path.Combine(dir, Checkpoint.ConfigFile));
            if (!force)
                throw new IOException(isModel
                    ? $"'{dir}' already holds a model; continue it with --resume {dir}, replace it with --force, or choose another --out"
                    : $"--out '{dir}' exists and is not empty; choose another directory (or --force to write into it)");
            foreach (string f in new[] { Checkpoint.ConfigFile, Checkpoint.WeightsFile, Checkpoint.StateFile, Checkpoint.LogFile })
                File.Delete(Path.Combine(dir, f));
            if (Directory.Exists(Path.Combine(dir, Checkpoint.BestDir))) Directory.Delete(Path.Combine(dir, Checkpoint.BestDir), true);
        }
        Directory.CreateDirectory(dir);
    }

    /// <summary>
    /// Readies <paramref name="outDir"/> to continue the model of <paramref name="resume"/> from <paramref name="step"/>:
    /// the same directory, or a new one that gets its log and best/ model.
    /// </summary>
    public static void PrepareResume(string resume, string outDir, long step, bool force)
    {
        bool sameDir = Path.GetFullPath(outDir) == Path.GetFullPath(resume);
        // A run killed while saving left hidden temporary files; no reader opens them, and they go now.
        IO.AtomicFile.RemoveTemporaries(resume);
        IO.AtomicFile.RemoveTemporaries(Path.Combine(resume, Checkpoint.BestDir));
        if (!sameDir) PrepareNew(outDir, force);
        string oldLog = Path.Combine(resume, Checkpoint.LogFile), newLog = Path.Combine(outDir, Checkpoint.LogFile);
        if (!sameDir && File.Exists(oldLog)) File.Copy(oldLog, newLog);
        TrainLog.TruncateAfter(newLog, step);
        if (!sameDir) CopyBest(resume, outDir);
    }

    private static void CopyBest(string from, string to)
    {
        string best = Path.Combine(from, Checkpoint.BestDir);
        if (!Directory.Exists(best)) return;
        string target = Path.Combine(to, Checkpoint.BestDir);
        Directory.CreateDirectory(target);
        foreach (string f in new[] { Checkpoint.WeightsFile, Checkpoint.ConfigFile }) // config last, as a save does
            if (File.Exists(Path.Combine(best, f))) File.Copy(Path.Combine(best, f), Path.Combine(target, f), overwrite: true);
    }

    /// <summary>The SHA-256 of a data file's bytes, so a resume can check it reads the same data.</summary>
    public static string Sha256(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"data file '{path}' not found");
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Throws unless <paramref name="path"/> (given by <paramref name="flag"/>, a <paramref name="what"/>) holds the bytes a model was trained on.</summary>
    public static void RequireSameData(string path, string? expectedSha256, string resume, string flag, string what = "file")
    {
        if (expectedSha256 != null && Sha256(path) != expectedSha256)
            throw new InvalidDataException($"'{path}' is not the {what} the model in '{resume}' was trained on (its SHA-256 differs); resuming needs the same {flag}");
    }

    /// <summary>
    /// The directory eval and predict read by default: best/ when training saved one (the best dev score), else the
    /// directory itself. Returns it and a word for the output ("best" or "last").
    /// </summary>
    public static (string Dir, string Which) ForInference(string dir, bool last)
    {
        string best = Path.Combine(dir, Checkpoint.BestDir);
        return !last && File.Exists(Path.Combine(best, Checkpoint.ConfigFile)) && File.Exists(Path.Combine(best, Checkpoint.WeightsFile))
            ? (best, "best") : (dir, "last");
    }
}
