using System.Diagnostics;
using System.Text.Json;
using Recurrent.Distributed;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `mpirun -np N recurrent bench allreduce [--json]`: the time of one in-place sum all-reduce of float32 buffers from
/// 4 B to 64 MiB over the job's ranks — what data-parallel training pays per step for its gradients. Rank 0 prints.
/// </summary>
public static class BenchAllreduceCommand
{
    public const string Summary = "time of the gradients' sum over mpirun's ranks, 4 B to 64 MiB (run under mpirun -np N)";

    public const string Usage = """
        usage: recurrent bench allreduce [options]
          run under mpirun: mpirun -np N recurrent bench allreduce
          microseconds per MPI_Allreduce (float32 sum, in place) from 4 B to 64 MiB, and the bus bandwidth
          2(N−1)/N × bytes / time: the bytes a ring all-reduce moves through each rank's link, per second
          --json         one JSON array, one object per size, instead of the table
        """;

    private const int MaxFloats = 16 << 20; // 64 MiB

    public static int Run(CliArgs args, TextWriter stdout, TextWriter stderr)
    {
        bool json = args.Flag("json");
        // Hidden: the largest buffer (tests shorten it).
        int maxFloats = args.Int("max-floats", MaxFloats, min: 1, max: 1 << 28);
        args.RejectUnknown();
        if (!MpiCollective.Launched) throw CliArgs.Usage("bench allreduce measures the ranks of an MPI job: run it as `mpirun -np 2 recurrent bench allreduce`");

        using var group = MpiCollective.Start();
        var buffer = new float[maxFloats];
        var rows = new List<(long Bytes, double Microseconds, double BusGBs)>();
        for (int floats = 1; floats <= maxFloats; floats *= 4)
        {
            var data = buffer.AsSpan(0, floats);
            // The same count on every rank (a collective): enough calls for about 64 MiB moved, between 10 and 1,000.
            int calls = Math.Clamp(MaxFloats / floats, 10, 1000);
            for (int i = 0; i < 3; i++) group.Sum(data); // warm-up: connections, pinned pages
            group.Barrier();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++) group.Sum(data);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds / calls;
            long bytes = floats * 4L;
            double bus = 2.0 * (group.Size - 1) / group.Size * bytes / seconds / 1e9;
            rows.Add((bytes, seconds * 1e6, bus));
        }
        if (group.Rank != 0) return 0;
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(rows.Select(r => new Dictionary<string, object>
            {
                ["ranks"] = group.Size, ["bytes"] = r.Bytes, ["microseconds"] = Math.Round(r.Microseconds, 2),
                ["bus_gb_per_s"] = Math.Round(r.BusGBs, 3),
            })));
            return 0;
        }
        stdout.WriteLine($"{group.Size} ranks; MPI_Allreduce, float32 sum, in place");
        stdout.WriteLine($"{"bytes",12} {"µs",10} {"bus GB/s",9}");
        foreach (var (bytes, us, bus) in rows) stdout.WriteLine($"{bytes,12:N0} {us,10:F1} {bus,9:F2}");
        return 0;
    }
}
