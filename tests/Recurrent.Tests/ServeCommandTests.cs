using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Recurrent.Tests;

/// <summary>`recurrent serve` as a command: its one-line errors, and a real child process that prints its address and
/// stops on SIGTERM and Ctrl+C.</summary>
[Collection(ServeCollection.Name)]
public class ServeCommandTests(ServeFixture f)
{
    [Fact]
    public void Serve_AMissingDirectoryOrABadOptionIsOneLine()
    {
        var (code, output, error) = CharLmFixture.Run("serve", "--models", Path.Combine(f.Models, "nothing-here"), "--port", "0");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal($"recurrent serve: models directory '{Path.Combine(f.Models, "nothing-here")}' not found (train a model first, or give --models DIR)\n", error);

        foreach (var (args, message) in new (string[], string)[]
                 {
                     (["--port", "70000"], "--port must be at most 65535"), (["--host", "example"], "--host must be an IP address"),
                     (["--max-concurrent", "0"], "--max-concurrent must be between 1 and 1024"), (["--prot", "1"], "unknown option --prot (did you mean --port?)"),
                     (["--models", Path.Combine(f.Lm, "config.json")], "is a file, not a directory"),
                 })
        {
            (code, output, error) = CharLmFixture.Run(["serve", .. args.Contains("--models") ? args : ["--models", f.Models, .. args]]);
            Assert.Equal(2, code);
            Assert.Contains(message, error);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
        }
    }

    [Fact]
    public void Serve_ABusyPortIsOneLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, output, error) = CharLmFixture.Run("serve", "--models", f.Models, "--port", port.ToString());
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith($"recurrent serve: cannot listen on 127.0.0.1 port {port}: ", error);
        Assert.Contains("in use", error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [PosixTheory]
    [InlineData(ChildCli.SigTerm, "SIGTERM")]
    [InlineData(ChildCli.SigInt, "Ctrl+C")]
    public async Task Serve_PrintsItsAddressOnOneLine_ServesUntilASignal(int signal, string name)
    {
        string prefix = Path.Combine(f.Models, "..", $"serve-{signal}");
        using var child = new ChildCli(f.Models, prefix, "serve", "--models", ".", "--port", "0");
        Assert.True(child.WaitUntil(() => child.Stdout.Contains('\n'), TimeSpan.FromSeconds(60)), $"no address printed; stderr: {child.Stderr}");
        var line = Regex.Match(child.Stdout, @"^serving 10 models from '\.' at (http://127\.0\.0\.1:(\d+)/)\n$");
        Assert.True(line.Success, child.Stdout);
        Assert.NotEqual("0", line.Groups[2].Value);

        using var http = new HttpClient();
        var models = JsonDocument.Parse(await http.GetStringAsync(line.Groups[1].Value + "api/models")).RootElement;
        Assert.Equal(10, models.GetArrayLength());
        var answer = await http.PostAsync(line.Groups[1].Value + "api/models/lm/generate", new StringContent("""{"length": 10, "seed": 1}"""));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);

        child.Signal(signal);
        Assert.Equal(0, child.Wait(TimeSpan.FromSeconds(30)));
        Assert.Equal($"recurrent serve: {name}: stopping\n", child.Stderr);
    }
}
