using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// The packages, as a user gets them: the sources copied as a fresh clone has them (no bin/ or obj/), `dotnet pack`
/// of the library and the CLI into a feed directory, `dotnet tool install --add-source FEED Recurrent.Cli`, and the
/// installed `recurrent` prints its version, trains a tiny model and samples it. NuGet sees the feed directory only
/// (a nuget.config that clears every other source) and a packages folder of its own, so nothing comes from outside
/// or from the machine's cache: the test runs the same offline, on a developer's machine and on CI.
/// Two builds from scratch: 20–60 s. Everything is made in one temporary directory, deleted at the end.
/// </summary>
public class PackageTests : IDisposable
{
    private static readonly TimeSpan StepLimit = TimeSpan.FromMinutes(5);
    private readonly string _dir = Directory.CreateTempSubdirectory("recurrent-pack").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string In(params string[] parts) => Path.Combine([_dir, .. parts]);

    [Fact]
    public void PackedToolInstallsAndTrains()
    {
        string version = Cli.Cli.Version;
        CopySources(RepositoryRoot.Find(), In("src"));
        string feed = In("feed");
        File.WriteAllText(In("nuget.config"), """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
              </packageSources>
            </configuration>
            """);
        string[] build = ["-c", "Release", "-o", feed, "-nodeReuse:false", "-p:UseSharedCompilation=false", $"-p:RestoreConfigFile={In("nuget.config")}"];
        Dotnet(In("src"), ["pack", "src/Recurrent.Cli/Recurrent.Cli.csproj", .. build]);
        Dotnet(In("src"), ["pack", "src/Recurrent/Recurrent.csproj", .. build]);

        var library = Nuspec(Path.Combine(feed, $"Recurrent.{version}.nupkg"), out var libraryFiles);
        Assert.Equal(("Recurrent", version, "MIT", "README.md"), (library("id"), library("version"), library("license"), library("readme")));
        Assert.Equal("Recurrent contributors", library("authors"));
        Assert.Contains("lstm", library("tags").Split(' '));
        Assert.Contains("lib/net10.0/Recurrent.Core.dll", libraryFiles);
        Assert.Contains("lib/net10.0/Recurrent.Core.xml", libraryFiles); // the XML documentation, for IntelliSense
        Assert.Contains("LICENSE", libraryFiles);
        Assert.Contains("README.md", libraryFiles);
        Assert.True(File.Exists(Path.Combine(feed, $"Recurrent.{version}.snupkg")), "no symbol package");

        var tool = Nuspec(Path.Combine(feed, $"Recurrent.Cli.{version}.nupkg"), out var toolFiles);
        Assert.Equal(("Recurrent.Cli", version, "MIT"), (tool("id"), tool("version"), tool("license")));
        Assert.Contains("tools/net10.0/any/recurrent.dll", toolFiles);
        Assert.Contains("tools/net10.0/any/Recurrent.Core.dll", toolFiles);
        Assert.Contains("LICENSE", toolFiles);

        Dotnet(_dir, ["tool", "install", "--tool-path", In("tool"), "--add-source", feed, "--configfile", In("nuget.config"), "Recurrent.Cli"]);
        string recurrent = In("tool", OperatingSystem.IsWindows() ? "recurrent.exe" : "recurrent");

        Assert.Equal($"recurrent {version}\n", Run(recurrent, _dir, ["--version"]).ReplaceLineEndings("\n"));
        File.WriteAllText(In("text.txt"), string.Concat(Enumerable.Repeat(CharLmFixture.Text, 2)));
        string trained = Run(recurrent, _dir, ["train", "--data", In("text.txt"), "--out", In("model"), "--steps", "3", "--hidden", "8",
            "--layers", "1", "--embedding", "4", "--seq-len", "8", "--batch", "2", "--threads", "1", "--json"]);
        using (var result = JsonDocument.Parse(trained))
            Assert.Equal(3, result.RootElement.GetProperty("steps").GetInt64());
        string sample = Run(recurrent, _dir, ["sample", "--model", In("model"), "--prime", "First", "--length", "40", "--threads", "1", "--json"]);
        using (var result = JsonDocument.Parse(sample))
            Assert.Equal(40, result.RootElement.GetProperty("text").GetString()!.Length);
    }

    /// <summary>
    /// What a clone has that the packages are built from: the files at the top (not .git, .gitignore: a worktree's .git
    /// file would point the build at this repository's history) and src/, without build outputs.
    /// </summary>
    private static void CopySources(string root, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(root).Where(f => !Path.GetFileName(f).StartsWith('.')))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative));
        }
    }

    /// <summary>The nuspec's metadata fields (license: its expression) and the package's file names.</summary>
    private static Func<string, string> Nuspec(string package, out List<string> files)
    {
        Assert.True(File.Exists(package), $"{package} was not made");
        using var zip = ZipFile.OpenRead(package);
        files = zip.Entries.Select(e => e.FullName).ToList();
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        return name => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
    }

    /// <summary>The dotnet this test runs on: the host that started it, else the one on PATH.</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        string? self = Environment.ProcessPath;
        return self != null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    private string Dotnet(string workingDirectory, string[] args) => Run(DotnetHost(), workingDirectory, args);

    /// <summary>Runs a program to its end and returns its stdout; a non-zero exit fails the test with both outputs.</summary>
    private string Run(string program, string workingDirectory, string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        // `dotnet test` runs this inside MSBuild's environment: a nested build must not inherit it.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";        // no build servers left running after the test
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["NUGET_PACKAGES"] = In("packages");      // a package cache of its own, not the machine's
        start.Environment["DOTNET_CLI_HOME"] = In("home");         // the CLI's first-run files too
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // The installed tool's launcher finds the runtime next to the dotnet that runs the test.
        string host = DotnetHost();
        if (Path.IsPathRooted(host)) start.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(host);

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(StepLimit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{program} {string.Join(' ', args)} took more than {StepLimit.TotalMinutes} minutes:\n{stdout.Result}\n{stderr.Result}");
        }
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }
}
