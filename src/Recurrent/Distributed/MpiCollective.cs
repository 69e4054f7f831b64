namespace Recurrent.Distributed;

/// <summary>
/// The ranks of an Open MPI job (MPI_COMM_WORLD). <see cref="Launched"/> tells, from the environment mpirun gives its
/// processes, whether this process is one of them — without loading libmpi — so a program run the usual way never
/// touches MPI.
/// </summary>
public sealed class MpiCollective : ICollective, IDisposable
{
    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Size { get; }

    private MpiCollective(int rank, int size) { Rank = rank; Size = size; }

    /// <summary>Whether mpirun (Open MPI's launcher) started this process: it sets OMPI_COMM_WORLD_SIZE.</summary>
    public static bool Launched => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") != null;

    /// <summary>This process's rank and the job's size as mpirun's environment gives them (before MPI_Init), or (0, 1)
    /// when not launched by mpirun.</summary>
    public static (int Rank, int Size) FromEnvironment()
    {
        if (!Launched) return (0, 1);
        static int Read(string name) => int.TryParse(Environment.GetEnvironmentVariable(name), out int v) ? v : 0;
        return (Read("OMPI_COMM_WORLD_RANK"), Math.Max(1, Read("OMPI_COMM_WORLD_SIZE")));
    }

    /// <summary>MPI_Init_thread and this rank's place in MPI_COMM_WORLD. Throws <see cref="MpiException"/>.</summary>
    public static MpiCollective Start()
    {
        var (rank, size) = Mpi.Init();
        return new MpiCollective(rank, size);
    }

    /// <inheritdoc/>
    public void Sum(Span<float> data) => Mpi.SumInPlace(data);
    /// <inheritdoc/>
    public void Sum(Span<double> data) => Mpi.SumInPlace(data);
    /// <inheritdoc/>
    public void Sum(Span<long> data) => Mpi.SumInPlace(data);
    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root) => Mpi.Broadcast(data, root);

    /// <summary>Waits for every rank (MPI_Barrier).</summary>
    public void Barrier() => Mpi.Barrier();

    /// <summary>MPI_Finalize: after the last collective, on every rank.</summary>
    public void Dispose() => Mpi.End();
}
