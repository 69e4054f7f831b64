using System.Runtime.CompilerServices;
using System.Numerics;

namespace Recurrent.Tensors;

/// <summary>
/// A seeded random source whose whole state is four numbers, so a checkpoint can save it and a resumed run draws
/// exactly what the uninterrupted run would have drawn (System.Random's state cannot be saved).
/// xoshiro128** seeded through splitmix64.
/// </summary>
public sealed class Rng
{
    private uint _s0, _s1, _s2, _s3;

    /// <summary>A generator whose state is splitmix64 of <paramref name="seed"/>: the same seed draws the same numbers on every machine.</summary>
    public Rng(ulong seed)
    {
        ulong x = seed;
        ulong a = SplitMix(ref x), b = SplitMix(ref x);
        _s0 = (uint)a; _s1 = (uint)(a >> 32); _s2 = (uint)b; _s3 = (uint)(b >> 32);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1;
    }

    /// <summary>The four numbers of the state; setting them makes the next draws those the saved Rng drew next (every
    /// layer holding this Rng sees the change, so a model restores all its dropout draws at once).</summary>
    public uint[] State
    {
        get => [_s0, _s1, _s2, _s3];
        set
        {
            if (value.Length != 4 || (value[0] | value[1] | value[2] | value[3]) == 0)
                throw new ArgumentException("an Rng state is four numbers, not all zero");
            (_s0, _s1, _s2, _s3) = (value[0], value[1], value[2], value[3]);
        }
    }

    /// <summary>A generator that draws next what the one whose <see cref="State"/> was saved would have drawn.</summary>
    public static Rng FromState(uint[] state) => new(0) { State = state };

    // The process-wide generator, torch's default generator: layers built without an Rng take theirs from it, so two
    // of them start from different weights and a program that sets the seed first is reproducible. Built on any
    // thread, so every use is under the lock (building a layer is not a hot path); it only ever seeds a layer's own
    // Rng, which is then the layer's alone, so the layers' later draws (dropout masks) need no lock.
    private static readonly Lock GlobalLock = new();
    private static Rng _global = new(0);

    /// <summary>
    /// Seeds the process-wide generator (torch.manual_seed): the layers built without an Rng after this call get the
    /// same weights in every run that builds them in the same order. Until it is called the seed is 0. Layers built on
    /// several threads at once take their seeds in whatever order the threads reach the generator.
    /// </summary>
    public static void SetGlobalSeed(ulong seed)
    {
        lock (GlobalLock) _global = new Rng(seed);
    }

    /// <summary>
    /// A new Rng of its own for a layer built without one, seeded by the next 64 bits of the process-wide generator
    /// (see <see cref="SetGlobalSeed"/>): each call gives another stream. Safe to call from any thread.
    /// </summary>
    public static Rng FromGlobal()
    {
        lock (GlobalLock) return new Rng(((ulong)_global.NextUInt() << 32) | _global.NextUInt());
    }

    /// <summary>The next 32 random bits (one xoshiro128** step).</summary>
    public uint NextUInt() => Next(ref _s0, ref _s1, ref _s2, ref _s3);

    /// <summary>
    /// The next destination.Length values of <see cref="NextUInt"/>, in order, with the state in registers through the
    /// loop: a NextUInt call loads the state from the object and stores it back at every value, and each value waits
    /// for the last one's stores. Dropout's masks (750,000 values a translation step) take half the time with it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Fill(Span<uint> destination)
    {
        uint s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;
        for (int i = 0; i < destination.Length; i++) destination[i] = Next(ref s0, ref s1, ref s2, ref s3);
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Next(ref uint s0, ref uint s1, ref uint s2, ref uint s3)
    {
        uint result = BitOperations.RotateLeft(s1 * 5, 7) * 9;
        uint t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = BitOperations.RotateLeft(s3, 11);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits, every value exactly representable as float.</summary>
    public float NextFloat() => (NextUInt() >> 8) * (1.0f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (((ulong)NextUInt() << 21) ^ (NextUInt() >> 11)) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [low, high), from one <see cref="NextFloat"/>.</summary>
    public float Uniform(float low, float high) => low + (high - low) * NextFloat();

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => n <= 0 ? throw new ArgumentOutOfRangeException(nameof(n)) : (int)(((ulong)NextUInt() * (uint)n) >> 32);

    /// <summary>Standard normal by Box–Muller (one value per call; simplicity over speed, it is not on a hot path).</summary>
    public float Normal()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
