namespace Recurrent.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // mpirun gives its ranks a pseudo-terminal for stdout; .NET would then switch it to keypad mode, writing
        // "ESC[?1h ESC=" into what may be JSON. A rank's output is relayed by mpirun, never a terminal of its own.
        if (Distributed.MpiCollective.Launched) Environment.SetEnvironmentVariable("TERM", "dumb");
        return Cli.Run(args, Console.Out, Console.Error);
    }
}
