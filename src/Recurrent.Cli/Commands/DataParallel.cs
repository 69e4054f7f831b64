using System.Runtime.InteropServices;
using Recurrent.Distributed;
using Recurrent.Tensors;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>
/// `mpirun -np N recurrent train …`: the ranks a training run is one of. Everything before training (flags, data,
/// the model, a checkpoint to resume) is read and checked by every rank on its own, before MPI is started; rank 0
/// alone prints and writes the model directory (the others' stdout is discarded and their errors say their rank).
/// Without mpirun this is the process alone and MPI is never loaded.
/// </summary>
internal sealed class DataParallel
{
    /// <summary>The SIGUSR1 signal (Linux): mpirun forwards it to every rank, which then stop after the same step and
    /// save. mpirun answers SIGINT and SIGTERM by killing the job, too fast for a checkpoint.</summary>
    internal const PosixSignal StopSignal = (PosixSignal)10;

    private readonly MpiCollective? _mpi;

    /// <summary>The ranks; <see cref="SingleProcess"/> without mpirun.</summary>
    public ICollective Group { get; }

    private DataParallel(MpiCollective? mpi)
    {
        _mpi = mpi;
        Group = mpi ?? (ICollective)SingleProcess.Instance;
    }

    /// <summary>This process's rank and the job's size, from mpirun's environment (0 and 1 without it).</summary>
    public static (int Rank, int Size) Place => MpiCollective.FromEnvironment();

    /// <summary>Under mpirun a rank other than 0 writes nothing to stdout, and its error lines start with its rank.</summary>
    public static (TextWriter Stdout, TextWriter Stderr) Writers(TextWriter stdout, TextWriter stderr)
    {
        var (rank, _) = Place;
        return rank == 0 ? (stdout, stderr) : (TextWriter.Null, new RankPrefixedWriter(stderr, rank));
    }

    /// <summary>
    /// GEMM threads per rank: --threads, else the cores shared out among the ranks on this machine (mpirun's
    /// OMPI_COMM_WORLD_LOCAL_SIZE), so that 2 ranks on 2 cores do not each start 2 threads.
    /// </summary>
    public static void SetThreads(CliArgs args)
    {
        if (args.Threads() is { } threads) Gemm.Threads = threads;
        else if (LocalRanks is { } local) Gemm.Threads = Math.Max(1, Environment.ProcessorCount / local);
    }

    /// <summary>The ranks mpirun started on this machine (OMPI_COMM_WORLD_LOCAL_SIZE); null without mpirun.</summary>
    private static int? LocalRanks =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int local) && local > 0 ? local : null;

    /// <summary>
    /// --overlap auto|on|off: whether to sum gradients while backward runs. Over a network the sum is the NIC's work
    /// and hides behind backward; on one machine it is memory copies that compete with backward for the same cores
    /// (measured in docs/distributed.md), so auto turns it on only when the ranks span several machines (fewer ranks
    /// on this one, OMPI_COMM_WORLD_LOCAL_SIZE, than in the job).
    /// </summary>
    public static bool Overlap(CliArgs args) => args.Choice("overlap", "auto", "auto", "on", "off") switch
    {
        "on" => true,
        "off" => false,
        _ => LocalRanks < Place.Size,
    };

    /// <summary>Starts MPI when mpirun launched this process (the last step before training).</summary>
    public static DataParallel Join() => new(MpiCollective.Launched ? MpiCollective.Start() : null);

    /// <summary>Rejects a run that cannot be shared by the ranks (a batch smaller than the number of ranks).</summary>
    public static void RequireBatch(int batch, string what)
    {
        var (_, size) = Place;
        if (batch < size)
            throw new CliException($"--batch {batch}: each of the {size} ranks needs at least one {what} of the batch (the batch is global, shared out among the ranks)", 2);
    }

    /// <summary>Trains, and ends MPI when every rank got to the same end: the last step, or a non-finite loss (all ranks
    /// see the same loss). Any other failure is this rank's alone: it leaves without MPI_Finalize, and mpirun ends the
    /// other ranks, which may be waiting for this one in a collective.</summary>
    public TrainingResult Run(Func<TrainingResult> train)
    {
        try
        {
            var result = train();
            _mpi?.Dispose();
            return result;
        }
        catch (NonFiniteLossException)
        {
            _mpi?.Dispose();
            throw;
        }
    }

    private sealed class RankPrefixedWriter(TextWriter inner, int rank) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;
        public override void Write(char value) => inner.Write(value);
        public override void WriteLine(string? value) => inner.WriteLine($"rank {rank}: {value}");
        public override void Flush() => inner.Flush();
    }
}
