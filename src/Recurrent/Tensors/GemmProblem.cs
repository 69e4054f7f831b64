namespace Recurrent.Tensors;

/// <summary>
/// One validated, pinned GEMM call: C[m,n] = (C +) op(A)[m,k]·op(B)[k,n] as raw pointers with leading dimensions.
/// The caller keeps A, B and C pinned while any thread works on it. When packedB is set, op(B) comes already packed
/// (see <see cref="GemmPackedB"/>) and B/ldb/transB are unused. A bias (n floats, without accumulate) is added to
/// every row: C = op(A)·op(B) + bias, stored once instead of filling C first.
/// </summary>
internal readonly unsafe struct GemmProblem(
    float* a, int lda, bool transA, float* b, int ldb, bool transB, float* c, int ldc, int m, int n, int k, bool accumulate,
    GemmPackedB? packedB = null, float* bias = null)
{
    public readonly float* A = a, B = b, C = c, Bias = bias;
    public readonly GemmPackedB? PackedB = packedB;
    public readonly int Lda = lda, Ldb = ldb, Ldc = ldc, M = m, N = n, K = k;
    public readonly bool TransA = transA, TransB = transB, Accumulate = accumulate;
}

/// <summary>Columns [Start, End) of C: one of the ranges a thread's share of a product may consist of.</summary>
internal readonly record struct ColumnRange(int Start, int End);
