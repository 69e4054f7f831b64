using System.Runtime.InteropServices;
using Recurrent.Cli.Serve;
using Recurrent.Tensors;

namespace Recurrent.Cli.Commands;

/// <summary>`recurrent serve`: the models under a directory behind a JSON API and web pages, until Ctrl+C or SIGTERM.</summary>
internal static class ServeCommand
{
    public const string Summary = "serve the models under a directory: web pages and a JSON API (generate, classify, tag, translate)";

    private const string Usage = """
        usage: recurrent serve [--models DIR] [options]
          --models DIR          serve every model directory under DIR, best/ included (default runs)
          --port N              port to listen on (default 8000; 0 = any free port)
          --host ADDRESS        address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 = every interface)
          --max-concurrent N    inferences that run at once (default: the number of cores, at least 2)
          --queue N             requests that may wait for one (default 64); more are answered 503
          --threads N
        Prints the address on one line ("serving N models from DIR at http://HOST:PORT/"), then serves until Ctrl+C
        or SIGTERM. The pages: the index of the models at /, then /generate?model=NAME, /classify?model=NAME,
        /tag?model=NAME, /translate?model=NAME, /cells?model=NAME (a char-lm's cell activations) and
        /training?model=NAME (loss curves from log.jsonl, followed live); the API under /api (docs/serve.md).
        """;

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Flag("help")) { stdout.Write(Usage); return 0; }
        string models = args.OptionalDirectory("models", "the directory whose models are served") ?? "runs";
        int port = args.Int("port", ServeOptions.DefaultPort, 0, 65535);
        string host = args.String("host", "127.0.0.1");
        int running = args.Int("max-concurrent", 0, 1, 1024);
        int waiting = args.Int("queue", ServeOptions.DefaultQueue, 0, 100_000);
        if (args.Threads() is { } threads) Gemm.Threads = threads;
        if (args.Positional.Count > 0) throw CliArgs.Usage($"unexpected argument '{args.Positional[0]}'");
        args.RejectUnknown();
        try { ServeHost.ParseHost(host); }
        catch (ArgumentException e) { throw CliArgs.Usage(e.Message); }
        if (!Directory.Exists(models))
            throw new CliException($"models directory '{models}' not found (train a model first, or give --models DIR)");

        ServeHost server;
        try { server = ServeHost.StartAsync(new ServeOptions(models, host, port, running, waiting)).GetAwaiter().GetResult(); }
        catch (IOException e) { throw new CliException(e.Message); }

        using var stop = new CancellationTokenSource();
        string? why = null;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            why ??= context.Signal == PosixSignal.SIGINT ? "Ctrl+C" : "SIGTERM";
            stop.Cancel();
        }
        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal))
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal))
        {
            int count = server.Catalog.Scan().Count;
            stdout.WriteLine($"serving {count} model{(count == 1 ? "" : "s")} from '{models}' at {server.Url}");
            stdout.Flush();
            stop.Token.WaitHandle.WaitOne();
            stderr.WriteLine($"recurrent serve: {why}: stopping");
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return 0;
    }
}
