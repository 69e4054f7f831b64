namespace Recurrent.Tensors;

/// <summary>
/// A microkernel's row count as a type: the JIT compiles one copy of a generic kernel per struct below with the count
/// as a constant, so `if (R.Value &gt; 7)` guards vanish and a short edge panel costs no padded-row FMAs.
/// </summary>
internal interface IGemmRows { static abstract int Value { get; } }

internal struct GemmRows1 : IGemmRows { public static int Value => 1; }
internal struct GemmRows2 : IGemmRows { public static int Value => 2; }
internal struct GemmRows3 : IGemmRows { public static int Value => 3; }
internal struct GemmRows4 : IGemmRows { public static int Value => 4; }
internal struct GemmRows5 : IGemmRows { public static int Value => 5; }
internal struct GemmRows6 : IGemmRows { public static int Value => 6; }
internal struct GemmRows7 : IGemmRows { public static int Value => 7; }
internal struct GemmRows8 : IGemmRows { public static int Value => 8; }
internal struct GemmRows9 : IGemmRows { public static int Value => 9; }
internal struct GemmRows10 : IGemmRows { public static int Value => 10; }
internal struct GemmRows11 : IGemmRows { public static int Value => 11; }
internal struct GemmRows12 : IGemmRows { public static int Value => 12; }
