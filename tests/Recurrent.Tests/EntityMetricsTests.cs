using Recurrent.Metrics;
using Xunit;

namespace Recurrent.Tests;

public class EntityMetricsTests
{
    private static List<(string, int, int)> Spans(params string[] tags) =>
        EntityMetrics.Entities(tags).Select(e => (e.Type, e.Start, e.End)).ToList();

    [Fact]
    public void EntitiesFollowConllevalsChunkRules()
    {
        // An entity at the end of the sentence is closed there.
        Assert.Equal([("PER", 0, 2), ("LOC", 3, 4)], Spans("B-PER", "I-PER", "O", "B-LOC"));
        // I- after O, or first in the sentence, starts an entity.
        Assert.Equal([("PER", 1, 3)], Spans("O", "I-PER", "I-PER"));
        Assert.Equal([("PER", 0, 1)], Spans("I-PER"));
        // I-X after B-Y starts an X entity; so does I-X after I-Y.
        Assert.Equal([("PER", 0, 1), ("LOC", 1, 2)], Spans("B-PER", "I-LOC"));
        Assert.Equal([("PER", 0, 2), ("LOC", 2, 3)], Spans("B-PER", "I-PER", "I-LOC"));
        // B-X always starts one: two adjacent entities of the same type.
        Assert.Equal([("PER", 0, 1), ("PER", 1, 3)], Spans("B-PER", "B-PER", "I-PER"));
        // The type is everything after the first hyphen.
        Assert.Equal([("creative-work", 0, 2)], Spans("B-creative-work", "I-creative-work"));
        // Tags without a prefix are outside every entity.
        Assert.Empty(Spans("NOUN", "VERB", "O"));
        Assert.Empty(Spans());
    }

    [Fact]
    public void IsBioNeedsPrefixesAndABeginTag()
    {
        Assert.True(EntityMetrics.IsBio(["O", "B-PER", "I-PER", "B-creative-work"]));
        Assert.True(EntityMetrics.IsBio(["B-X"]));
        Assert.False(EntityMetrics.IsBio(["O", "I-PER"]));                // no B- tag (IOB1 without any B)
        Assert.False(EntityMetrics.IsBio(["NOUN", "VERB", "O"]));         // POS tags
        Assert.False(EntityMetrics.IsBio(["O", "B-PER", "E-PER", "S-PER"])); // IOBES
        Assert.False(EntityMetrics.IsBio(["O", "B-"]));                   // no type
        Assert.False(EntityMetrics.IsBio([]));
    }

    // Seven sentences, one idea each (gold | predicted):
    //  1 B-PER I-PER O B-LOC | same                -> exact match: PER and LOC correct
    //  2 B-ORG I-ORG O       | B-LOC I-LOC O       -> wrong type: gold ORG missed, predicted LOC wrong
    //  3 B-PER I-PER I-PER   | B-PER I-PER O       -> wrong boundary: PER(0,3) vs PER(0,2), nothing correct
    //  4 O B-MISC I-MISC     | O I-MISC I-MISC     -> I- after O starts an entity: MISC(1,3) correct
    //  5 B-PER B-PER         | B-PER I-PER         -> two adjacent gold PERs vs one predicted PER(0,2): none correct
    //  6 B-ORG I-LOC         | B-ORG B-LOC         -> I-LOC after B-ORG is its own LOC(1,2): ORG and LOC correct
    //  7 O O                 | B-PER B-ORG         -> two spurious predictions
    // Gold entities 9 (PER 4, LOC 2, ORG 2, MISC 1); predicted 10 (PER 4, LOC 3, ORG 2, MISC 1);
    // correct 5 (PER 1, LOC 2, ORG 1, MISC 1).
    // Micro: P = 5/10, R = 5/9, F1 = 2·(1/2)(5/9)/(1/2 + 5/9) = 10/19.
    // Tokens 19, equal tags 4 + 1 + 2 + 2 + 1 + 1 + 0 = 11.
    // conlleval.pl on the same seven sentences prints (its last column is the predicted count, ours is gold support):
    //   processed 19 tokens with 9 phrases; found: 10 phrases; correct: 5.
    //   accuracy:  57.89%; precision:  50.00%; recall:  55.56%; FB1:  52.63
    //                 LOC: precision:  66.67%; recall: 100.00%; FB1:  80.00  3
    //                MISC: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
    //                 ORG: precision:  50.00%; recall:  50.00%; FB1:  50.00  2
    //                 PER: precision:  25.00%; recall:  25.00%; FB1:  25.00  4
    private static readonly (string[] Gold, string[] Predicted)[] Sentences =
    [
        (["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "I-PER", "O", "B-LOC"]),
        (["B-ORG", "I-ORG", "O"], ["B-LOC", "I-LOC", "O"]),
        (["B-PER", "I-PER", "I-PER"], ["B-PER", "I-PER", "O"]),
        (["O", "B-MISC", "I-MISC"], ["O", "I-MISC", "I-MISC"]),
        (["B-PER", "B-PER"], ["B-PER", "I-PER"]),
        (["B-ORG", "I-LOC"], ["B-ORG", "B-LOC"]),
        (["O", "O"], ["B-PER", "B-ORG"]),
    ];

    [Fact]
    public void HandWorkedCorpusMatchesConlleval()
    {
        var m = new EntityMetrics();
        foreach (var (g, p) in Sentences) m.Add(g, p);
        Assert.Equal(7, m.Sentences);
        Assert.Equal(19, m.Tokens);
        Assert.Equal((9L, 10L, 5L), (m.GoldEntities, m.PredictedEntities, m.CorrectEntities));
        Assert.Equal(11.0 / 19, m.TokenAccuracy, 12);
        Assert.Equal(0.5, m.Precision, 12);
        Assert.Equal(5.0 / 9, m.Recall, 12);
        Assert.Equal(10.0 / 19, m.F1, 12);
        Assert.Equal("52.63", (100 * m.F1).ToString("F2", System.Globalization.CultureInfo.InvariantCulture));

        var t = m.PerType;
        Assert.Equal(["LOC", "MISC", "ORG", "PER"], t.Keys);
        // LOC: correct 2, predicted 3, gold 2 -> P = 2/3, R = 1, F1 = 4/5.
        Assert.Equal(2.0 / 3, t["LOC"].Precision, 12);
        Assert.Equal(1.0, t["LOC"].Recall, 12);
        Assert.Equal(0.8, t["LOC"].F1, 12);
        Assert.Equal(2, t["LOC"].Support);
        Assert.Equal((1.0, 1.0, 1.0, 1L), t["MISC"]);
        // ORG: correct 1, predicted 2, gold 2 -> 1/2 each.
        Assert.Equal((0.5, 0.5, 0.5, 2L), t["ORG"]);
        // PER: correct 1, predicted 4, gold 4 -> 1/4 each.
        Assert.Equal((0.25, 0.25, 0.25, 4L), t["PER"]);
    }

    [Fact]
    public void TypesOnlyPredictedAreListedWithZeroSupport_TypeOrderIsOrdinal()
    {
        var m = new EntityMetrics();
        m.Add(["B-b", "O", "B-B"], ["B-b", "B-a", "B-B"]);
        Assert.Equal(["B", "a", "b"], m.PerType.Keys); // ordinal: uppercase before lowercase
        Assert.Equal((0.0, 0.0, 0.0, 0L), m.PerType["a"]);
        Assert.Equal((1.0, 1.0, 1.0, 1L), m.PerType["b"]);
        Assert.Equal(2.0 / 3, m.Precision, 12);
        Assert.Equal(1.0, m.Recall, 12);
    }

    [Fact]
    public void UndefinedRatiosAreZero_AccuracyBeforeAnyTokenIsNaN()
    {
        var m = new EntityMetrics();
        Assert.True(double.IsNaN(m.TokenAccuracy));
        Assert.Equal((0.0, 0.0, 0.0), (m.Precision, m.Recall, m.F1));
        // No entities anywhere (a POS-like sentence): P, R and F1 are 0 as conlleval prints them; accuracy still counts.
        m.Add(["NOUN", "VERB"], ["NOUN", "NOUN"]);
        Assert.Equal((0.0, 0.0, 0.0), (m.Precision, m.Recall, m.F1));
        Assert.Equal(0.5, m.TokenAccuracy);
        Assert.Empty(m.PerType);
        // Gold entities but no predictions: recall 0, precision 0/0 := 0.
        m.Add(["B-X"], ["O"]);
        Assert.Equal((0.0, 0.0, 0.0), (m.Precision, m.Recall, m.F1));
        Assert.Equal(1, m.PerType["X"].Support);
    }

    [Fact]
    public void SentencesMustHaveAsManyPredictedAsGoldTags()
    {
        var m = new EntityMetrics();
        Assert.Throws<ArgumentException>(() => m.Add(["O", "O"], ["O"]));
        Assert.Equal(0, m.Sentences);
    }
}
