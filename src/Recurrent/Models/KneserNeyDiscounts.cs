namespace Recurrent.Models;

/// <summary>
/// The three discounts of modified Kneser–Ney for one order (Chen &amp; Goodman 1998, eq. 26): an n-gram seen once
/// gives up D1, twice D2, three or more times D3+. They come from that order's count-of-counts n_r (how many n-grams
/// have count r, r = 1..4):
///   Y = n1 / (n1 + 2·n2),   D_r = r − (r + 1)·Y·n_{r+1} / n_r   (r = 1, 2, 3; D3+ = D_3)
/// so D1 = Y. A term whose n_r is 0 has no value and counts as 0 (the tiny texts where this happens have no n-gram of
/// that count to discount), and each D_r is kept in [<see cref="Floor"/>, r]: never more than the count itself, so a
/// probability is never negative, and never 0, so every seen context keeps some mass for the lower order and, through
/// it, every character of the vocabulary has a probability above 0.
/// </summary>
public readonly record struct KneserNeyDiscounts(double D1, double D2, double D3Plus)
{
    /// <summary>The smallest discount. Reached only where a handful of counts make the count-of-counts degenerate: on
    /// tiny-shakespeare, D2 of the unigram level (65 characters whose count-of-counts n1..n4 are 3, 1, 2, 1, so the formula
    /// gives 2 − 3·0.6·2/1 &lt; 0), and at no higher order.</summary>
    public const double Floor = 0.01;

    /// <summary>D for an n-gram seen <paramref name="count"/> ≥ 1 times.</summary>
    public double For(long count) => count == 1 ? D1 : count == 2 ? D2 : D3Plus;

    /// <summary>The discounts of counts whose count-of-counts are n1..n4.</summary>
    public static KneserNeyDiscounts FromCountOfCounts(long n1, long n2, long n3, long n4)
    {
        if (n1 < 0 || n2 < 0 || n3 < 0 || n4 < 0) throw new ArgumentException($"count-of-counts must be ≥ 0 (got {n1}, {n2}, {n3}, {n4})");
        double y = n1 + 2 * n2 > 0 ? (double)n1 / (n1 + 2 * n2) : 0;
        double D(int r, long nr, long next) => Math.Clamp(r - (nr > 0 ? (r + 1) * y * next / nr : 0), Floor, r);
        return new KneserNeyDiscounts(D(1, n1, n2), D(2, n2, n3), D(3, n3, n4));
    }

    /// <summary>The discounts of a collection of counts (each ≥ 1).</summary>
    public static KneserNeyDiscounts FromCounts(IEnumerable<int> counts)
    {
        long n1 = 0, n2 = 0, n3 = 0, n4 = 0;
        foreach (int c in counts)
            switch (c)
            {
                case 1: n1++; break;
                case 2: n2++; break;
                case 3: n3++; break;
                case 4: n4++; break;
            }
        return FromCountOfCounts(n1, n2, n3, n4);
    }
}
