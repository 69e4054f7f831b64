using System.Diagnostics;
using System.Runtime.InteropServices;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The real `recurrent` in a child process — `dotnet recurrent.dll ARGS`, the build next to this test assembly — for the
/// drills that signal or kill it. Its stdout and stderr go to files (not a terminal, as under nohup or `2>file`).
/// </summary>
internal sealed class ChildCli : IDisposable
{
    private readonly Process _process;
    public string StdoutPath { get; }
    public string StderrPath { get; }
    public int Id => _process.Id;

    public ChildCli(string workingDirectory, string outputPrefix, params string[] args)
        : this(workingDirectory, outputPrefix, [], [], args) { }

    /// <summary>`mpirun --oversubscribe -np RANKS dotnet recurrent.dll ARGS`: the child is mpirun (same pid), its ranks
    /// its children, their output relayed into the same two files.</summary>
    public static ChildCli UnderMpirun(int ranks, string workingDirectory, string outputPrefix, params string[] args) =>
        new(workingDirectory, outputPrefix, ["mpirun", "--oversubscribe", "-np", ranks.ToString()],
            // CI runs as root; mpirun refuses that unless told.
            [("OMPI_ALLOW_RUN_AS_ROOT", "1"), ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")], args);

    private ChildCli(string workingDirectory, string outputPrefix, string[] launcher, (string Name, string Value)[] environment,
        string[] args)
    {
        StdoutPath = outputPrefix + ".out";
        StderrPath = outputPrefix + ".err";
        // exec: the shell becomes the program (same pid), with its output in files, as `recurrent ... >out 2>err`.
        var start = new ProcessStartInfo("/bin/sh") { WorkingDirectory = workingDirectory, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$0\" \"$@\" >\"$OUT\" 2>\"$ERR\" </dev/null");
        foreach (string a in (string[])[.. launcher, ChildCliHost.Dotnet, ChildCliHost.Dll, .. args]) start.ArgumentList.Add(a);
        start.Environment["OUT"] = StdoutPath;
        start.Environment["ERR"] = StderrPath;
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment) start.Environment[name] = value;
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + start.ArgumentList[2]);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>kill -9: the process ends at once, wherever it was.</summary>
    public void KillHard()
    {
        try { _process.Kill(entireProcessTree: true); } // SIGKILL on Unix; under mpirun, its ranks too
        catch (InvalidOperationException) { } // already ended
    }

    public const int SigInt = 2, SigUsr1 = 10, SigTerm = 15;

    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0 && !_process.HasExited)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Waits for the end; returns the exit code, or throws after <paramref name="timeout"/> (killing it).</summary>
    public int Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            KillHard();
            throw new TimeoutException($"the child process did not end within {timeout.TotalSeconds:F0} s; stderr: {Stderr}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public string Stdout => File.Exists(StdoutPath) ? File.ReadAllText(StdoutPath) : "";
    public string Stderr => File.Exists(StderrPath) ? File.ReadAllText(StderrPath) : "";

    /// <summary>Polls until <paramref name="condition"/> holds; false if the process ended or the time ran out first.</summary>
    public bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition()) return true;
            if (_process.HasExited) return condition();
            Thread.Sleep(5);
        }
        return false;
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}

/// <summary>How to start the built CLI: `Dotnet Dll ARGS`.</summary>
internal static class ChildCliHost
{
    /// <summary>recurrent.dll, the build next to this test assembly.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "recurrent.dll");

    /// <summary>The dotnet this test runs on: the host that started it, else the one on PATH.</summary>
    public static string Dotnet
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
            string? self = Environment.ProcessPath;
            return self != null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }
}

/// <summary>A fact that needs POSIX signals and /bin/sh (the child-process drills); skipped on Windows.</summary>
public sealed class PosixFactAttribute : FactAttribute
{
    public PosixFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "needs POSIX signals (SIGKILL, SIGINT) and /bin/sh";
    }
}

/// <inheritdoc cref="PosixFactAttribute"/>
public sealed class PosixTheoryAttribute : TheoryAttribute
{
    public PosixTheoryAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "needs POSIX signals (SIGINT, SIGTERM) and /bin/sh";
    }
}
