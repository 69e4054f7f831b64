#!/usr/bin/env python3
"""PyTorch (CPU) peer for Recurrent's encoder-decoder translation model (`recurrent train --task translate`).

Two uses: (1) "our model against a PyTorch model of the same architecture trained for the same time" (`train`), and
(2) the speed of one training step at a fixed shape, for the side-by-side table (`step`). `check` verifies BLEU, the
tokenizer, masked attention, padding invariance and beam search against hand-worked cases (a few seconds, no data);
`tokenize` prints what the tokenizer makes of a TSV so that it can be diffed against the C# tokenizer.
Needs only torch 1.13 (CPU) and numpy; run it with /usr/bin/python3. Thread setup, the training clock, the
environment record and --time parsing are torch_tasks.py's (imported from it).

Usage
  torch_seq2seq.py train --train FILE --dev FILE --time SECONDS [--threads N] [--seed S] [--json]
                         [--embedding 256 --hidden 256 --attention bahdanau|luong-dot|luong-general|luong-concat|none
                          --dropout 0.2 --min-count 2 --batch 64 --lr 1e-3 --clip 5 --teacher-forcing 1.0 --beam 5
                          --max-source-tokens 100] [--hypotheses FILE]
  (--time takes 90, 90s, 10m or 1h; flag names follow `recurrent train --task translate`)
  torch_seq2seq.py step  [--batch 64 --source-len 10 --target-len 12 --source-vocab 8000 --target-vocab 12000
                          --rounds 50 --attention ... --embedding 256 --hidden 256] [--threads N] [--json]
  torch_seq2seq.py check
  torch_seq2seq.py tokenize FILE [--vocab [--min-count 2]]
  e.g. /usr/bin/python3 bench/torch_seq2seq.py train --train ../shared/data/translation/train.tsv \
         --dev ../shared/data/translation/dev.tsv --time 15m --threads 1 --json

Data
  UTF-8 TSV, `source<TAB>target`, one pair a line (Tatoeba en->fr in ../shared/data/translation). Blank lines are
  skipped; a line without exactly one tab, or whose source or target has no token, stops the run with one line naming
  file:line. Training pairs whose source has more than --max-source-tokens (100) tokens are left out (counted in the
  JSON's data.train_pairs_dropped); dev pairs never are.

The model (the shared spec, word for word; the C# model and this peer must be the same function)
  Dimensions: B batch, S source length (padded), T target length, E embedding size, H hidden size ("--hidden",
  default 256), A attention size (= H), Vs/Vt source/target vocabulary sizes.
  - Tokenizer (both languages): lowercase (str.lower / ToLowerInvariant), replace U+2019 ’ by ', then tokens are the
    matches of the regex  \\w+(?:['\\-]\\w+)*|[^\\w\\s]  (a word may contain inner apostrophes and hyphens; every other
    non-space character is a token of its own). "Qu'est-ce que c'est ?" -> ["qu'est-ce", "que", "c'est", "?"].
  - Vocabularies per side from train: words with count >= 2 (min count 2), ids <pad>=0, <unk>=1, <s>=2, </s>=3, then
    words by descending count, ties in ordinal order.
  - Encoder: source embedding [Vs, E] -> bidirectional GRU, H/2 units per direction (OpenNMT's convention, so the
    encoder output width is H), 1 layer; outputs [B, S, H] (zero past each source's length; packed-sequence
    semantics).
  - Bridge: s_0 = tanh(W_b [h_fwd_final; h_bwd_final] + b_b), Linear H -> H.
  - Decoder: GRUCell (PyTorch nn.GRUCell) with input x_t = [emb_t(y_{t-1}); c_{t-1}] (E + H), target embedding
    [Vt, E], y_{-1} = <s>, c_{-1} = 0. s_t = GRUCell(x_t, s_{t-1}).
  - Attention, query s_t, keys = encoder outputs, positions s >= source length masked out (softmax over valid ones):
    bahdanau: e = v^T tanh(W_q q + W_k k + b_k)  (W_q [A,H] no bias, W_k [A,H] with bias b_k, v [A] no bias; W_k k
      computed once per batch)
    luong-dot: e = q^T k;  luong-general: e = q^T W k (W [H,H], no bias);  luong-concat: e = v^T tanh(W [q; k])
      (W [A, 2H], no bias, v [A])
    alpha = softmax(e), c_t = sum_s alpha_s k_s.   none: c_t = 0 (and x_t, the output layer keep their widths).
  - Output: logits_t = W_o dropout([s_t; c_t]) + b_o (Linear 2H -> Vt); loss = cross-entropy summed over real target
    tokens (every word and the final </s>) divided by their count. Dropout p = 0.2 (default) on both embeddings'
    outputs and on [s_t; c_t]; none at evaluation.
  - Training: Adam lr 1e-3 (betas .9/.999, eps 1e-8), batch 64 sentence pairs, gradient clipping at global norm 5,
    teacher forcing 1.0, batches bucketed by source length then shuffled.
  - Decoding: greedy, and beam search (beam N, score = sum of log-probs / number of tokens produced including </s>,
    hypotheses end at </s>), maximum output length 2*S + 10 tokens.
  - BLEU: corpus BLEU-4 on the tokenized, lowercased text (the tokenizer above), uniform weights, clipped counts
    against all references of a source (dev lines sharing the same source sentence are that source's references;
    one hypothesis per distinct source), brevity penalty from the closest reference length (ties: the shorter),
    corpus sums.

How this file realises the points the spec leaves open
  - Modules: nn.Embedding (padding_idx 0: the <pad> row is zero and gets no gradient; it is only ever read at masked
    positions), nn.GRU(E, H/2, bidirectional=True, batch_first=True) over pack_padded_sequence, nn.Linear bridge,
    nn.GRUCell(E + H, H) in a Python loop over target steps, attention written out here (masked_fill -inf before the
    softmax), nn.Linear(2H, Vt). PyTorch's default initialisation everywhere (Embedding N(0, 1), GRU and Linear
    U(±1/√fan_in)); v is stored as a Linear(A, 1) weight [1, A], luong-concat's W as one Linear(2H, A) weight whose
    key half W[:, H:] is applied to the keys once per batch. Adam with foreach=True (the multi-tensor
    implementation: the same update; steps ~4% faster on CPU than 1.13's default per-parameter loop, measured at
    the step shape, so the peer is the stronger of the two).
  - The source gets no <s> or </s>; the target side is decoder inputs <s> y_1 .. y_n and outputs y_1 .. y_n </s>
    (n + 1 tokens, the "real target tokens" of the loss and of tokens/s).
  - Teacher forcing R < 1 (--teacher-forcing): at every step after the first, one draw for the whole batch (seeded):
    with probability 1 - R the previous step's argmax prediction (computed with dropout, detached) is fed instead of
    the gold token. With R = 1 (the default) the output layer runs once over all steps after the loop.
  - Bucketing: every epoch the training pairs are shuffled (seeded), stably sorted by source length, cut into
    consecutive batches of --batch pairs, and the batches are shuffled; an epoch is ceil(pairs / batch) steps.
  - Evaluation (eval mode, no dropout): dev loss = the loss above over all dev pairs (token-weighted, OOV targets
    are <unk>), in batches of 256. Hypotheses: one per distinct dev source string (exact text), its references the
    tokenized targets of every dev line with that source (not vocabulary-mapped, so unknown words are misses).
    Greedy runs batched (rows of 256 sources by length); each row stops at </s> or after 2*S + 10 produced tokens
    (</s> included), S its own source length in tokens.
  - Beam search runs one source at a time: a live beam starts as [<s>]; at every step each live hypothesis is
    extended by every token, and the (N - finished) best extensions by summed log-prob are kept (all have the same
    length, so that is also the best by score); one that ends in </s> is finished (score = sum / tokens produced,
    </s> included) and leaves the beam. It stops when N hypotheses have finished or after 2*S + 10 steps (the live
    ones are then finished as they are, scored the same way); the answer is the finished hypothesis of best score
    (the earlier-finished on a tie). With N = 1 it is greedy decoding (`check` verifies this).
  - The output words of a hypothesis are its tokens before </s>, mapped back through the target vocabulary (<unk>
    stays the single token "<unk>", which never matches a reference).
  - BLEU is reported as a fraction in [0, 1] (x100 for the usual scale), with no smoothing: a corpus with no matching
    n-gram of some order n <= 4 scores 0. Per source-length bucket (1-3, 4-6, 7+ source words: tokens with a letter
    or a digit, punctuation left out, as Recurrent counts them) it is the same corpus BLEU over the distinct sources
    of that bucket.

Training loop (as torch_tasks.py): the --time budget counts TRAINING seconds only (batch building, forward,
  backward, clip, Adam step); dev evaluation (loss + greedy BLEU) runs after every epoch and once more when the budget
  ends mid-epoch, and is not counted; the final evaluation adds beam search and the per-length BLEU. `seconds`,
  `best_at_seconds` and `tokens_per_second` are on that training clock; `cpu_seconds` is the process CPU time of the
  same training (less than `seconds` when other jobs share the cores); `wall_seconds` is the whole run including
  evaluation. tokens/s = target tokens (words + </s>) per training second.

Output
  train: one progress line per evaluation on stderr; a summary on stdout, or with --json ONE JSON line
    {"task": "translate", "seconds": .., "cpu_seconds": .., "epochs": .., "steps": .., "tokens_per_second": ..,
     "dev_loss": .., "dev_bleu_greedy": .., "dev_bleu_beam": .., "greedy": {bleu, brevity_penalty, precisions,
     hyp_len, ref_len, matches, totals}, "beam": {.. the same, beam, seconds, cpu_seconds},
     "bleu_by_length": {"greedy": {"1-3": {bleu, sources, ..}, ..}, "beam": ..}, "best_dev_bleu_greedy": ..,
     "best_at_seconds": .., "parameters": .., "evaluations": [..], "config": .., "data": .., "threads": ..,
     environment record}
    `epochs` is fractional (steps / batches per epoch); the final figures are from the last evaluation.
    --hypotheses FILE writes `source<TAB>greedy<TAB>beam` (tokens joined by spaces) per distinct dev source, so the
    same hypotheses can be scored by another BLEU.
  step: "ms/step, target tokens/s" on stdout; with --json ONE JSON line {"row": "translate", "tokens_per_second": ..,
    "ms_per_step": .., ...}.
  tokenize FILE: per pair one line `source tokens<TAB>target tokens`, tokens joined by single spaces; with --vocab
    the two vocabularies built from FILE instead, `side<TAB>id<TAB>word<TAB>count` in id order.

Step shape (defaults; every one is a flag): random ids in [4, V), batch 64, every source --source-len 10 tokens (still
  packed, so the code path is the training one), every target --target-len 12 decoder steps (11 words + </s>), Vs
  8,000, Vt 12,000, E = H = 256, bahdanau attention, dropout active as in training; timed = zero_grad + forward + loss +
  backward + clip 5 + Adam step, median of --rounds timed steps after 3 warm-up steps (target tokens/s = batch *
  target-len / median). Embedding gradients are dense (nn.Embedding's default), so Adam updates every row.

Threads: see torch_tasks.py (--threads, --blas-threads, --coretype auto|keep|NAME; OPENBLAS_CORETYPE chosen from
  /proc/cpuinfo so that OpenBLAS 0.3.21 does not fall back to its Prescott kernels). The JSON records the effective
  values, the BLAS actually loaded and the kernels OpenBLAS chose.
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_bench import maxrss_mib, time_steps  # noqa: E402  (standard library only)
from torch_tasks import (DataError, TrainingClock, add_machine_flags, count_parameters, environment_record, log,  # noqa: E402
                         seconds_arg, setup_threads)

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]
TOKEN = re.compile(r"\w+(?:['\-]\w+)*|[^\w\s]")
ATTENTIONS = ("bahdanau", "luong-dot", "luong-general", "luong-concat", "none")
BUCKETS = (("1-3", 1, 3), ("4-6", 4, 6), ("7+", 7, None))


# ----------------------------------------------------------------------------- text

def tokenize(text):
    """Lowercase, ’ -> ', then the words (inner ' and - allowed) and single non-space symbols."""
    return TOKEN.findall(text.lower().replace("\u2019", "'"))


def read_pairs(path):
    """[(line number, source text, source tokens, target tokens)] from `source<TAB>target` lines."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise DataError(f"{path}:{n}: expected `source<TAB>target`, got {len(fields)} field(s)")
            src, tgt = tokenize(fields[0]), tokenize(fields[1])
            if not src or not tgt:
                raise DataError(f"{path}:{n}: the {'source' if not src else 'target'} has no token")
            out.append((n, fields[0], src, tgt))
    if not out:
        raise DataError(f"{path}:1: no sentence pairs")
    return out


def build_vocab(sentences, min_count):
    """(word -> id, [(word, count)] in id order): the 4 specials, then words seen >= min_count times by descending
    count, ties in ordinal (code point) order."""
    counts = Counter(w for s in sentences for w in s)
    words = sorted((w for w, k in counts.items() if k >= min_count), key=lambda w: (-counts[w], w))
    itos = SPECIALS + words
    return {w: i for i, w in enumerate(itos)}, [(w, counts.get(w, 0)) for w in itos]


# ----------------------------------------------------------------------------- BLEU

def ngram_counts(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses, references, max_n=4):
    """Corpus BLEU-4 of token lists: hypotheses [hyp], references [[ref, ...]] (one list per hypothesis).
    p_n = sum of clipped n-gram matches / sum of hypothesis n-grams (a count clipped by its maximum count in any one
    reference); BP = 1 if c > r else exp(1 - r/c), c = total hypothesis length, r = sum of the reference lengths
    closest to each hypothesis' length (ties: the shorter); BLEU = BP * exp(mean_n log p_n), 0 if some p_n is 0."""
    matches, totals = [0] * max_n, [0] * max_n
    c = r = 0
    for hyp, refs in zip(hypotheses, references, strict=True):
        c += len(hyp)
        r += min((abs(len(ref) - len(hyp)), len(ref)) for ref in refs)[1]
        for n in range(1, max_n + 1):
            most = Counter()
            for ref in refs:
                for g, k in ngram_counts(ref, n).items():
                    most[g] = max(most[g], k)
            matches[n - 1] += sum(min(k, most[g]) for g, k in ngram_counts(hyp, n).items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    precisions = [m / t if t else 0.0 for m, t in zip(matches, totals)]
    bp = 0.0 if c == 0 else (1.0 if c > r else math.exp(1 - r / c))
    bleu = 0.0 if min(precisions) == 0 else bp * math.exp(sum(math.log(p) for p in precisions) / max_n)
    return {"bleu": bleu, "brevity_penalty": bp, "precisions": precisions, "hyp_len": c, "ref_len": r,
            "matches": matches, "totals": totals}


def word_count(tokens):
    """A sentence's length in words: its tokens with a letter or a digit (punctuation left out)."""
    return sum(1 for t in tokens if any(ch.isalnum() for ch in t))


def bucket_of(length):
    return next(name for name, lo, hi in BUCKETS if length >= lo and (hi is None or length <= hi))


# ----------------------------------------------------------------------------- model

def build_model_classes():
    """Defines the modules once torch is loaded (torch is imported only after the thread setup)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Attention(nn.Module):
        """Scores e (B, S) of a query q (B, H) against keys k (B, S, H); the key-only part of each score is computed
        once per batch by prepare(). See the module docstring for the four kinds."""

        def __init__(self, kind, H, A):
            super().__init__()
            self.kind, self.H = kind, H
            if kind == "bahdanau":
                self.W_q = nn.Linear(H, A, bias=False)
                self.W_k = nn.Linear(H, A)                          # with b_k
                self.v = nn.Linear(A, 1, bias=False)
            elif kind == "luong-general":
                self.W = nn.Linear(H, H, bias=False)                # W k; e = q . (W k)
            elif kind == "luong-concat":
                self.W = nn.Linear(2 * H, A, bias=False)            # W [q; k] = W[:, :H] q + W[:, H:] k
                self.v = nn.Linear(A, 1, bias=False)
            elif kind != "luong-dot":
                raise ValueError(f"attention {kind!r}")

        def prepare(self, keys):
            """The key side of the scores, (B, S, A) or (B, S, H): computed once per batch, not once per step."""
            if self.kind == "bahdanau":
                return self.W_k(keys)
            if self.kind == "luong-general":
                return self.W(keys)
            if self.kind == "luong-concat":
                return keys @ self.W.weight[:, self.H:].t()
            return keys

        def forward(self, q, keys, prepared, valid):
            """q (B, H), keys (B, S, H), valid (B, S) -> context c (B, H), weights alpha (B, S) (0 where invalid)."""
            if self.kind == "bahdanau":
                e = torch.tanh(prepared + self.W_q(q).unsqueeze(1)) @ self.v.weight[0]
            elif self.kind == "luong-concat":
                e = torch.tanh(prepared + (q @ self.W.weight[:, :self.H].t()).unsqueeze(1)) @ self.v.weight[0]
            else:
                e = torch.bmm(prepared, q.unsqueeze(2)).squeeze(2)
            alpha = torch.softmax(e.masked_fill(~valid, float("-inf")), dim=1)
            return torch.bmm(alpha.unsqueeze(1), keys).squeeze(1), alpha

    class Seq2Seq(nn.Module):
        """Source ids (B, S) with lengths (B) -> per target step logits (B, T, Vt). See the module docstring."""

        def __init__(self, Vs, Vt, E, H, attention, dropout):
            super().__init__()
            if H % 2:
                raise ValueError(f"--hidden must be even (H/2 units per encoder direction), got {H}")
            self.H = H
            self.src_embedding = nn.Embedding(Vs, E, padding_idx=PAD)
            self.tgt_embedding = nn.Embedding(Vt, E, padding_idx=PAD)
            self.encoder = nn.GRU(E, H // 2, bidirectional=True, batch_first=True)
            self.bridge = nn.Linear(H, H)
            self.decoder = nn.GRUCell(E + H, H)
            self.attention = None if attention == "none" else Attention(attention, H, H)
            self.dropout = nn.Dropout(dropout)
            self.out = nn.Linear(2 * H, Vt)

        def encode(self, src, lengths):
            """-> keys (B, S, H) zero past each length, valid (B, S), the keys' prepared scores, s_0 (B, H)."""
            x = self.dropout(self.src_embedding(src))
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, h_n = self.encoder(packed)                                      # h_n (2, B, H/2): fwd, bwd
            keys, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
            valid = torch.arange(src.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
            s0 = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], dim=1)))
            prepared = self.attention.prepare(keys) if self.attention is not None else None
            return keys, valid, prepared, s0

        def step(self, emb, s, c, enc):
            """One decoder step from the (dropped-out) embedding of y_{t-1}, s_{t-1}, c_{t-1} -> s_t, c_t."""
            keys, valid, prepared, _ = enc
            s = self.decoder(torch.cat([emb, c], dim=1), s)
            if self.attention is not None:
                c = self.attention(s, keys, prepared, valid)[0]
            return s, c

        def logits(self, features):
            """features [s_t; c_t] (..., 2H) -> logits (..., Vt)."""
            return self.out(self.dropout(features))

        def forward(self, src, lengths, tgt_in, teacher_forcing=1.0, coin=None):
            """Logits (B, T, Vt) for decoder inputs tgt_in (B, T) = <s> y_1 .. (padded). With teacher_forcing < 1,
            coin() in [0, 1) is drawn once per step after the first: below 1 - R the previous argmax is fed."""
            enc = self.encode(src, lengths)
            s = enc[3]
            B, T = tgt_in.shape
            c = s.new_zeros(B, self.H)
            if teacher_forcing >= 1.0:
                emb = self.dropout(self.tgt_embedding(tgt_in))                   # (B, T, E)
                features = []
                for t in range(T):
                    s, c = self.step(emb[:, t], s, c, enc)
                    features.append(torch.cat([s, c], dim=1))
                return self.logits(torch.stack(features, dim=1))                # one GEMM over all steps
            logits, y = [], tgt_in[:, 0]
            for t in range(T):
                if t > 0:
                    y = logits[-1].argmax(dim=1).detach() if coin() < 1.0 - teacher_forcing else tgt_in[:, t]
                s, c = self.step(self.dropout(self.tgt_embedding(y)), s, c, enc)
                logits.append(self.logits(torch.cat([s, c], dim=1)))
            return torch.stack(logits, dim=1)

        def loss(self, src, lengths, tgt_in, tgt_out, teacher_forcing=1.0, coin=None):
            """Cross-entropy summed over the real target tokens (tgt_out != <pad>) / their count."""
            logits = self(src, lengths, tgt_in, teacher_forcing, coin)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD)

        @torch.no_grad()
        def greedy(self, src, lengths):
            """Argmax decoding of a batch; row b stops at </s> or after 2 * lengths[b] + 10 tokens. -> [[ids]]
            without </s>."""
            enc = self.encode(src, lengths)
            s = enc[3]
            B = src.shape[0]
            c = s.new_zeros(B, self.H)
            limit = (2 * lengths + 10).tolist()
            y = torch.full((B,), BOS, dtype=torch.long)
            out, open_rows = [[] for _ in range(B)], set(range(B))
            for t in range(max(limit)):
                s, c = self.step(self.dropout(self.tgt_embedding(y)), s, c, enc)
                y = self.logits(torch.cat([s, c], dim=1)).argmax(dim=1)
                for b, k in enumerate(y.tolist()):
                    if b in open_rows:
                        if k == EOS:
                            open_rows.discard(b)
                        else:
                            out[b].append(k)
                            if t + 1 >= limit[b]:
                                open_rows.discard(b)
                if not open_rows:
                    break
            return out

        @torch.no_grad()
        def beam(self, src_ids, N):
            """Beam search of one source (list of ids), see the module docstring. -> ids without </s>."""
            src = torch.tensor([src_ids])
            keys, valid, prepared, s = self.encode(src, torch.tensor([len(src_ids)]))
            limit = 2 * len(src_ids) + 10
            live = [([], 0.0)]                                   # (tokens produced, summed log-prob)
            y = torch.tensor([BOS])
            c = s.new_zeros(1, self.H)
            finished = []                                        # (score, tokens without </s>)
            for t in range(limit):
                k = len(live)
                enc = (keys.expand(k, -1, -1), valid.expand(k, -1),
                       prepared.expand(k, -1, -1) if prepared is not None else None, None)
                s, c = self.step(self.dropout(self.tgt_embedding(y)), s, c, enc)
                logp = torch.log_softmax(self.logits(torch.cat([s, c], dim=1)), dim=1)
                total = logp + torch.tensor([lp for _, lp in live]).unsqueeze(1)          # (k, Vt)
                best, flat = total.view(-1).topk(N - len(finished))
                V = total.shape[1]
                keep, new_live = [], []
                for score, i in zip(best.tolist(), flat.tolist()):
                    h, w = divmod(i, V)
                    if w == EOS:
                        finished.append((score / (t + 1), live[h][0]))
                    else:
                        keep.append(h)
                        new_live.append((live[h][0] + [w], score))
                if len(finished) >= N or not new_live:
                    break
                if t + 1 == limit:                                # out of length: the live ones finish as they are
                    finished += [(score / limit, tokens) for tokens, score in new_live]
                    break
                live = new_live
                rows = torch.tensor(keep)
                s, c = s[rows], c[rows]
                y = torch.tensor([tokens[-1] for tokens, _ in live])
            return max(finished, key=lambda f: f[0])[1]          # max keeps the first of equal scores

    return Seq2Seq, Attention


# ----------------------------------------------------------------------------- batches

def make_batch(items):
    """items: [(source ids, target ids)] -> src (B, S), lengths (B), tgt_in (B, T) = <s> y.., tgt_out (B, T) = y.. </s>,
    padded with <pad>."""
    import torch
    S = max(len(x) for x, _ in items)
    T = max(len(y) for _, y in items) + 1
    src = torch.tensor([x + [PAD] * (S - len(x)) for x, _ in items], dtype=torch.long)
    lengths = torch.tensor([len(x) for x, _ in items], dtype=torch.long)
    tgt_in = torch.tensor([[BOS] + y + [PAD] * (T - 1 - len(y)) for _, y in items], dtype=torch.long)
    tgt_out = torch.tensor([y + [EOS] + [PAD] * (T - 1 - len(y)) for _, y in items], dtype=torch.long)
    return src, lengths, tgt_in, tgt_out


def epoch_batches(n_pairs, source_lengths, batch, shuffler):
    """Indices of one epoch's batches: shuffle, stable sort by source length, cut, shuffle the batches."""
    order = list(range(n_pairs))
    shuffler.shuffle(order)
    order.sort(key=lambda i: source_lengths[i])
    batches = [order[s:s + batch] for s in range(0, n_pairs, batch)]
    shuffler.shuffle(batches)
    return batches


# ----------------------------------------------------------------------------- train

def prepare(args):
    train = read_pairs(args.train)
    dev = read_pairs(args.dev)
    kept = [p for p in train if len(p[2]) <= args.max_source_tokens]
    src_vocab, src_itos = build_vocab([p[2] for p in kept], args.min_count)
    tgt_vocab, tgt_itos = build_vocab([p[3] for p in kept], args.min_count)
    encode = lambda words, vocab: [vocab.get(w, UNK) for w in words]         # noqa: E731
    train_x = [(encode(p[2], src_vocab), encode(p[3], tgt_vocab)) for p in kept]
    dev_x = [(encode(p[2], src_vocab), encode(p[3], tgt_vocab)) for p in dev]
    # One hypothesis per distinct source text; its references are the targets of every dev line with that source.
    sources, refs = {}, []
    for _, text, src, tgt in dev:
        if text not in sources:
            sources[text] = (len(refs), src)
            refs.append([])
        refs[sources[text][0]].append(tgt)
    distinct = [(text, src) for text, (_, src) in sources.items()]
    dev_target_tokens = sum(len(p[3]) + 1 for p in dev)
    return {"train": train_x, "dev": dev_x, "distinct": distinct, "refs": refs,
            "distinct_ids": [encode(src, src_vocab) for _, src in distinct],
            "src_itos": [w for w, _ in src_itos], "tgt_itos": [w for w, _ in tgt_itos],
            "data": {"train_pairs": len(kept), "train_pairs_dropped": len(train) - len(kept), "dev_pairs": len(dev),
                     "dev_sources": len(distinct), "source_vocab": len(src_itos), "target_vocab": len(tgt_itos),
                     "train_source_tokens": sum(len(p[2]) for p in kept),
                     "train_target_tokens": sum(len(p[3]) + 1 for p in kept),
                     "dev_target_tokens": dev_target_tokens,
                     "dev_sources_by_length": dict(Counter(bucket_of(max(1, word_count(src))) for _, src in distinct))}}


def dev_loss(model, prep, batch=256):
    """Token-weighted dev cross-entropy (the training loss over all dev pairs, no dropout)."""
    import torch
    dev = prep["dev"]
    order = sorted(range(len(dev)), key=lambda i: len(dev[i][0]))
    total = count = 0.0
    with torch.no_grad():
        for s in range(0, len(order), batch):
            src, lengths, tgt_in, tgt_out = make_batch([dev[i] for i in order[s:s + batch]])
            n = int((tgt_out != PAD).sum())
            total += float(model.loss(src, lengths, tgt_in, tgt_out)) * n
            count += n
    return total / count


def words_of(ids, itos):
    return [itos[k] for k in ids]


def decode_greedy(model, prep, batch=256):
    import torch
    ids = prep["distinct_ids"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = [None] * len(ids)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        lengths = torch.tensor([len(ids[i]) for i in idx])
        S = int(lengths.max())
        src = torch.tensor([ids[i] + [PAD] * (S - len(ids[i])) for i in idx], dtype=torch.long)
        for i, hyp in zip(idx, model.greedy(src, lengths)):
            out[i] = words_of(hyp, prep["tgt_itos"])
    return out


def decode_beam(model, prep, N):
    return [words_of(model.beam(ids, N), prep["tgt_itos"]) for ids in prep["distinct_ids"]]


def bleu_by_length(hyps, prep):
    groups = {name: ([], []) for name, _, _ in BUCKETS}
    for (_, src), hyp, refs in zip(prep["distinct"], hyps, prep["refs"]):
        g = groups[bucket_of(max(1, word_count(src)))]  # a source of punctuation only counts as one word
        g[0].append(hyp)
        g[1].append(refs)
    return {name: {"sources": len(h), **(corpus_bleu(h, r) if h else {"bleu": None})}
            for name, (h, r) in groups.items()}


def evaluate(model, prep):
    model.eval()
    loss = dev_loss(model, prep)
    hyps = decode_greedy(model, prep)
    model.train()
    return {"dev_loss": loss, "greedy": corpus_bleu(hyps, prep["refs"])}, hyps


class CpuClock(TrainingClock):
    """The training clock, plus the CPU seconds this process spent training (on a shared machine the wall-clock
    budget buys less work when other jobs compete; with --threads 1 the CPU seconds show how much)."""

    def __init__(self):
        super().__init__()
        self.cpu_total, self.cpu_since = 0.0, time.process_time()

    def cpu_seconds(self):
        return self.cpu_total + (time.process_time() - self.cpu_since if self.cpu_since is not None else 0.0)

    def pause(self):
        super().pause()
        self.cpu_total, self.cpu_since = self.cpu_seconds(), None

    def resume(self):
        super().resume()
        self.cpu_since = time.process_time()


def command_train(args):
    threads = setup_threads(args)
    import torch
    torch.manual_seed(args.seed)
    shuffler = random.Random(args.seed)
    coin = random.Random(args.seed + 2).random               # teacher-forcing draws, one per step
    Seq2Seq, _ = build_model_classes()
    wall0 = time.perf_counter()
    prep = prepare(args)
    model = Seq2Seq(len(prep["src_itos"]), len(prep["tgt_itos"]), args.embedding, args.hidden, args.attention,
                    args.dropout)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    train = prep["train"]
    source_lengths = [len(x) for x, _ in train]
    batches_per_epoch = math.ceil(len(train) / args.batch)
    log(f"translate: {len(train):,} training pairs, {prep['data']['dev_pairs']:,} dev pairs "
        f"({prep['data']['dev_sources']:,} sources), vocab {len(prep['src_itos']):,} -> {len(prep['tgt_itos']):,}, "
        f"{count_parameters(model):,} parameters")

    def train_step(items):
        optimizer.zero_grad(set_to_none=True)
        src, lengths, tgt_in, tgt_out = make_batch(items)
        loss = model.loss(src, lengths, tgt_in, tgt_out, args.teacher_forcing, coin)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        return loss.item()

    evaluations, best = [], None
    steps = tokens = 0
    clock = CpuClock()
    loss_sum, loss_n = 0.0, 0
    done = False
    while not done:
        for idx in epoch_batches(len(train), source_lengths, args.batch, shuffler):
            items = [train[i] for i in idx]
            loss_sum += train_step(items)
            loss_n += 1
            steps += 1
            tokens += sum(len(y) + 1 for _, y in items)
            if clock.seconds() >= args.time:
                done = True
                break
        clock.pause()
        seconds = clock.seconds()
        m, hyps = evaluate(model, prep)
        if best is None or m["greedy"]["bleu"] > best[0]:
            best = (m["greedy"]["bleu"], seconds)
        evaluations.append({"epochs": round(steps / batches_per_epoch, 3), "seconds": round(seconds, 2),
                            "train_loss": loss_sum / max(loss_n, 1), "dev_loss": m["dev_loss"],
                            "dev_bleu_greedy": m["greedy"]["bleu"]})
        log(f"epoch {steps / batches_per_epoch:6.2f}  {seconds:7.1f} s  loss {loss_sum / max(loss_n, 1):.4f}  "
            f"{tokens / seconds:8,.0f} tokens/s  dev loss {m['dev_loss']:.4f}  greedy BLEU {m['greedy']['bleu']:.4f}")
        loss_sum, loss_n = 0.0, 0
        clock.resume()
    clock.pause()
    seconds = clock.seconds()
    model.eval()
    t0, cpu0 = time.perf_counter(), time.process_time()
    beam_hyps = decode_beam(model, prep, args.beam)
    beam_seconds, beam_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    model.train()
    beam = {**corpus_bleu(beam_hyps, prep["refs"]), "beam": args.beam, "seconds": round(beam_seconds, 2),
            "cpu_seconds": round(beam_cpu, 2), "decoding": "one source at a time"}
    log(f"beam {args.beam}: BLEU {beam['bleu']:.4f} ({len(beam_hyps):,} sources in {beam_seconds:.1f} s, "
        f"{beam_cpu:.1f} s of CPU)")
    if args.hypotheses:
        with open(args.hypotheses, "w", encoding="utf-8", newline="\n") as f:
            for (text, _), g, b in zip(prep["distinct"], hyps, beam_hyps):
                f.write(f"{text}\t{' '.join(g)}\t{' '.join(b)}\n")
    out = {"task": "translate", "seconds": round(seconds, 3), "cpu_seconds": round(clock.cpu_seconds(), 3),
           "epochs": round(steps / batches_per_epoch, 3), "steps": steps,
           "tokens_per_second": round(tokens / seconds, 1), "dev_loss": m["dev_loss"],
           "dev_bleu_greedy": m["greedy"]["bleu"], "dev_bleu_beam": beam["bleu"], "greedy": m["greedy"],
           "beam": beam, "bleu_by_length": {"greedy": bleu_by_length(hyps, prep),
                                            "beam": bleu_by_length(beam_hyps, prep)},
           "best_dev_bleu_greedy": best[0], "best_at_seconds": round(best[1], 3),
           "parameters": count_parameters(model), "wall_seconds": round(time.perf_counter() - wall0, 3),
           "evaluations": evaluations, "config": config_record(args), "data": prep["data"], "threads": threads,
           "maxrss_mib": round(maxrss_mib(), 1), **environment_record(args)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"translate: {out['steps']} steps, {out['epochs']} epochs in {out['seconds']:.1f} s of training "
              f"({out['tokens_per_second']:,.0f} target tokens/s), {out['parameters']:,} parameters")
        print(f"final dev loss {out['dev_loss']:.4f}, BLEU greedy {out['dev_bleu_greedy']:.4f} "
              f"(BP {m['greedy']['brevity_penalty']:.3f}), beam {args.beam} {out['dev_bleu_beam']:.4f} "
              f"(BP {beam['brevity_penalty']:.3f}); best greedy {out['best_dev_bleu_greedy']:.4f} at "
              f"{out['best_at_seconds']:.1f} s")
        for kind in ("greedy", "beam"):
            print(f"  {kind} BLEU by source length: " + ", ".join(
                f"{k} {'-' if v['bleu'] is None else format(v['bleu'], '.4f')} ({v['sources']})"
                for k, v in out["bleu_by_length"][kind].items()))


def config_record(args):
    keys = ["embedding", "hidden", "attention", "dropout", "batch", "lr", "clip", "teacher_forcing", "seed"]
    if args.command == "train":
        keys += ["min_count", "beam", "max_source_tokens", "time"]
    else:
        keys += ["source_len", "target_len", "source_vocab", "target_vocab", "rounds"]
    return {k: getattr(args, k) for k in keys}


# ----------------------------------------------------------------------------- step

def command_step(args):
    threads = setup_threads(args)
    import torch
    torch.manual_seed(args.seed)
    Seq2Seq, _ = build_model_classes()
    g = torch.Generator().manual_seed(args.seed)
    B, S, T = args.batch, args.source_len, args.target_len
    model = Seq2Seq(args.source_vocab, args.target_vocab, args.embedding, args.hidden, args.attention, args.dropout)
    src = torch.randint(4, args.source_vocab, (B, S), generator=g)
    lengths = torch.full((B,), S, dtype=torch.long)
    words = torch.randint(4, args.target_vocab, (B, T - 1), generator=g)
    tgt_in = torch.cat([torch.full((B, 1), BOS, dtype=torch.long), words], dim=1)
    tgt_out = torch.cat([words, torch.full((B, 1), EOS, dtype=torch.long)], dim=1)
    coin = random.Random(args.seed + 2).random
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, foreach=True)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = model.loss(src, lengths, tgt_in, tgt_out, args.teacher_forcing, coin)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()

    r = time_steps(step, 0.0, args.rounds)
    ms = {k: round(1e3 * r[k + "_s"], 3) for k in ("median", "mean", "min", "max")}
    out = {"row": "translate", "tokens_per_second": round(B * T / r["median_s"], 1), "ms_per_step": ms["median"],
           "ms_mean": ms["mean"], "ms_min": ms["min"], "ms_max": ms["max"], "steps": r["steps"],
           "shape": {"batch": B, "source_len": S, "target_len": T, "source_vocab": args.source_vocab,
                     "target_vocab": args.target_vocab},
           "parameters": count_parameters(model), "config": config_record(args), "threads": threads,
           "maxrss_mib": round(maxrss_mib(), 1), **environment_record(args)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"translate: {out['ms_per_step']:.2f} ms/step (median of {r['steps']}), {out['tokens_per_second']:,.0f} "
              f"target tokens/s, {out['parameters']:,} parameters, {threads['torch_threads']} torch thread(s), "
              f"{threads['blas_threads']} BLAS thread(s)")


# ----------------------------------------------------------------------------- tokenize

def command_tokenize(args):
    """The tokenizer's output (or the vocabularies) for a diff against the C# tokenizer."""
    sys.stdout.reconfigure(encoding="utf-8", newline="\n")
    pairs = read_pairs(args.file)
    if args.vocab:
        for side, k in (("source", 2), ("target", 3)):
            for i, (w, count) in enumerate(build_vocab([p[k] for p in pairs], args.min_count)[1]):
                print(f"{side}\t{i}\t{w}\t{count}")
        return
    for _, _, src, tgt in pairs:
        print(f"{' '.join(src)}\t{' '.join(tgt)}")


# ----------------------------------------------------------------------------- check

def command_check(args):
    """BLEU on hand-worked cases, the tokenizer on examples, masked attention, padding invariance, beam 1 = greedy."""
    failures = []

    def expect(name, got, want, tol=1e-12):
        ok = abs(got - want) <= tol if isinstance(want, float) else got == want
        if not ok:
            failures.append(f"{name}: got {got!r}, expected {want!r}")

    # BLEU. Papineni et al. (2002), section 2.1: the clipping example, modified unigram precision 2/7 ...
    refs = [["the", "cat", "is", "on", "the", "mat"], ["there", "is", "a", "cat", "on", "the", "mat"]]
    r = corpus_bleu([["the"] * 7], [refs])
    expect("Papineni clipping: unigram matches/total", (r["matches"][0], r["totals"][0]), (2, 7))
    expect("Papineni clipping: BLEU (no bigram matches)", r["bleu"], 0.0)
    # ... and Example 1 (their case, as NLTK's docstring tokenizes it): candidate 1 has p1 17/18, p2 10/17 (the
    # paper's figures), p3 7/16, p4 4/15 (counted by hand: it is a, is a guide, a guide to, guide to action, ensures
    # that the, that the military, of the party / it is a guide, is a guide to, a guide to action, ensures that the
    # military); candidate 2 has p1 8/14 and p2 1/13 (the paper's).
    ref1a = "It is a guide to action that ensures that the military will forever heed Party commands".split()
    ref1b = ("It is the guiding principle which guarantees the military forces always being under the command of the "
             "Party").split()
    ref1c = "It is the practical guide for the army always to heed the directions of the party".split()
    hyp1 = "It is a guide to action which ensures that the military always obeys the commands of the party".split()
    hyp1b = "It is to insure the troops forever hearing the activity guidebook that party direct".split()
    r = corpus_bleu([hyp1], [[ref1a, ref1b, ref1c]])
    expect("Papineni example 1, candidate 1: matches/totals", (r["matches"], r["totals"]),
           ([17, 10, 7, 4], [18, 17, 16, 15]))
    expect("Papineni example 1, candidate 1: BLEU", r["bleu"], (17 / 18 * 10 / 17 * 7 / 16 * 4 / 15) ** 0.25)
    expect("Papineni example 1, candidate 1: BLEU = NLTK's 0.5045...", round(r["bleu"], 4), 0.5046)
    r = corpus_bleu([hyp1b], [[ref1a, ref1b, ref1c]])
    expect("Papineni example 1, candidate 2: p1, p2 matches/totals", (r["matches"][:2], r["totals"][:2]),
           ([8, 1], [14, 13]))
    # Multi-reference corpus (NLTK's corpus_bleu docstring): sums, not an average of sentence scores. hyp2 against
    # ref2a matches 11/11, 9/10, 6/9, 4/8, so the corpus has p = 28/29, 19/27, 13/25, 8/23, c = r = 29, BLEU 0.5920...,
    # while the mean of the two sentence BLEUs is 0.6223...
    hyp2 = "he read the book because he was interested in world history".split()
    ref2a = "he was interested in world history because he read the book".split()
    r = corpus_bleu([hyp1, hyp2], [[ref1a, ref1b, ref1c], [ref2a]])
    expect("corpus BLEU: matches/totals", (r["matches"], r["totals"]), ([28, 19, 13, 8], [29, 27, 25, 23]))
    expect("corpus BLEU: c, r", (r["hyp_len"], r["ref_len"]), (29, 29))
    expect("corpus BLEU", r["bleu"], (28 / 29 * 19 / 27 * 13 / 25 * 8 / 23) ** 0.25)
    expect("corpus BLEU = NLTK's 0.5920...", round(r["bleu"], 4), 0.5921)
    mean = (corpus_bleu([hyp1], [[ref1a, ref1b, ref1c]])["bleu"] + corpus_bleu([hyp2], [[ref2a]])["bleu"]) / 2
    expect("mean of the sentence BLEUs = NLTK's 0.6223...", round(mean, 4), 0.6223)
    # Brevity penalty from the closest reference length, ties to the shorter one.
    abcd = list("abcd")
    r = corpus_bleu([abcd], [[list("abc"), list("abcde")]])      # |3-4| = |5-4|: r = 3 < c = 4, so BP 1
    expect("BP tie -> shorter reference (r)", r["ref_len"], 3)
    expect("BP tie -> shorter reference (BLEU)", r["bleu"], 1.0)
    r = corpus_bleu([abcd], [[list("abcdef"), list("abcdefgh")]])     # closest is 6: BP exp(1 - 6/4)
    expect("BP closest reference", r["bleu"], math.exp(-0.5))
    r = corpus_bleu([abcd], [[list("abcdefgh"), list("xbcdef"), list("ab")]])   # closest 6 (|2-4| = 2 too: shorter 2)
    expect("BP closest of three (tie 2 vs 6 -> 2)", (r["ref_len"], r["brevity_penalty"]), (2, 1.0))
    r = corpus_bleu([abcd, list("abcd")], [[list("abcdef")], [list("abcd")]])        # corpus: c 8, r 10
    expect("BP over corpus sums", r["brevity_penalty"], math.exp(1 - 10 / 8))
    expect("empty hypothesis corpus", corpus_bleu([[]], [[list("ab")]])["bleu"], 0.0)

    # Tokenizer.
    cases = [
        ("Qu'est-ce que c'est ?", ["qu'est-ce", "que", "c'est", "?"]),
        ("I’m a well-known man.", ["i'm", "a", "well-known", "man", "."]),
        ("«Bonjour», dit-il.", ["«", "bonjour", "»", ",", "dit-il", "."]),
        ("C'était l'été À Paris!", ["c'était", "l'été", "à", "paris", "!"]),
        ("Don't -- stop...", ["don't", "-", "-", "stop", ".", ".", "."]),
        ("'tis rock'n'roll-ish, a- -b", ["'", "tis", "rock'n'roll-ish", ",", "a", "-", "-", "b"]),
        ("It costs $3.50 (20%).", ["it", "costs", "$", "3", ".", "50", "(", "20", "%", ")", "."]),
        ("Tom's  e-mail\u00a0address", ["tom's", "e-mail", "address"]),
        ("  ", []),
    ]
    for text, want in cases:
        expect(f"tokenize({text!r})", tokenize(text), want)

    # Vocabulary: descending count, ties in ordinal order, min count.
    _, itos = build_vocab([["c", "b", "a", "c", "d"], ["b", "a", "B", "B", "é", "é", "é"]], 2)
    expect("vocabulary order", itos, list(zip(SPECIALS, [0] * 4)) + [("é", 3), ("B", 2), ("a", 2), ("b", 2), ("c", 2)])

    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    Seq2Seq, Attention = build_model_classes()
    # Masked attention: padded positions (filled with garbage) get weight exactly 0 and change nothing.
    H, B, S = 6, 3, 5
    lengths = torch.tensor([5, 2, 1])
    valid = torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1)
    keys = torch.randn(B, S, H)
    keys[~valid] = 1e3 * torch.randn(int((~valid).sum()), H)             # garbage where there is no source word
    q = torch.randn(B, H)
    for kind in ATTENTIONS[:-1]:
        att = Attention(kind, H, 4)
        with torch.no_grad():
            c, alpha = att(q, keys, att.prepare(keys), valid)
            expect(f"{kind}: weight on padding", float(alpha[~valid].abs().max()), 0.0)
            expect(f"{kind}: weights sum to 1", float((alpha.sum(dim=1) - 1).abs().max()), 0.0, 1e-6)
            for b in range(B):
                n = int(lengths[b])
                kb = keys[b:b + 1, :n]
                cb, _ = att(q[b:b + 1], kb, att.prepare(kb), torch.ones(1, n, dtype=torch.bool))
                expect(f"{kind}: context without the padding, row {b}", float((cb - c[b:b + 1]).abs().max()), 0.0,
                       1e-5)

    # The model: a padded batch gives each pair the loss it has alone (packed encoder, masked attention and loss),
    # encoder outputs are zero past the length, and beam search with N = 1 is greedy decoding.
    for kind in ATTENTIONS:
        torch.manual_seed(1)
        model = Seq2Seq(12, 15, 5, 6, kind, 0.2).eval()
        pairs = [([4, 5, 6, 7], [4, 5]), ([8, 9], [6, 7, 8, 9, 10]), ([10], [11])]
        with torch.no_grad():
            together = float(model.loss(*make_batch(pairs)))
            alone = [float(model.loss(*make_batch([p]))) for p in pairs]
            counts = [len(y) + 1 for _, y in pairs]
            expect(f"{kind}: batch loss = token-weighted losses alone", together,
                   sum(a * n for a, n in zip(alone, counts)) / sum(counts), 1e-5)
            src, lengths_, _, _ = make_batch(pairs)
            keys_, valid_, _, _ = model.encode(src, lengths_)
            expect(f"{kind}: encoder outputs zero past the length", float(keys_[~valid_].abs().max()), 0.0)
            greedy = model.greedy(src, lengths_)
            expect(f"{kind}: greedy batched = one at a time", greedy,
                   [model.greedy(torch.tensor([x]), torch.tensor([len(x)]))[0] for x, _ in pairs])
            expect(f"{kind}: beam 1 = greedy", [model.beam(x, 1) for x, _ in pairs], greedy)
            # Teacher forcing 0 feeds the previous argmax at every step: the argmax path is greedy decoding.
            for (x, y), g in zip(pairs, greedy):
                src1, lengths1, tgt_in1, _ = make_batch([(x, y)])
                path = model(src1, lengths1, tgt_in1, 0.0, random.Random(0).random)[0].argmax(dim=1).tolist()
                k = min(len(path), len(g) + 1)
                expect(f"{kind}: teacher forcing 0 = greedy", path[:k], (g + [EOS])[:k])
            for x, _ in pairs:
                expect(f"{kind}: beam 3 within the length limit", len(model.beam(x, 3)) <= 2 * len(x) + 10, True)
    # Gradients flow to every parameter (none detached by the masking).
    model = Seq2Seq(12, 15, 5, 6, "bahdanau", 0.2).train()
    model.loss(*make_batch(pairs)).backward()
    for name, p in model.named_parameters():
        if p.grad is None or float(p.grad.abs().max()) == 0.0:
            failures.append(f"no gradient reaches {name}")

    for f in failures:
        print("FAIL", f)
    print("check: " + ("all passed" if not failures else f"{len(failures)} failure(s)"))
    return 1 if failures else 0


# ----------------------------------------------------------------------------- command line

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p):
        add_machine_flags(p)
        p.add_argument("--embedding", type=int, default=256, help="embedding size E (source and target)")
        p.add_argument("--hidden", type=int, default=256, help="hidden size H (H/2 per encoder direction)")
        p.add_argument("--attention", choices=ATTENTIONS, default="bahdanau")
        p.add_argument("--dropout", type=float, default=0.2, help="on both embeddings' outputs and on [s_t; c_t]")
        p.add_argument("--batch", type=int, default=64, help="sentence pairs per batch")
        p.add_argument("--lr", type=float, default=1e-3)
        p.add_argument("--clip", type=float, default=5.0, help="global gradient norm")
        p.add_argument("--teacher-forcing", type=float, default=1.0,
                       help="probability of feeding the gold previous token (drawn once per step for the batch)")

    p = sub.add_parser("train", help="train for a fixed time, report dev loss and BLEU")
    common(p)
    p.add_argument("--train", required=True)
    p.add_argument("--dev", required=True)
    p.add_argument("--time", type=seconds_arg, required=True,
                   help="training seconds (evaluation not counted): 90, 90s, 10m, 1h")
    p.add_argument("--min-count", type=int, default=2, help="words seen fewer times -> <unk>")
    p.add_argument("--beam", type=int, default=5, help="beam size of the final evaluation")
    p.add_argument("--max-source-tokens", type=int, default=100, help="longer training pairs are left out")
    p.add_argument("--hypotheses", help="write `source<TAB>greedy<TAB>beam` per distinct dev source to this file")

    p = sub.add_parser("step", help="time one training step at a fixed shape")
    common(p)
    p.add_argument("--source-len", type=int, default=10, help="source tokens per pair")
    p.add_argument("--target-len", type=int, default=12, help="decoder steps per pair (words + </s>)")
    p.add_argument("--source-vocab", type=int, default=8000)
    p.add_argument("--target-vocab", type=int, default=12000)
    p.add_argument("--rounds", type=int, default=50, help="timed steps (after 3 warm-up steps)")

    sub.add_parser("check", help="self-check of BLEU, the tokenizer, attention masking and decoding")
    p = sub.add_parser("tokenize", help="print the tokenized `source<TAB>target` of a TSV (or its vocabularies)")
    p.add_argument("file")
    p.add_argument("--vocab", action="store_true", help="print the vocabularies built from the file instead")
    p.add_argument("--min-count", type=int, default=2)
    args = ap.parse_args()

    try:
        if args.command == "check":
            sys.exit(command_check(args))
        if args.command == "tokenize":
            command_tokenize(args)
            return
        args.loadavg_before = list(os.getloadavg())
        if args.threads < 1:
            ap.error(f"--threads must be >= 1, got {args.threads}")
        if args.hidden < 2 or args.hidden % 2:
            ap.error(f"--hidden must be even and >= 2 (H/2 units per encoder direction), got {args.hidden}")
        if not 0.0 <= args.teacher_forcing <= 1.0:
            ap.error(f"--teacher-forcing must be in [0, 1], got {args.teacher_forcing}")
        if not 0.0 <= args.dropout < 1.0:
            ap.error(f"--dropout must be in [0, 1), got {args.dropout}")
        if args.command == "train" and args.beam < 1:
            ap.error(f"--beam must be >= 1, got {args.beam}")
        if args.command == "step" and (args.target_len < 1 or args.source_len < 1 or
                                       min(args.source_vocab, args.target_vocab) <= 4):
            ap.error("--source-len and --target-len must be >= 1, the vocabularies > 4")
        command_train(args) if args.command == "train" else command_step(args)
    except (DataError, OSError) as e:
        sys.exit(f"torch_seq2seq: {e}")


if __name__ == "__main__":
    main()
