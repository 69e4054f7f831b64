#!/usr/bin/env python3
"""PyTorch (CPU) peer for Recurrent's sentence classification and sequence tagging tasks.

Two uses: (1) "our model against a PyTorch model of the same architecture trained for the same time" (`train`), and
(2) the speed of one training step at a fixed shape, for the side-by-side table (`step`). A third subcommand, `check`,
verifies the CRF and the span-F1 rules against brute force and hand-worked cases (a few seconds, no data).
Needs only torch 1.13 (CPU) and numpy; run it with /usr/bin/python3.

Usage
  torch_tasks.py train --task classify --train FILE --dev FILE --time SECONDS [--threads N] [--seed S] [--json]
                       [--embedding 128 --hidden 128 --layers 1 --pooling max|mean|last|attention --min-count 2
                        --word-dropout 0.2 --embedding-dropout 0.5 --dropout 0.5 --lowercase --zero-digits
                        --batch 32 --lr 1e-3 --clip 5]
  torch_tasks.py train --task tag --train FILE --dev FILE --time SECONDS [--crf] [--char-embedding 25 --char-hidden 25]
                       [--embedding 100 --hidden 200 --word-dropout 0.05 --no-zero-digits ...the other flags above]
  (--time takes 90, 90s, 10m or 1h; flag names follow `recurrent train --task ...` where both have one)
  torch_tasks.py step  --task classify|tag [--crf] [--batch 32 --seq-len N --vocab V --rounds R] [--threads N] [--json]
  torch_tasks.py check

Data
  classify: `label<TAB>text`, one example a line, words split on whitespace (SST-2 is already lower-cased and
    tokenised; nothing is lower-cased unless --lowercase).
  tag: CoNLL, `token<TAB>tag` a line, a blank line between sentences.
  A malformed line stops the run with one line naming file:line.

Classify model (Recurrent's default classifier; every size is a flag so this can follow when the defaults change)
  ids (B, T) -> word embedding E=128 -> dropout 0.5 (--embedding-dropout) -> BiLSTM, H=128 per direction, 1 layer,
  over packed sequences (nn.utils.rnn.pack_padded_sequence, so padding never enters the recurrence) -> pooling over
  the valid steps of y_t = [h_t(fwd); h_t(bwd)] (2H) -> dropout 0.5 (--dropout) -> Linear(2H, C) -> cross-entropy,
  mean over the batch.
  Pooling: max = elementwise max over t < len; mean = sum over t < len / len; last = [forward state after the last
  word; backward state after the first word] (the LSTM's h_n); attention (Yang et al. 2016) = u_t = tanh(W y_t + b),
  W of shape (A, 2H) with A = 2H unless --attention-dim, s_t = qᵀ u_t (q ~ N(0, 0.1²) at the start),
  a = softmax of s over t < len, pooled = Σ a_t y_t.
  Vocabulary from the training file: words seen fewer than --min-count (2) times map to <unk> (id 1; id 0 is
  <pad>, a zero row without gradient). Word dropout: during training each word id becomes <unk> with probability
  --word-dropout (0.2).

Tag model (BiLSTM(-CRF) of Lample et al. 2016, without pretrained embeddings)
  word embedding E=100 of the word with case kept and every digit replaced by 0 (Lample's normalisation;
  --lowercase / --no-zero-digits change it; vocabulary = every normalised training word, --min-count 1; unknown dev
  words -> <unk>; word dropout 0.05, so that <unk> is trained)
  [ ‖ char-BiLSTM word feature, on by default (--char-embedding 25; 0 = off): the characters of the ORIGINAL word
  (not normalised; character vocabulary = every character of the training file, others -> <unk>) -> char embedding
  (25) -> BiLSTM, --char-hidden (25) per direction, over packed character sequences -> [final forward state; final
  backward state] (2·25), computed once per token (not once per distinct word) ]
  -> dropout 0.5 -> BiLSTM, H=200 per direction, 1 layer, packed -> dropout 0.5 -> Linear(2H, K) = emissions.
  Loss without --crf: softmax cross-entropy per token, mean over the valid tokens of the batch (torch's and
  Recurrent's SoftmaxCrossEntropy reduction; --softmax-loss sentence sums it per sentence and averages over the
  batch instead, the CRF's reduction, ~15x larger gradients before clipping on CoNLL). With --crf: a
  linear-chain CRF (written here: transitions K×K plus start and end scores, initialised U(-0.1, 0.1) like the
  pytorch-crf package), negative log-likelihood = log Z (forward algorithm in log space) − gold path score,
  summed over each sentence and averaged over the batch; decoding by Viterbi. Without --crf decoding is argmax.

Training (both tasks): Adam lr 1e-3 (torch defaults otherwise), batch 32, clip_grad_norm_ 5, PyTorch's default
  initialisation (Embedding N(0, 1), LSTM and Linear U(±1/√fan)), batches drawn from a fresh shuffle every epoch
  (seeded). The --time budget counts TRAINING seconds only (batch building, forward, backward, clip, Adam step);
  dev evaluation runs after every epoch and once more when the budget ends mid-epoch, and is not counted.
  `seconds`, `best_at_seconds` and `tokens_per_second` are all on that training clock; `wall_seconds` is the whole
  run including evaluation. A token is a word (classify: sentence length in words; tag: words, not characters).

Dev metrics
  classify: accuracy, and macro-F1 = mean over the training labels of each label's F1 (0 when undefined).
  tag: token accuracy, and (when every tag is O or X-TYPE with X in B, I, E, S) entity-level micro F1 by the rules
  of conlleval: an entity is an exact span with its type; B- starts one, and so does an I- after O or after an
  entity of another type; F1 = 2PR/(P+R) over all entities of the dev file. For POS (tags not BIO) F1 is null and
  the best epoch is chosen by token accuracy.
  All metrics are fractions in [0, 1].

Output
  train --json: ONE JSON line, e.g. for classify
    {"task": "classify", "seconds": .., "epochs": .., "steps": .., "tokens_per_second": .., "dev_accuracy": ..,
     "dev_macro_f1": .., "best_dev_accuracy": .., "best_at_seconds": .., "parameters": .., ...}
  and for tag {"task": "tag", ..., "dev_f1": .., "dev_token_accuracy": .., "best_dev_f1": ..,
    "best_dev_token_accuracy": .., "best_at_seconds": .., ...}; `epochs` is fractional (steps / batches per epoch),
  "final" figures are from the last evaluation (at the end of the budget). Without --json, one line per evaluation.
  step --json: ONE JSON line {"row": .., "tokens_per_second": .., "ms_per_step": .., ...}.

Step shapes (defaults; every one is a flag): random data, ALL lengths = --seq-len (still packed, so the code path is
  the training one), every word --word-length characters; dropout and word dropout active as in training; timed =
  zero_grad + forward + loss + backward + clip 5 + Adam step, median of --rounds timed steps after 3 warm-up steps
  (tokens/s = batch·seq-len / median). The embedding gradient is dense (nn.Embedding's default), so Adam updates all
  V×E weights every step, as the `train` command does.
    classify: batch 32 × 20 words, vocab 16,000, E 128, H 128, max pooling, 2 classes       -> row "classify"
    tag:      batch 32 × 15 words, vocab 20,000, E 100, chars 25/25 (80 symbols, 6 per word), H 200, 9 tags,
              softmax or --crf                                                              -> row "tag" / "tag_crf"

Threads (see bench/README.md): set before torch loads. --threads N sizes torch's pool
  (torch.set_num_threads and OMP_NUM_THREADS); --blas-threads sizes OpenBLAS's own pthread pool
  (OPENBLAS_NUM_THREADS; default: the environment's value if set, else N). With N > 1 OMP_WAIT_POLICY=PASSIVE is set
  unless the environment sets it (torch's spinning OpenMP workers otherwise fight OpenBLAS's threads). The fair 2-core
  figure is the better of `--threads 2` and `--threads 1 --blas-threads 2`.
  OpenBLAS kernels: --coretype auto (default) sets OPENBLAS_CORETYPE from /proc/cpuinfo, SkylakeX on AVX-512 CPUs and
  Haswell on AVX2 ones, overriding the environment (whose Haswell setting halves OpenBLAS on AVX-512 machines). Merely
  unsetting it is not enough: OpenBLAS 0.3.21 detects CPUs newer than itself as Prescott (SSE3), e.g. this Emerald
  Rapids Xeon (family 6 model 207), where that made one training step 1.6x slower. --coretype keep leaves the
  environment as it is (e.g. OPENBLAS_CORETYPE=Haswell for the AVX2 comparison); --coretype NAME forces NAME.
  The JSON records the effective values, the BLAS actually loaded and the kernels OpenBLAS chose (openblas.corename).
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
from torch_bench import loaded_blas, maxrss_mib, openblas_info, time_steps  # noqa: E402  (standard library only)

PAD, UNK = 0, 1
DIGIT = re.compile(r"\d")

# Per-task defaults of the flags whose default differs between the tasks (None on the command line = take these).
DEFAULTS = {
    "classify": {"embedding": 128, "hidden": 128, "min_count": 2, "word_dropout": 0.2, "char_embedding": 0,
                 "zero_digits": False, "seq_len": 20, "vocab": 16000},
    "tag": {"embedding": 100, "hidden": 200, "min_count": 1, "word_dropout": 0.05, "char_embedding": 25,
            "zero_digits": True, "seq_len": 15, "vocab": 20000},
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class DataError(Exception):
    """A malformed input line: the message names file:line."""


# ----------------------------------------------------------------------------- threads (before torch loads)

def setup_threads(args):
    """Pins torch's and OpenBLAS's thread pools; must run before the first `import torch`."""
    env = os.environ
    blas = args.blas_threads or int(env.get("OPENBLAS_NUM_THREADS") or args.threads)
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    env["OPENBLAS_NUM_THREADS"] = str(blas)
    if args.threads > 1:
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.coretype == "auto":
        kernels = best_openblas_coretype()
        if kernels:
            env["OPENBLAS_CORETYPE"] = kernels
        else:
            env.pop("OPENBLAS_CORETYPE", None)
    elif args.coretype != "keep":
        env["OPENBLAS_CORETYPE"] = args.coretype
    import torch
    torch.set_num_threads(args.threads)
    return {"torch_threads": torch.get_num_threads(), "blas_threads": blas,
            "env": {k: env.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY",
                                            "OPENBLAS_CORETYPE")}}


def best_openblas_coretype():
    """OpenBLAS kernels for this CPU's widest vector ISA, from /proc/cpuinfo: SkylakeX (AVX-512), Haswell (AVX2 + FMA),
    None (let OpenBLAS detect). OpenBLAS 0.3.21's own detection falls back to Prescott (SSE3, 4-5x slower GEMM) on CPUs
    newer than it knows, e.g. Emerald Rapids (family 6 model 207)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= set(flags):
        return "SkylakeX"
    if {"avx2", "fma"} <= set(flags):
        return "Haswell"
    return None


def environment_record(args):
    """What the figures depend on besides the flags; the load averages show how busy the (shared) machine was."""
    import torch
    r = {"torch_version": torch.__version__, "loaded_libs": loaded_blas(), "loadavg_before": args.loadavg_before,
         "loadavg_after": list(os.getloadavg()), "cpu_count": os.cpu_count()}
    ob = openblas_info()
    if ob:
        r["openblas"] = ob
    return r


# ----------------------------------------------------------------------------- data

def read_classify(path):
    """[(label, [words])] from `label<TAB>text` lines."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            label, sep, text = line.partition("\t")
            words = text.split()
            if not sep or not label or not words:
                raise DataError(f"{path}:{n}: expected `label<TAB>text` with a non-empty text")
            out.append((label, words))
    if not out:
        raise DataError(f"{path}:1: no examples")
    return out


def read_conll(path):
    """[([tokens], [tags])] from `token<TAB>tag` lines, blank line between sentences."""
    out, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if words:
                    out.append((words, tags))
                    words, tags = [], []
                continue
            fields = line.split("\t")
            if len(fields) != 2 or not fields[0] or not fields[1]:
                raise DataError(f"{path}:{n}: expected `token<TAB>tag`, got {len(fields)} field(s)")
            words.append(fields[0])
            tags.append(fields[1])
    if words:
        out.append((words, tags))
    if not out:
        raise DataError(f"{path}:1: no sentences")
    return out


def build_vocab(sentences, min_count):
    """word -> id; 0 = <pad>, 1 = <unk>; words in order of first appearance (deterministic)."""
    counts = Counter(w for s in sentences for w in s)
    vocab = {"<pad>": PAD, "<unk>": UNK}
    for s in sentences:
        for w in s:
            if w not in vocab and counts[w] >= min_count:
                vocab[w] = len(vocab)
    return vocab


def lookup_form(args):
    """The form of a word the word embedding looks up: --lowercase, --zero-digits (every digit read as 0)."""
    def form(w):
        if args.lowercase:
            w = w.lower()
        return DIGIT.sub("0", w) if args.zero_digits else w
    return form


def seconds_arg(text):
    """90, 90s, 10m, 1h -> seconds."""
    scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:].lower())
    try:
        value = float(text[:-1] if scale else text) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (90, 90s, 10m, 1h)")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"duration must be > 0: {text!r}")
    return value


# ----------------------------------------------------------------------------- metrics

def macro_f1(gold, pred, labels):
    f1s = []
    for c in labels:
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred) if g == c and p != c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def split_tag(t):
    """conlleval's split: 'B-PER' -> ('B', 'PER'), 'O' -> ('O', '')."""
    if t == "O":
        return "O", ""
    prefix, _, typ = t.partition("-")
    return prefix, typ


def is_chunk_tagset(tags):
    return all(t == "O" or (len(t) > 2 and t[0] in "BIES" and t[1] == "-") for t in tags)


def _end_of_chunk(prev_tag, tag, prev_type, typ):
    """conlleval.pl endOfChunk: does the entity open at the previous token end before this one?"""
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag != "O" and prev_tag != "." and prev_type != typ


def _start_of_chunk(prev_tag, tag, prev_type, typ):
    """conlleval.pl startOfChunk: does an entity start at this token? (an I- after O or another type does)."""
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag != "O" and tag != "." and prev_type != typ


def chunks(tags):
    """The entities of one sentence as a set of (start, end inclusive, type), by conlleval's rules."""
    out, start, prev_tag, prev_type = set(), None, "O", ""
    for i, t in enumerate(list(tags) + ["O"]):          # the sentence end closes any open entity
        tag, typ = split_tag(t)
        if start is not None and _end_of_chunk(prev_tag, tag, prev_type, typ):
            out.add((start, i - 1, prev_type))
            start = None
        if _start_of_chunk(prev_tag, tag, prev_type, typ):
            start = i
        prev_tag, prev_type = tag, typ
    return out


def span_f1(gold_sents, pred_sents):
    """Entity-level micro F1 over sentences (conlleval's FB1 as a fraction); also precision and recall."""
    correct = n_gold = n_pred = 0
    for g, p in zip(gold_sents, pred_sents):
        cg, cp = chunks(g), chunks(p)
        correct += len(cg & cp)
        n_gold += len(cg)
        n_pred += len(cp)
    precision = correct / n_pred if n_pred else 0.0
    recall = correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


# ----------------------------------------------------------------------------- models

def build_models():
    """Defines the modules once torch is loaded (torch is imported only after the thread setup)."""
    import torch
    import torch.nn as nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Classifier(nn.Module):
        """ids (B, T), lengths (B) -> logits (B, C). See the module docstring."""

        def __init__(self, vocab, classes, E, H, layers, pooling, emb_dropout, out_dropout, attention_dim):
            super().__init__()
            self.pooling = pooling
            self.embedding = nn.Embedding(vocab, E, padding_idx=PAD)
            self.emb_dropout = nn.Dropout(emb_dropout)
            self.lstm = nn.LSTM(E, H, num_layers=layers, bidirectional=True, batch_first=True)
            if pooling == "attention":
                self.attention = nn.Linear(2 * H, attention_dim or 2 * H)          # u_t = tanh(W y_t + b)
                self.context = nn.Parameter(torch.empty(attention_dim or 2 * H))   # q
                nn.init.normal_(self.context, std=0.1)
            self.out_dropout = nn.Dropout(out_dropout)
            self.head = nn.Linear(2 * H, classes)

        def forward(self, ids, lengths):
            x = self.emb_dropout(self.embedding(ids))
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, (h_n, _) = self.lstm(packed)
            if self.pooling == "last":
                pooled = torch.cat([h_n[-2], h_n[-1]], dim=1)     # last layer: forward, backward
            elif self.pooling == "max":
                y, _ = pad_packed_sequence(out, batch_first=True, padding_value=float("-inf"))
                pooled = y.max(dim=1).values
            else:
                y, _ = pad_packed_sequence(out, batch_first=True)
                if self.pooling == "mean":
                    pooled = y.sum(dim=1) / lengths.to(y.dtype).unsqueeze(1)
                else:
                    valid = torch.arange(y.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)   # (B, T)
                    scores = torch.tanh(self.attention(y)) @ self.context                # (B, T)
                    a = torch.softmax(scores.masked_fill(~valid, float("-inf")), dim=1)
                    pooled = (a.unsqueeze(2) * y).sum(dim=1)
            return self.head(self.out_dropout(pooled))

    class CRF(nn.Module):
        """Linear-chain CRF over emissions (B, T, K) with a validity mask (B, T) whose valid steps are a prefix.
        score(y) = start[y_0] + Σ_t emit[t, y_t] + Σ_{t>0} trans[y_{t-1}, y_t] + end[y_{len-1}]."""

        def __init__(self, K):
            super().__init__()
            self.transitions = nn.Parameter(torch.empty(K, K).uniform_(-0.1, 0.1))   # [from, to]
            self.start = nn.Parameter(torch.empty(K).uniform_(-0.1, 0.1))
            self.end = nn.Parameter(torch.empty(K).uniform_(-0.1, 0.1))

        def nll(self, emissions, tags, mask):
            """−log p(tags | emissions) per sentence, (B)."""
            B, T, _ = emissions.shape
            rows = torch.arange(B)
            lengths = mask.sum(dim=1)
            # Gold path score.
            score = self.start[tags[:, 0]] + emissions[rows, 0, tags[:, 0]]
            for t in range(1, T):
                step = self.transitions[tags[:, t - 1], tags[:, t]] + emissions[rows, t, tags[:, t]]
                score = score + step * mask[:, t]
            score = score + self.end[tags[rows, lengths - 1]]
            # log Z by the forward algorithm: alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + trans[i, j]) + emit[t, j].
            alpha = self.start + emissions[:, 0]
            for t in range(1, T):
                nxt = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
                alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
            return torch.logsumexp(alpha + self.end, dim=1) - score

        def decode(self, emissions, mask):
            """Viterbi: the best tag sequence of each sentence, as lists of its valid length."""
            B, T, _ = emissions.shape
            lengths = mask.sum(dim=1).tolist()
            delta = self.start + emissions[:, 0]
            back = []
            for t in range(1, T):
                best, arg = (delta.unsqueeze(2) + self.transitions).max(dim=1)     # over the previous tag
                delta = torch.where(mask[:, t].unsqueeze(1), best + emissions[:, t], delta)
                back.append(arg)
            last = (delta + self.end).argmax(dim=1).tolist()
            back = torch.stack(back, dim=1).tolist() if back else []               # (B, T-1, K)
            paths = []
            for b in range(B):
                path = [last[b]]
                for t in range(lengths[b] - 1, 0, -1):
                    path.append(back[b][t - 1][path[-1]])
                paths.append(path[::-1])
            return paths

    class Tagger(nn.Module):
        """words (B, T), chars (N, W) of the N valid tokens in row-major order, char lengths (N), lengths (B)
        -> emissions (B, T, K). See the module docstring."""

        def __init__(self, vocab, char_vocab, tags, E, H, layers, char_E, char_H, emb_dropout, out_dropout, crf,
                     sentence_loss):
            super().__init__()
            self.sentence_loss = sentence_loss
            self.embedding = nn.Embedding(vocab, E, padding_idx=PAD)
            self.char_E = char_E
            features = E
            if char_E > 0:
                self.char_embedding = nn.Embedding(char_vocab, char_E, padding_idx=PAD)
                self.char_lstm = nn.LSTM(char_E, char_H, bidirectional=True, batch_first=True)
                features += 2 * char_H
            self.emb_dropout = nn.Dropout(emb_dropout)
            self.lstm = nn.LSTM(features, H, num_layers=layers, bidirectional=True, batch_first=True)
            self.out_dropout = nn.Dropout(out_dropout)
            self.head = nn.Linear(2 * H, tags)
            self.crf = CRF(tags) if crf else None

        def emissions(self, words, chars, char_lengths, lengths):
            x = self.embedding(words)
            if self.char_E > 0:
                c = self.char_embedding(chars)
                packed = pack_padded_sequence(c, char_lengths, batch_first=True, enforce_sorted=False)
                _, (h_n, _) = self.char_lstm(packed)
                per_token = torch.cat([h_n[0], h_n[1]], dim=1)                     # (N, 2 char_H)
                valid = torch.arange(words.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
                char_x = x.new_zeros(words.shape[0], words.shape[1], per_token.shape[1])
                char_x[valid] = per_token
                x = torch.cat([x, char_x], dim=2)
            packed = pack_padded_sequence(self.emb_dropout(x), lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            y, _ = pad_packed_sequence(out, batch_first=True, total_length=words.shape[1])
            return self.head(self.out_dropout(y))

        def loss(self, emissions, tags, mask):
            if self.crf is not None:
                return self.crf.nll(emissions, tags, mask).mean()        # summed per sentence, mean over batch
            if self.sentence_loss:                                       # summed per sentence, mean over batch
                return nn.functional.cross_entropy(emissions[mask], tags[mask], reduction="sum") / mask.shape[0]
            return nn.functional.cross_entropy(emissions[mask], tags[mask])   # mean over valid tokens

        def decode(self, emissions, mask):
            if self.crf is not None:
                return self.crf.decode(emissions, mask)
            best = emissions.argmax(dim=2).tolist()
            return [row[:n] for row, n in zip(best, mask.sum(dim=1).tolist())]

    return Classifier, Tagger, CRF


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- batches

def pad(rows, value=PAD):
    import torch
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def word_dropout(ids, p, generator):
    """Each real word id becomes <unk> with probability p (padding stays padding)."""
    import torch
    if p <= 0:
        return ids
    drop = (torch.rand(ids.shape, generator=generator) < p) & (ids != PAD)
    return ids.masked_fill(drop, UNK)


def tag_batch(items):
    """items: [(word ids, char id lists, tag ids)] -> words (B, T), chars (N, W), char lengths (N), lengths (B),
    tags (B, T), mask (B, T)."""
    import torch
    lengths = torch.tensor([len(w) for w, _, _ in items])
    words = pad([w for w, _, _ in items])
    token_chars = [c for _, cs, _ in items for c in cs]
    chars = pad(token_chars) if token_chars and token_chars[0] is not None else None
    char_lengths = torch.tensor([len(c) for c in token_chars]) if chars is not None else None
    tags = pad([t for _, _, t in items])
    mask = torch.arange(words.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return words, chars, char_lengths, lengths, tags, mask


# ----------------------------------------------------------------------------- train

class TrainingClock:
    """Seconds spent training, excluding whatever happens between pause() and resume() (evaluation)."""

    def __init__(self):
        self.total, self.since = 0.0, time.perf_counter()

    def seconds(self):
        return self.total + (time.perf_counter() - self.since if self.since is not None else 0.0)

    def pause(self):
        self.total, self.since = self.seconds(), None

    def resume(self):
        self.since = time.perf_counter()


def prepare_classify(args):
    train = read_classify(args.train)
    dev = read_classify(args.dev)
    form = lookup_form(args)
    vocab = build_vocab([[form(w) for w in ws] for _, ws in train], args.min_count)
    labels = sorted({l for l, _ in train})
    label_id = {l: i for i, l in enumerate(labels)}
    for n, (l, _) in enumerate(dev, 1):
        if l not in label_id:
            raise DataError(f"{args.dev}:{n}: label {l!r} does not occur in {args.train}")
    encode = lambda ws: [vocab.get(form(w), UNK) for w in ws]                # noqa: E731
    train_x = [(encode(ws), label_id[l]) for l, ws in train]
    dev_x = [(encode(ws), label_id[l]) for l, ws in dev]
    return {"train": train_x, "dev": dev_x, "vocab": vocab, "labels": labels,
            "data": {"train_examples": len(train), "dev_examples": len(dev), "vocab": len(vocab),
                     "labels": labels, "train_tokens": sum(len(ws) for _, ws in train)}}


def prepare_tag(args):
    train = read_conll(args.train)
    dev = read_conll(args.dev)
    form = lookup_form(args)
    vocab = build_vocab([[form(w) for w in ws] for ws, _ in train], args.min_count)
    chars = build_vocab([list(w) for ws, _ in train for w in ws], 1)
    tags = sorted({t for _, ts in train for t in ts})
    tag_id = {t: i for i, t in enumerate(tags)}
    use_chars = args.char_embedding > 0

    def encode(ws, ts):
        w = [vocab.get(form(x), UNK) for x in ws]
        c = [[chars.get(ch, UNK) for ch in x] for x in ws] if use_chars else [None] * len(ws)
        return w, c, [tag_id.get(t, 0) for t in ts]

    chunked = is_chunk_tagset(tags) and is_chunk_tagset({t for _, ts in dev for t in ts})
    return {"train": [encode(ws, ts) for ws, ts in train], "dev": [encode(ws, ts) for ws, ts in dev],
            "dev_gold": [ts for _, ts in dev], "tags": tags, "chunked": chunked, "vocab": vocab, "chars": chars,
            "data": {"train_sentences": len(train), "dev_sentences": len(dev), "vocab": len(vocab),
                     "char_vocab": len(chars), "tags": tags, "train_tokens": sum(len(ws) for ws, _ in train),
                     "tagset_is_bio": chunked}}


def evaluate_classify(model, prep, batch=256):
    import torch
    model.eval()
    dev = prep["dev"]
    order = sorted(range(len(dev)), key=lambda i: len(dev[i][0]))
    pred = [0] * len(dev)
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            ids = pad([dev[i][0] for i in idx])
            lengths = torch.tensor([len(dev[i][0]) for i in idx])
            for i, p in zip(idx, model(ids, lengths).argmax(dim=1).tolist()):
                pred[i] = p
    model.train()
    gold = [y for _, y in dev]
    accuracy = sum(g == p for g, p in zip(gold, pred)) / len(gold)
    return {"accuracy": accuracy, "macro_f1": macro_f1(gold, pred, range(len(prep["labels"])))}


def evaluate_tag(model, prep, batch=128):
    import torch
    model.eval()
    dev = prep["dev"]
    order = sorted(range(len(dev)), key=lambda i: len(dev[i][0]))
    pred = [None] * len(dev)
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            words, chars, char_lengths, lengths, _, mask = tag_batch([dev[i] for i in idx])
            paths = model.decode(model.emissions(words, chars, char_lengths, lengths), mask)
            for i, p in zip(idx, paths):
                pred[i] = [prep["tags"][k] for k in p]
    model.train()
    gold = prep["dev_gold"]
    n = sum(len(g) for g in gold)
    accuracy = sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p)) / n
    r = {"token_accuracy": accuracy, "f1": None, "precision": None, "recall": None}
    if prep["chunked"]:
        r["f1"], r["precision"], r["recall"] = span_f1(gold, pred)
    return r


def command_train(args):
    threads = setup_threads(args)
    import torch
    torch.manual_seed(args.seed)
    shuffler = random.Random(args.seed)
    dropout_rng = torch.Generator().manual_seed(args.seed + 1)
    Classifier, Tagger, _ = build_models()
    wall0 = time.perf_counter()
    classify = args.task == "classify"
    prep = prepare_classify(args) if classify else prepare_tag(args)
    if classify:
        model = Classifier(len(prep["vocab"]), len(prep["labels"]), args.embedding, args.hidden, args.layers,
                           args.pooling, args.embedding_dropout, args.dropout, args.attention_dim)
    else:
        model = Tagger(len(prep["vocab"]), len(prep["chars"]), len(prep["tags"]), args.embedding, args.hidden,
                       args.layers, args.char_embedding, args.char_hidden, args.embedding_dropout, args.dropout,
                       args.crf, args.softmax_loss == "sentence")
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    train = prep["train"]
    batches_per_epoch = math.ceil(len(train) / args.batch)
    say = log if args.json else print

    def train_step(items):
        optimizer.zero_grad(set_to_none=True)
        if classify:
            ids = word_dropout(pad([x for x, _ in items]), args.word_dropout, dropout_rng)
            lengths = torch.tensor([len(x) for x, _ in items])
            loss = torch.nn.functional.cross_entropy(model(ids, lengths), torch.tensor([y for _, y in items]))
        else:
            words, chars, char_lengths, lengths, tags, mask = tag_batch(items)
            words = word_dropout(words, args.word_dropout, dropout_rng)
            loss = model.loss(model.emissions(words, chars, char_lengths, lengths), tags, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        return loss.item()

    evaluations, best = [], None
    steps = tokens = 0
    clock = TrainingClock()
    loss_sum, loss_n = 0.0, 0
    done = False
    while not done:
        order = list(range(len(train)))
        shuffler.shuffle(order)
        for s in range(0, len(order), args.batch):
            items = [train[i] for i in order[s:s + args.batch]]
            loss_sum += train_step(items)
            loss_n += 1
            steps += 1
            tokens += sum(len(it[0]) for it in items)
            if clock.seconds() >= args.time:
                done = True
                break
        clock.pause()
        seconds = clock.seconds()
        m = evaluate_classify(model, prep) if classify else evaluate_tag(model, prep)
        key = m["accuracy"] if classify else (m["f1"] if m["f1"] is not None else m["token_accuracy"])
        if best is None or key > best[0]:
            best = (key, seconds, m)
        evaluations.append({"epochs": round(steps / batches_per_epoch, 3), "seconds": round(seconds, 2), **m})
        shown = (f"dev acc {m['accuracy']:.4f} macro-F1 {m['macro_f1']:.4f}" if classify else
                 f"dev token acc {m['token_accuracy']:.4f}" + (f" F1 {m['f1']:.4f}" if m["f1"] is not None else ""))
        say(f"epoch {steps / batches_per_epoch:6.2f}  {seconds:7.1f} s  loss {loss_sum / max(loss_n, 1):.4f}  "
            f"{tokens / seconds:8,.0f} tokens/s  {shown}")
        loss_sum, loss_n = 0.0, 0
        clock.resume()
    clock.pause()
    seconds = clock.seconds()
    final = evaluations[-1]
    out = {"task": args.task, "seconds": round(seconds, 3), "epochs": round(steps / batches_per_epoch, 3),
           "steps": steps, "tokens_per_second": round(tokens / seconds, 1)}
    if classify:
        out.update({"dev_accuracy": final["accuracy"], "dev_macro_f1": final["macro_f1"],
                    "best_dev_accuracy": best[2]["accuracy"], "best_dev_macro_f1": best[2]["macro_f1"]})
    else:
        out.update({"dev_f1": final["f1"], "dev_token_accuracy": final["token_accuracy"],
                    "best_dev_f1": best[2]["f1"], "best_dev_token_accuracy": best[2]["token_accuracy"]})
    out.update({"best_at_seconds": round(best[1], 3), "parameters": count_parameters(model),
                "wall_seconds": round(time.perf_counter() - wall0, 3), "evaluations": evaluations,
                "config": config_record(args), "data": prep["data"], "threads": threads,
                "maxrss_mib": round(maxrss_mib(), 1), **environment_record(args)})
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.task}: {out['steps']} steps, {out['epochs']} epochs in {out['seconds']:.1f} s of training "
              f"({out['tokens_per_second']:,.0f} tokens/s), {out['parameters']:,} parameters")
        if classify:
            print(f"final dev accuracy {out['dev_accuracy']:.4f}, macro-F1 {out['dev_macro_f1']:.4f}; "
                  f"best dev accuracy {out['best_dev_accuracy']:.4f} at {out['best_at_seconds']:.1f} s")
        else:
            f1 = lambda v: "null" if v is None else f"{v:.4f}"               # noqa: E731
            print(f"final dev F1 {f1(out['dev_f1'])}, token accuracy {out['dev_token_accuracy']:.4f}; best dev F1 "
                  f"{f1(out['best_dev_f1'])}, token accuracy {out['best_dev_token_accuracy']:.4f} "
                  f"at {out['best_at_seconds']:.1f} s")


def config_record(args):
    keys = ["embedding", "hidden", "layers", "batch", "lr", "clip", "seed", "min_count", "word_dropout",
            "embedding_dropout", "dropout", "lowercase", "zero_digits"]
    keys += ["pooling", "attention_dim"] if args.task == "classify" else ["crf", "softmax_loss", "char_embedding",
                                                                         "char_hidden"]
    if args.command == "step":   # no data: the vocabulary flags mean nothing, the shape flags do
        keys = [k for k in keys if k not in ("min_count", "lowercase", "zero_digits")]
        keys += ["seq_len", "vocab", "rounds", "word_length", "char_vocab", "classes", "tags"]
    return {k: getattr(args, k) for k in keys}


# ----------------------------------------------------------------------------- step

def command_step(args):
    threads = setup_threads(args)
    import torch
    torch.manual_seed(args.seed)
    Classifier, Tagger, _ = build_models()
    g = torch.Generator().manual_seed(args.seed)
    B, T = args.batch, args.seq_len
    lengths = torch.full((B,), T, dtype=torch.long)
    ids = torch.randint(2, args.vocab, (B, T), generator=g)
    if args.task == "classify":
        model = Classifier(args.vocab, args.classes, args.embedding, args.hidden, args.layers, args.pooling,
                           args.embedding_dropout, args.dropout, args.attention_dim)
        y = torch.randint(0, args.classes, (B,), generator=g)
        row = "classify"

        def loss_fn():
            x = word_dropout(ids, args.word_dropout, g)
            return torch.nn.functional.cross_entropy(model(x, lengths), y)
    else:
        model = Tagger(args.vocab, args.char_vocab, args.tags, args.embedding, args.hidden, args.layers,
                       args.char_embedding, args.char_hidden, args.embedding_dropout, args.dropout, args.crf,
                       args.softmax_loss == "sentence")
        tags = torch.randint(0, args.tags, (B, T), generator=g)
        mask = torch.ones(B, T, dtype=torch.bool)
        chars = torch.randint(2, args.char_vocab, (B * T, args.word_length), generator=g)
        char_lengths = torch.full((B * T,), args.word_length, dtype=torch.long)
        row = "tag_crf" if args.crf else "tag"

        def loss_fn():
            x = word_dropout(ids, args.word_dropout, g)
            return model.loss(model.emissions(x, chars if args.char_embedding > 0 else None, char_lengths, lengths),
                              tags, mask)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()

    r = time_steps(step, 0.0, args.rounds)
    ms = {k: round(1e3 * r[k + "_s"], 3) for k in ("median", "mean", "min", "max")}
    out = {"row": row, "tokens_per_second": round(B * T / r["median_s"], 1), "ms_per_step": ms["median"],
           "ms_mean": ms["mean"], "ms_min": ms["min"], "ms_max": ms["max"], "steps": r["steps"],
           "shape": {"batch": B, "seq_len": T}, "parameters": count_parameters(model),
           "config": config_record(args), "threads": threads, "maxrss_mib": round(maxrss_mib(), 1),
           **environment_record(args)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{row}: {out['ms_per_step']:.2f} ms/step (median of {r['steps']}), {out['tokens_per_second']:,.0f} "
              f"tokens/s, {out['parameters']:,} parameters, {threads['torch_threads']} torch thread(s), "
              f"{threads['blas_threads']} BLAS thread(s)")


# ----------------------------------------------------------------------------- check

def command_check(args):
    """CRF against brute-force enumeration, Viterbi against the brute-force argmax, span F1 on worked cases."""
    import itertools
    import torch
    torch.manual_seed(0)
    _, _, CRF = build_models()
    torch.set_default_dtype(torch.float64)
    K, T, B = 3, 4, 3
    crf = CRF(K)
    with torch.no_grad():
        for p in crf.parameters():
            p.uniform_(-1, 1)
    emissions = torch.randn(B, T, K)
    lengths = torch.tensor([4, 2, 1])
    mask = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)
    tags = torch.randint(0, K, (B, T))
    nll = crf.nll(emissions, tags, mask)
    paths = crf.decode(emissions, mask)
    failures = []

    def path_score(b, path):
        s = crf.start[path[0]] + crf.end[path[-1]] + sum(emissions[b, t, k] for t, k in enumerate(path))
        return s + sum(crf.transitions[path[t - 1], path[t]] for t in range(1, len(path)))

    for b in range(B):
        n = int(lengths[b])
        scores = {p: float(path_score(b, p)) for p in itertools.product(range(K), repeat=n)}
        log_z = math.log(sum(math.exp(s) for s in scores.values()))
        expect = log_z - scores[tuple(tags[b, :n].tolist())]
        if abs(float(nll[b]) - expect) > 1e-9:
            failures.append(f"CRF nll sentence {b}: {float(nll[b])} != brute force {expect}")
        if tuple(paths[b]) != max(scores, key=scores.get):
            failures.append(f"Viterbi sentence {b}: {paths[b]} != brute force {max(scores, key=scores.get)}")
    # Gradient of the NLL against central differences, on the transitions.
    tr = crf.transitions
    nll.sum().backward()
    for i, j in [(0, 1), (2, 2)]:
        with torch.no_grad():
            tr[i, j] += 1e-6
            up = float(crf.nll(emissions, tags, mask).sum())
            tr[i, j] -= 2e-6
            down = float(crf.nll(emissions, tags, mask).sum())
            tr[i, j] += 1e-6
        if abs((up - down) / 2e-6 - float(tr.grad[i, j])) > 1e-6:
            failures.append(f"CRF gradient transitions[{i},{j}]: {float(tr.grad[i, j])} != {(up - down) / 2e-6}")
    torch.set_default_dtype(torch.float32)

    cases = [  # (tags, entities conlleval finds)
        (["B-PER", "I-PER", "O", "B-LOC"], {(0, 1, "PER"), (3, 3, "LOC")}),
        (["I-PER", "I-PER", "O"], {(0, 1, "PER")}),                       # I- after the sentence start opens one
        (["O", "I-ORG", "B-ORG", "I-ORG"], {(1, 1, "ORG"), (2, 3, "ORG")}),
        (["B-PER", "I-LOC", "I-LOC"], {(0, 0, "PER"), (1, 2, "LOC")}),   # I- after another type opens one
        (["B-PER", "B-PER"], {(0, 0, "PER"), (1, 1, "PER")}),
        (["O", "O"], set()),
    ]
    for tags_, expect in cases:
        if chunks(tags_) != expect:
            failures.append(f"chunks({tags_}) = {chunks(tags_)}, expected {expect}")
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-MISC"]]      # 2 of 4 predicted right, 2 of 3 gold found
    f1, p, r = span_f1(gold, pred)
    if abs(p - 0.5) > 1e-12 or abs(r - 2 / 3) > 1e-12 or abs(f1 - 4 / 7) > 1e-12:
        failures.append(f"span_f1: P {p} R {r} F1 {f1}, expected 0.5, 0.6667, 0.5714")
    if abs(macro_f1([0, 0, 1, 1], [0, 1, 1, 1], [0, 1]) - (2 / 3 + 0.8) / 2) > 1e-12:
        failures.append("macro_f1 on [0,0,1,1] vs [0,1,1,1]")
    for f in failures:
        print("FAIL", f)
    print("check: " + ("all passed" if not failures else f"{len(failures)} failure(s)"))
    return 1 if failures else 0


# ----------------------------------------------------------------------------- command line

def add_machine_flags(p):
    """The flags every peer subcommand shares: threads, OpenBLAS's kernels, seed, JSON output."""
    p.add_argument("--threads", type=int, default=1, help="torch threads (torch.set_num_threads, OMP_NUM_THREADS)")
    p.add_argument("--blas-threads", type=int, default=0,
                   help="OpenBLAS threads (default: $OPENBLAS_NUM_THREADS if set, else --threads)")
    p.add_argument("--coretype", default="auto",
                   help="OpenBLAS kernels: auto (from the CPU's flags), keep ($OPENBLAS_CORETYPE as it is), or a name")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--task", choices=("classify", "tag"), required=True)
        add_machine_flags(p)
        p.add_argument("--embedding", type=int, default=None, help="word embedding size (classify 128, tag 100)")
        p.add_argument("--hidden", type=int, default=None,
                       help="LSTM hidden size per direction (classify 128, tag 200)")
        p.add_argument("--layers", type=int, default=1)
        p.add_argument("--batch", type=int, default=32)
        p.add_argument("--lr", type=float, default=1e-3)
        p.add_argument("--clip", type=float, default=5.0)
        p.add_argument("--embedding-dropout", type=float, default=0.5, help="dropout on the BiLSTM's input")
        p.add_argument("--dropout", type=float, default=0.5, help="dropout on the BiLSTM's output / the pooled vector")
        p.add_argument("--lowercase", action="store_true", help="lowercase words for the lookup")
        p.add_argument("--zero-digits", action=argparse.BooleanOptionalAction, default=None,
                       help="read digits as 0 in the lookup (default on for tag, off for classify)")
        p.add_argument("--word-dropout", type=float, default=None,
                       help="word id -> <unk> probability (classify 0.2, tag 0.05)")
        p.add_argument("--pooling", choices=("max", "mean", "last", "attention"), default="max")
        p.add_argument("--attention-dim", type=int, default=0, help="attention size A (0 = 2H)")
        p.add_argument("--crf", action="store_true", help="tag: linear-chain CRF instead of per-token softmax")
        p.add_argument("--softmax-loss", choices=("token", "sentence"), default="token",
                       help="tag without --crf: mean over the batch's tokens, or summed per sentence and averaged "
                            "over the batch as the CRF's loss is")
        p.add_argument("--char-embedding", type=int, default=None,
                       help="tag: char embedding size, 0 = no char features (default 25)")
        p.add_argument("--char-hidden", type=int, default=25, help="tag: char BiLSTM hidden size per direction")

    p = sub.add_parser("train", help="train for a fixed time, report dev metrics")
    common(p)
    p.add_argument("--train", required=True)
    p.add_argument("--dev", required=True)
    p.add_argument("--time", type=seconds_arg, required=True,
                   help="training seconds (evaluation not counted): 90, 90s, 10m, 1h")
    p.add_argument("--min-count", type=int, default=None, help="words seen fewer times -> <unk> (classify 2, tag 1)")

    p = sub.add_parser("step", help="time one training step at a fixed shape")
    common(p)
    p.add_argument("--seq-len", type=int, default=None, help="words per sentence (classify 20, tag 15)")
    p.add_argument("--vocab", type=int, default=None, help="word vocabulary (classify 16000, tag 20000)")
    p.add_argument("--rounds", type=int, default=50, help="timed steps (after 3 warm-up steps)")
    p.add_argument("--word-length", type=int, default=6, help="tag: characters per word")
    p.add_argument("--char-vocab", type=int, default=80, help="tag: character vocabulary")
    p.add_argument("--classes", type=int, default=2, help="classify: classes")
    p.add_argument("--tags", type=int, default=9, help="tag: tags")

    sub.add_parser("check", help="self-check of the CRF and the metrics")
    args = ap.parse_args()
    if args.command == "check":
        sys.exit(command_check(args))

    args.loadavg_before = list(os.getloadavg())
    for k, v in DEFAULTS[args.task].items():
        if getattr(args, k, v) is None:
            setattr(args, k, v)
    if args.task == "classify" and (args.crf or args.char_embedding or args.softmax_loss != "token"):
        ap.error("--crf, --char-embedding and --softmax-loss are for --task tag")
    if args.task == "tag" and args.pooling != "max":
        ap.error("--pooling is for --task classify")
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    try:
        command_train(args) if args.command == "train" else command_step(args)
    except DataError as e:
        sys.exit(f"torch_tasks: {e}")


if __name__ == "__main__":
    main()
