using System.Runtime.InteropServices;
using System.Text;

namespace Recurrent.Distributed;

/// <summary>
/// The thin binding to Open MPI (Debian's openmpi-bin / libmpi.so.40) that data-parallel training needs, and nothing
/// more: init with thread support, rank and size of MPI_COMM_WORLD, in-place sum all-reduce of float, double and long
/// buffers, broadcast of bytes, barrier and finalize. Errors return codes (MPI_ERRORS_RETURN) that become one
/// <see cref="MpiException"/> line each instead of Open MPI's default of killing the job with a banner.
///
/// The library is opened on the first call, with RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve symbols of
/// libmpi itself, which a private (RTLD_LOCAL) load — what NativeLibrary.Load does — hides from them. A process not
/// started by mpirun never gets here, so it never loads libmpi. Handles such as MPI_COMM_WORLD and MPI_FLOAT are, in
/// Open MPI's ABI, the addresses of its global objects (ompi_mpi_comm_world, …), read from the library's exports.
/// </summary>
internal static unsafe class Mpi
{
    private const int ThreadSerialized = 2, ThreadMultiple = 3, Success = 0, MaxErrorString = 256;
    private const int RtldNow = 2, RtldGlobal = 0x100;
    private static readonly nint InPlace = 1;

    private static nint _library;
    private static nint _world, _float, _double, _long, _byte, _sum;
    private static delegate* unmanaged<int*, byte***, int, int*, int> _initThread;
    private static delegate* unmanaged<int*, int> _initialized;
    private static delegate* unmanaged<int*, int> _finalized;
    private static delegate* unmanaged<int> _finalize;
    private static delegate* unmanaged<nint, int*, int> _commRank, _commSize;
    private static delegate* unmanaged<nint, nint, int> _commSetErrhandler;
    private static delegate* unmanaged<nint, void*, int, nint, nint, nint, int> _allreduce;
    private static delegate* unmanaged<void*, int, nint, int, nint, int> _bcast;
    private static delegate* unmanaged<nint, int> _barrier;
    private static delegate* unmanaged<int, byte*, int*, int> _errorString;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint DlOpen(string file, int mode);

    /// <summary>
    /// MPI_Init_thread asking for MPI_THREAD_MULTIPLE (the gradient reducer calls MPI from its own thread, never at the
    /// same time as another thread: SERIALIZED is what it needs), then errors set to return on MPI_COMM_WORLD.
    /// Returns (rank, size). Throws <see cref="MpiException"/> when libmpi cannot be loaded or gives less.
    /// </summary>
    public static (int Rank, int Size) Init()
    {
        Load();
        int flag;
        Check(_initialized(&flag), "MPI_Initialized");
        if (flag == 0)
        {
            int provided;
            Check(_initThread(null, null, ThreadMultiple, &provided), "MPI_Init_thread");
            if (provided < ThreadSerialized)
                throw new MpiException($"this Open MPI gives thread level {provided}; training needs MPI_THREAD_SERIALIZED (2) or more");
            Check(_commSetErrhandler(_world, NativeLibrary.GetExport(_library, "ompi_mpi_errors_return")), "MPI_Comm_set_errhandler");
        }
        int rank, size;
        Check(_commRank(_world, &rank), "MPI_Comm_rank");
        Check(_commSize(_world, &size), "MPI_Comm_size");
        return (rank, size);
    }

    /// <summary>Sums <paramref name="data"/> over every rank, in place (MPI_Allreduce with MPI_IN_PLACE, MPI_SUM).</summary>
    public static void SumInPlace(Span<float> data) => SumInPlace(data, _float);
    /// <inheritdoc cref="SumInPlace(Span{float})"/>
    public static void SumInPlace(Span<double> data) => SumInPlace(data, _double);
    /// <inheritdoc cref="SumInPlace(Span{float})"/>
    public static void SumInPlace(Span<long> data) => SumInPlace(data, _long);

    private static void SumInPlace<T>(Span<T> data, nint type) where T : unmanaged
    {
        if (data.IsEmpty) return;
        fixed (T* p = data) Check(_allreduce(InPlace, p, data.Length, type, _sum, _world), "MPI_Allreduce");
    }

    /// <summary>Copies rank <paramref name="root"/>'s bytes into every other rank's <paramref name="data"/> (MPI_Bcast).</summary>
    public static void Broadcast(Span<byte> data, int root)
    {
        if (data.IsEmpty) return;
        fixed (byte* p = data) Check(_bcast(p, data.Length, _byte, root, _world), "MPI_Bcast");
    }

    /// <summary>MPI_Barrier on MPI_COMM_WORLD.</summary>
    public static void Barrier() => Check(_barrier(_world), "MPI_Barrier");

    /// <summary>MPI_Finalize, once, when MPI was initialized and not yet finalized.</summary>
    public static void End()
    {
        if (_library == 0) return;
        int initialized, finalized;
        if (_initialized(&initialized) != Success || initialized == 0) return;
        if (_finalized(&finalized) != Success || finalized != 0) return;
        _finalize();
    }

    private static void Load()
    {
        if (_library != 0) return;
        nint library = 0;
        foreach (string name in new[] { "libmpi.so.40", "libmpi.so" })
            if ((library = DlOpen(name, RtldNow | RtldGlobal)) != 0) break;
        if (library == 0)
            throw new MpiException("libmpi.so.40 (Open MPI) could not be loaded: install openmpi-bin and libopenmpi-dev, or run without mpirun");
        nint Export(string name) => NativeLibrary.GetExport(library, name);
        _world = Export("ompi_mpi_comm_world");
        _float = Export("ompi_mpi_float");
        _double = Export("ompi_mpi_double");
        _long = Export("ompi_mpi_long_long_int");
        _byte = Export("ompi_mpi_byte");
        _sum = Export("ompi_mpi_op_sum");
        _initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        _initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        _commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        _commSetErrhandler = (delegate* unmanaged<nint, nint, int>)Export("MPI_Comm_set_errhandler");
        _allreduce = (delegate* unmanaged<nint, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        _bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        _barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        _library = library;
    }

    private static void Check(int code, string call)
    {
        if (code == Success) return;
        byte* text = stackalloc byte[MaxErrorString];
        int length = 0;
        string message = _errorString(code, text, &length) == Success ? Encoding.UTF8.GetString(text, length) : $"error {code}";
        throw new MpiException($"{call} failed: {message}");
    }
}

/// <summary>An MPI call failed (a rank gone, the network down); the message is one line naming the call.</summary>
public sealed class MpiException(string message) : Exception(message);
