using System.Text;

namespace Recurrent.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new one, never a torn mix:
/// the bytes go to a temporary file in the same directory (same file system, so the rename is atomic),
/// are flushed to disk, and only then replace the target. If writing fails the old file is left untouched and the
/// temporary file is removed; a process killed midway leaves at most a hidden temporary file
/// (".NAME.PID.GUID.tmp"), which no reader opens and <see cref="RemoveTemporaries"/> clears.
/// </summary>
public static class AtomicFile
{
    private const string TempSuffix = ".tmp";

    /// <summary>
    /// Tests only: called with the target path once the bytes are written to the temporary file and before it replaces
    /// the target, to fail a write as a full disk would. Per async flow, so tests running in parallel do not see it.
    /// </summary>
    internal static readonly AsyncLocal<Action<string>?> FaultInjection = new();

    /// <summary>
    /// Writes <paramref name="path"/> atomically: <paramref name="write"/> fills a hidden temporary file in the same
    /// directory, which is flushed to disk and then renamed over the target. Whatever write throws is rethrown after the
    /// temporary file is deleted; the old file is then unchanged.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        string directory = System.IO.Path.GetDirectoryName(full) ?? ".";
        // A hidden, unique sibling: two writers of the same target never share a temp file.
        string temp = System.IO.Path.Combine(directory,
            $".{System.IO.Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                FaultInjection.Value?.Invoke(full);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>UTF-8 without a byte-order mark.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
            stream.Write(bytes);
        });

    /// <summary>
    /// Deletes the temporary files that writers killed midway left in <paramref name="directory"/> (not those of this
    /// process, which may be writing). Returns how many were removed.
    /// </summary>
    public static int RemoveTemporaries(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        int removed = 0;
        foreach (string path in Directory.EnumerateFiles(directory, "." + "*" + TempSuffix))
        {
            // ".NAME.PID.GUID.tmp": the two fields before the suffix are a process id and 32 hex digits.
            string[] parts = System.IO.Path.GetFileName(path)[..^TempSuffix.Length].Split('.');
            if (parts.Length < 4 || parts[^1].Length != 32 || !parts[^1].All(char.IsAsciiHexDigit)
                || !int.TryParse(parts[^2], out int pid) || pid == Environment.ProcessId) continue;
            TryDelete(path);
            removed++;
        }
        return removed;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
