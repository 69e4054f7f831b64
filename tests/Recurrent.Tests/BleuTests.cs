using Recurrent.Metrics;
using Xunit;

namespace Recurrent.Tests;

public class BleuTests
{
    private static string[] T(string text) => text.Split(' ');

    private static BleuScore Sentence(string hypothesis, params string[] references)
    {
        var statistics = new BleuStatistics();
        statistics.Add(T(hypothesis), references.Select(T).ToArray());
        return statistics.Score();
    }

    // Papineni et al. (2002) section 2.1 and NLTK's bleu_score doctests (nltk/translate/bleu_score.py).
    private static readonly string[] Hyp1 = T("It is a guide to action which ensures that the military always obeys the commands of the party");
    private static readonly string[] Ref1A = T("It is a guide to action that ensures that the military will forever heed Party commands");
    private static readonly string[] Ref1B = T("It is the guiding principle which guarantees the military forces always being under the command of the Party");
    private static readonly string[] Ref1C = T("It is the practical guide for the army always to heed the directions of the party");
    private static readonly string[] Hyp2 = T("he read the book because he was interested in world history");
    private static readonly string[] Ref2A = T("he was interested in world history because he read the book");

    [Fact]
    public void ClippingCountsAWordAtMostAsOftenAsOneReferenceHasIt()
    {
        // Papineni's "the the the the the the the": "the" is clipped to 2 (reference 1 has it twice), p1 = 2/7; no
        // bigram matches, so BLEU is 0 (no smoothing).
        var s = Sentence("the the the the the the the", "the cat is on the mat", "there is a cat on the mat");
        Assert.Equal(100.0 * 2 / 7, s.Precisions[0], 10);
        Assert.Equal(0, s.Precisions[1]);
        Assert.Equal(0, s.Bleu);
        Assert.Equal(1, s.BrevityPenalty);
        Assert.Equal(7, s.HypothesisLength);
        Assert.Equal(7, s.ReferenceLength); // lengths 6 and 7: 7 is closest to 7
    }

    [Fact]
    public void MultipleReferencesClipByTheMaximumOverReferences_NotTheirSum()
    {
        // "the" twice in the hypothesis, at most twice in one reference (the second): 2. "cat" twice, at most once: 1.
        // p1 = 3/4 (a sum over references would allow cat twice: 4/4). Bigrams: "the cat" ×2 clipped to 1, "cat the" 0:
        // p2 = 1/3. Trigrams "the cat the", "cat the cat" match nothing: p3 = 0, so BLEU = 0.
        var s = Sentence("the cat the cat", "the cat sat", "the the cat");
        Assert.Equal(75, s.Precisions[0], 10);
        Assert.Equal(100.0 / 3, s.Precisions[1], 10);
        Assert.Equal(0, s.Precisions[2]);
        Assert.Equal(0, s.Precisions[3]);
        Assert.Equal(0, s.Bleu);
        Assert.Equal(3, s.ReferenceLength); // both references have 3 tokens
    }

    [Fact]
    public void BrevityPenaltyUsesTheClosestReferenceLength_TiesTakeTheShorter()
    {
        // c = 4, references of 5 and 2 tokens: 5 is closest (not the shortest), BP = exp(1 − 5/4), every p_n = 1.
        var closest = Sentence("a b c d", "a b c d e", "x y");
        Assert.Equal(5, closest.ReferenceLength);
        Assert.Equal(Math.Exp(-0.25), closest.BrevityPenalty, 12);
        Assert.Equal(100 * Math.Exp(-0.25), closest.Bleu, 10); // 77.880078307...
        Assert.All(closest.Precisions, p => Assert.Equal(100, p));

        // References of 5 and 3 tokens are both 1 away from 4: the shorter, 3, is used, so c > r and BP = 1
        // (in either order of the references).
        var tie = Sentence("a b c d", "a b c d e", "a b c");
        Assert.Equal(3, tie.ReferenceLength);
        Assert.Equal(1, tie.BrevityPenalty);
        Assert.Equal(100, tie.Bleu, 10);
        Assert.Equal(3, Sentence("a b c d", "a b c", "a b c d e").ReferenceLength);

        // c = r: no penalty. An empty hypothesis: BP = 0 and BLEU = 0.
        Assert.Equal(1, Sentence("a b c d", "a b c d").BrevityPenalty);
        var empty = new BleuStatistics();
        empty.Add([], [T("a b")]);
        Assert.Equal(0, empty.Score().BrevityPenalty);
        Assert.Equal(0, empty.Score().Bleu);
    }

    [Fact]
    public void CorpusBleuSumsCountsAndLengths_ItIsNotTheMeanOfSentenceBleus()
    {
        // By hand: sentence A matches its reference's first 4 tokens (c 4, r 6), sentence B matches exactly (c 4, r 4).
        // Every p_n = 1. Corpus: BP = exp(1 − 10/8) = 0.7788, BLEU 77.88. Sentences: A exp(1 − 6/4) = 60.65, B 100;
        // their mean, 80.33, is not the corpus BLEU.
        var corpus = Bleu.Corpus([T("a b c d"), T("w x y z")], [[T("a b c d e f")], [T("w x y z")]]);
        Assert.Equal(8, corpus.HypothesisLength);
        Assert.Equal(10, corpus.ReferenceLength);
        Assert.Equal(100 * Math.Exp(-0.25), corpus.Bleu, 10);
        Assert.Equal(100 * Math.Exp(-0.5), Sentence("a b c d", "a b c d e f").Bleu, 10);

        // NLTK's corpus_bleu doctest: corpus_bleu([[ref1a, ref1b, ref1c], [ref2a]], [hyp1, hyp2]) = 0.5920..., while the
        // mean of the two sentence_bleu values is 0.6223... Worked by hand from NLTK's formula (and checked once with a
        // 30-line Python re-implementation run with /usr/bin/python3, since NLTK is not installed): matches / totals
        // per order are hyp1 17/18, 10/17, 7/16, 4/15 and hyp2 11/11, 9/10, 6/9, 4/8, so the corpus has 28/29, 19/27,
        // 13/25, 8/23; c = 18 + 11 = 29 and r = 18 (ref1b, exactly 18 tokens) + 11 = 29, BP = 1;
        // BLEU = (28/29 · 19/27 · 13/25 · 8/23)^¼ = 0.5920778869. Sentence BLEUs 0.5045666840 and 0.7400828045, mean
        // 0.6223247444. Every hypothesis has at least 4 tokens, so NLTK's max(1, ·) denominators change nothing here.
        var nltk = Bleu.Corpus([Hyp1, Hyp2], [[Ref1A, Ref1B, Ref1C], [Ref2A]]);
        Assert.Equal(59.20778868801, nltk.Bleu, 8);
        Assert.Equal(1, nltk.BrevityPenalty);
        Assert.Equal(29, nltk.HypothesisLength);
        Assert.Equal(29, nltk.ReferenceLength);
        double[] precisions = [100.0 * 28 / 29, 100.0 * 19 / 27, 100.0 * 13 / 25, 100.0 * 8 / 23];
        for (int n = 0; n < 4; n++) Assert.Equal(precisions[n], nltk.Precisions[n], 10);
        double first = Bleu.Corpus([Hyp1], [[Ref1A, Ref1B, Ref1C]]).Bleu, second = Bleu.Corpus([Hyp2], [[Ref2A]]).Bleu;
        Assert.Equal(50.45666840058, first, 8);
        Assert.Equal(74.00828044923, second, 8);
        Assert.Equal(62.23247442491, (first + second) / 2, 8);
    }

    [Fact]
    public void MergedAccumulatorsEqualOneOverTheWholeCorpus()
    {
        var whole = new BleuStatistics();
        whole.Add(Hyp1, [Ref1A, Ref1B, Ref1C]);
        whole.Add(Hyp2, [Ref2A]);
        var part = new BleuStatistics();
        part.Add(Hyp2, [Ref2A]);
        var merged = new BleuStatistics();
        merged.Add(Hyp1, [Ref1A, Ref1B, Ref1C]);
        merged.Add(part);
        Assert.Equal(whole.Matches, merged.Matches);
        Assert.Equal(whole.Totals, merged.Totals);
        Assert.Equal([28L, 19, 13, 8], merged.Matches);
        Assert.Equal([29L, 27, 25, 23], merged.Totals);
        Assert.Equal(2, merged.Sentences);
        Assert.Equal(whole.Score().Bleu, merged.Score().Bleu);
    }

    [Fact]
    public void ShortHypothesesAddNoHigherOrderNGrams_SoACorpusWithoutFourGramsScoresZero()
    {
        // "allez !" has no 3- or 4-grams; "il essaye ." has one 3-gram and no 4-gram. p4 has no denominator: 0, BLEU 0.
        // (NLTK would count denominators of 1 for each missing order: p3 = 1/2 instead of 1/1.)
        var s = Bleu.Corpus([T("allez !"), T("il essaye .")], [[T("allez !"), T("venez !")], [T("il essaie ."), T("il essaye .")]]);
        Assert.Equal([100.0, 100, 100, 0], s.Precisions);
        Assert.Equal(0, s.Bleu);
        Assert.Equal(0, new BleuStatistics().Score().Bleu);
    }

    [Fact]
    public void BadArgumentsAreErrors()
    {
        Assert.Contains("at least one reference", Assert.Throws<ArgumentException>(() => new BleuStatistics().Add(T("a"), [])).Message);
        Assert.Contains("2 hypotheses but 1 reference lists",
            Assert.Throws<ArgumentException>(() => Bleu.Corpus([T("a"), T("b")], [[T("a")]])).Message);
    }
}
