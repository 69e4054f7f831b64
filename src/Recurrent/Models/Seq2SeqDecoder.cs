using Recurrent.Data;
using Recurrent.Tensors;

namespace Recurrent.Models;

/// <summary>One decoded sentence: its target ids (without &lt;/s&gt;); the attention weights of every output step
/// ([outputs, source length], outputs = Words.Length + 1 when it Ended with &lt;/s&gt;, else Words.Length: it hit the length
/// limit), or null when not kept; its score (mean log-probability per output token).</summary>
public sealed record Translation(int[] Words, float[]? Attention, double Score, bool Ended);

/// <summary>
/// Beam search over a <see cref="Seq2SeqModel"/>, batched across sentences (greedy is a beam of 1).
/// B = sentences, K = beam, R = B·K rows, S = longest source, H = hidden, V = target words.
///
/// Each step runs the decoder on all R live hypotheses at once (one cell step, one attention step, one output product),
/// then per sentence keeps the K best continuations of its hypotheses by total log-probability. A continuation that
/// chooses &lt;/s&gt; (among the K best continuations) is finished, scored by its mean log-probability per token (length
/// normalisation, so longer outputs are not penalised for having more factors below 1). A sentence's search ends when
/// K hypotheses have finished and the K-th best of them scores at least what the best live one scores now, or at the
/// length limit 2·(source length) + 10, where its live hypotheses count as finished; the best finished hypothesis wins.
/// &lt;pad&gt; and &lt;s&gt; are never produced.
/// </summary>
public sealed class Seq2SeqDecoder(Seq2SeqModel model)
{
    /// <summary>The constant term of the output length limit 2n + 10 (see <see cref="MaxLength"/>).</summary>
    public const int LengthSlack = 10;

    /// <summary>The longest output for a source of n words: 2n + 10 tokens.</summary>
    public static int MaxLength(int sourceLength) => 2 * sourceLength + LengthSlack;

    /// <summary>Translations of <paramref name="sources"/> (source ids), in input order, decoding up to
    /// <paramref name="batch"/> sentences of similar length together.</summary>
    public Translation[] Decode(IReadOnlyList<int[]> sources, int beam, int batch, bool keepAttention = false)
    {
        if (beam < 1) throw new ArgumentException($"beam must be ≥ 1, got {beam}");
        bool wasTraining = model.Training;
        model.Training = false;
        try
        {
            var result = new Translation[sources.Count];
            int[] lengths = sources.Select(s => s.Length).ToArray();
            foreach (int[] examples in BucketedBatches.Sequential(lengths, batch))
            {
                var (tokens, batchLengths, steps) = PaddedBatch.Pad(sources, examples);
                model.Encode(tokens, batchLengths, steps, examples.Length);
                var translations = new BeamSearch(model, beam, keepAttention).Run();
                for (int b = 0; b < examples.Length; b++) result[examples[b]] = translations[b];
            }
            return result;
        }
        finally { model.Training = wasTraining; }
    }

    /// <summary>One batch's search, over the encoding the model holds.</summary>
    private sealed class BeamSearch
    {
        private readonly Seq2SeqModel _model;
        private readonly int _beam, _batch, _rows, _steps, _hidden, _embedding, _vocabulary;
        private readonly bool _keepAttention, _lstm;
        private readonly int[] _lengths;
        private readonly float[] _h, _c, _hNext, _cNext, _context, _contextNext;
        private readonly float[] _input, _attended, _logits, _weights, _logProbabilities;
        private double[] _score, _nextScore;            // [R] total log-probability of each live hypothesis
        private int[] _previous;                        // [R] the word each live hypothesis ends with
        private readonly TopK _candidates;              // one sentence's best continuations at a step
        // The history of the search, per step [R]: the word each slot took and the slot it continued.
        private readonly List<int[]> _token = [], _parent = [];
        private readonly List<float[]> _attention = [];  // per step [R, S]
        private readonly List<(double Score, int Step, int Slot, bool Ended)>[] _finished;
        private readonly bool[] _done;

        public BeamSearch(Seq2SeqModel model, int beam, bool keepAttention)
        {
            _model = model;
            var config = model.Config;
            (_beam, _keepAttention) = (beam, keepAttention);
            _lengths = model.SourceLengths.ToArray();
            _batch = _lengths.Length;
            _rows = _batch * beam;
            _steps = model.SourceSteps;
            (_hidden, _embedding, _vocabulary) = (config.HiddenSize, config.EmbeddingSize, config.TargetVocabulary.Count);
            _lstm = model.DecoderCell.HasCellState;
            int H = _hidden;
            _h = new float[_rows * H]; _hNext = new float[_rows * H];
            _c = new float[_lstm ? _rows * H : 0]; _cNext = new float[_c.Length];
            _context = new float[_rows * H]; _contextNext = new float[_rows * H];
            _input = new float[_rows * (_embedding + H)];
            _attended = new float[_rows * 2 * H];
            _logits = new float[_rows * _vocabulary];
            _weights = new float[_rows * _steps];
            _logProbabilities = new float[_vocabulary];
            _score = new double[_rows];
            _nextScore = new double[_rows];
            _previous = new int[_rows];
            _candidates = new TopK(2 * beam);
            _finished = Enumerable.Range(0, _batch).Select(_ => new List<(double, int, int, bool)>()).ToArray();
            _done = new bool[_batch];

            // Every hypothesis starts from s_{−1} with c_{−1} = 0 and <s>; only slot 0 of each sentence is live at first,
            // so the first step's K best are K different words rather than K copies of one.
            var s0 = model.InitialState;
            for (int r = 0; r < _rows; r++)
            {
                s0.Slice(r / beam * H, H).CopyTo(_h.AsSpan(r * H, H));
                _score[r] = r % beam == 0 ? 0 : double.NegativeInfinity;
                _previous[r] = WordVocabulary.StartId;
            }
            if (model.Attention is { } attention)
            {
                var keys = model.Keys;
                var rowKeys = new float[_rows * _steps * H];
                var rowLengths = new int[_rows];
                for (int r = 0; r < _rows; r++)
                {
                    keys.Slice(r / beam * _steps * H, _steps * H).CopyTo(rowKeys.AsSpan(r * _steps * H));
                    rowLengths[r] = _lengths[r / beam];
                }
                attention.SetKeys(rowKeys, _rows, _steps, rowLengths, maxSteps: 0);
            }
        }

        public Translation[] Run()
        {
            int limit = _lengths.Max(MaxLength);
            for (int t = 0; t < limit && !_done.All(d => d); t++) Step(t);
            return Enumerable.Range(0, _batch).Select(Best).ToArray();
        }

        /// <summary>One decoder step for every row, then each sentence's K best continuations.</summary>
        private void Step(int t)
        {
            int H = _hidden, E = _embedding, V = _vocabulary, R = _rows;
            var embedding = _model.TargetEmbedding.Weight.Value.Span;
            for (int r = 0; r < R; r++)
            {
                embedding.Slice(_previous[r] * E, E).CopyTo(_input.AsSpan(r * (E + H), E));
                _context.AsSpan(r * H, H).CopyTo(_input.AsSpan(r * (E + H) + E, H));
            }
            _model.DecoderCell.Advance(R, _input, _h, _c, _hNext, _cNext);
            if (_model.Attention is { } attention) attention.Attend(_hNext, _contextNext, _weights);
            else { Array.Clear(_contextNext); Array.Clear(_weights); }
            for (int r = 0; r < R; r++)
            {
                _hNext.AsSpan(r * H, H).CopyTo(_attended.AsSpan(r * 2 * H, H));
                _contextNext.AsSpan(r * H, H).CopyTo(_attended.AsSpan(r * 2 * H + H, H));
            }
            _model.OutputLogits(_attended, _logits, R);
            if (_keepAttention) _attention.Add((float[])_weights.Clone());

            var token = new int[R];
            var parent = new int[R];
            var score = _nextScore;
            var logProbabilities = _logProbabilities;
            for (int b = 0; b < _batch; b++)
            {
                if (_done[b])
                {
                    for (int j = 0; j < _beam; j++) (score[b * _beam + j], parent[b * _beam + j]) = (double.NegativeInfinity, b * _beam + j);
                    continue;
                }
                var candidates = _candidates;
                candidates.Clear();
                for (int k = 0; k < _beam; k++)
                {
                    int r = b * _beam + k;
                    if (double.IsNegativeInfinity(_score[r])) continue;
                    Kernels.LogSoftmaxRow(_logits.AsSpan(r * V, V), logProbabilities);
                    for (int v = 0; v < V; v++)
                        if (v is not (WordVocabulary.PadId or WordVocabulary.StartId))
                            candidates.Offer(_score[r] + logProbabilities[v], r, v);
                }
                int live = 0, rank = 0;
                bool last = t + 1 >= MaxLength(_lengths[b]);
                foreach (var (total, r, v) in candidates.Best())
                {
                    // An end is taken only among the K best continuations (a beam of 1 is greedy search); the next K
                    // are there so that K hypotheses stay live when some of the best ones end.
                    if (v == WordVocabulary.EndId)
                    {
                        if (rank++ < _beam) _finished[b].Add((total / (t + 1), t, r, true));
                        continue;
                    }
                    rank++;
                    if (live == _beam) continue;
                    int slot = b * _beam + live++;
                    (token[slot], parent[slot], score[slot]) = (v, r, total);
                    if (last) _finished[b].Add((total / (t + 1), t, slot, false));
                }
                for (int j = live; j < _beam; j++) (score[b * _beam + j], parent[b * _beam + j]) = (double.NegativeInfinity, b * _beam + j);
                if (last || live == 0 || CannotImprove(b, score.AsSpan(b * _beam, live), t + 1)) _done[b] = true;
            }

            // The live hypotheses move to their slots: each takes its parent's state and context.
            for (int slot = 0; slot < R; slot++)
            {
                int r = parent[slot];
                _hNext.AsSpan(r * H, H).CopyTo(_h.AsSpan(slot * H, H));
                if (_lstm) _cNext.AsSpan(r * H, H).CopyTo(_c.AsSpan(slot * H, H));
                _contextNext.AsSpan(r * H, H).CopyTo(_context.AsSpan(slot * H, H));
            }
            (_score, _nextScore) = (score, _score);
            _previous = token;
            _token.Add(token);
            _parent.Add(parent);
        }

        /// <summary>
        /// Whether sentence b's search may stop: K hypotheses have finished and the K-th best of them already scores at
        /// least what the best live one scores now (its mean log-probability over its <paramref name="length"/> tokens).
        /// The heuristic of Hugging Face's beam search: with length normalisation a live hypothesis could still climb
        /// by adding likely words, but rarely past one that has finished.
        /// </summary>
        private bool CannotImprove(int b, ReadOnlySpan<double> liveScores, int length)
        {
            var finished = _finished[b];
            if (finished.Count < _beam) return false;
            double kth = finished.Select(f => f.Score).OrderDescending().ElementAt(_beam - 1);
            double bestLive = double.NegativeInfinity;
            foreach (double s in liveScores) bestLive = Math.Max(bestLive, s / length);
            return kth >= bestLive;
        }

        /// <summary>The best finished hypothesis of sentence b, traced back through the steps.</summary>
        private Translation Best(int b)
        {
            var (score, step, slot, ended) = _finished[b].MaxBy(f => f.Score);
            // Ended: row `slot` chose </s> at `step`, so its words were chosen at steps 0..step−1 and it is the slot step
            // step−1 filled. Not ended: `slot` is the slot step `step` filled, holding the last word.
            int words = ended ? step : step + 1, outputs = ended ? words + 1 : words;
            int S = _steps, n = _lengths[b];
            var ids = new int[words];
            var attention = _keepAttention ? new float[outputs * n] : null;
            if (ended && attention != null) _attention[step].AsSpan(slot * S, n).CopyTo(attention.AsSpan(words * n, n));
            for (int s = words - 1; s >= 0; s--)
            {
                ids[s] = _token[s][slot];
                slot = _parent[s][slot]; // the row that chose it at step s: the slot step s−1 filled
                if (attention != null) _attention[s].AsSpan(slot * S, n).CopyTo(attention.AsSpan(s * n, n));
            }
            return new Translation(ids, attention, score, ended);
        }
    }

    /// <summary>The k largest (score, row, word) offers, kept sorted in a small array (k is twice the beam).</summary>
    private sealed class TopK(int k)
    {
        private readonly (double Score, int Row, int Word)[] _items = new (double, int, int)[k];
        private int _count;

        public void Offer(double score, int row, int word)
        {
            if (_count == k && score <= _items[k - 1].Score) return;
            int i = _count < k ? _count++ : k - 1;
            while (i > 0 && _items[i - 1].Score < score) { _items[i] = _items[i - 1]; i--; }
            _items[i] = (score, row, word);
        }

        public void Clear() => _count = 0;

        public IEnumerable<(double Score, int Row, int Word)> Best() => _items.Take(_count);
    }
}
