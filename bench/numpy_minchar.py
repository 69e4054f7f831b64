#!/usr/bin/env python3
"""min-char-rnn (after Karpathy's 2015 gist), written fresh in numpy, as a peer.

Algorithm (unchanged from the original):
  vanilla RNN, one-hot inputs, hidden 100, seq_length 25, float64,
  h_t = tanh(Wxh x_t + Whh h_{t-1} + bh),  y_t = Why h_t + by,  p_t = softmax(y_t)
  loss = sum_t -log p_t[target_t]  (summed over the 25 steps, not averaged)
  weights ~ N(0,1)*0.01, biases 0; BPTT over the 25 steps; every gradient
  clipped elementwise to [-5, 5]; Adagrad lr 0.1 (mem += d*d; p -= lr*d/sqrt(mem+1e-8));
  smooth_loss starts at -log(1/V)*25 and is updated smooth = 0.999*smooth + 0.001*loss;
  the data pointer walks the text in windows of 25 and resets hprev to 0 at
  the start and whenever it wraps.
Differences from the gist: no periodic sampling inside the timed loop (the gist
prints a 200-char sample every 100 iterations; use --sample-every to restore it),
a fixed seed, and the text is the first 100,000 characters of the given file.

Prints ONE JSON object: iterations/s, characters/s (= iterations*25/s), and the
smoothed loss after 5000 iterations (plus checkpoints every 1000).

Usage:
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 numpy_minchar.py [--text FILE] [--iters 5000]
Default text: the repository's data/tinyshakespeare.txt (../data/ from this
script), the text `recurrent train --preset min-char-rnn` reads by default.
The peer's script as given to us, with only this default text changed, so that
bench/minchar-side-by-side.sh needs nothing outside the repository.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np


def load_text(path, n_chars):
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read()[:n_chars], os.path.abspath(path)
    here = os.path.dirname(os.path.abspath(__file__))
    ts = os.path.normpath(os.path.join(here, "..", "data", "tinyshakespeare.txt"))
    with open(ts, encoding="utf-8") as f:
        return f.read()[:n_chars], ts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--text", default=None)
    ap.add_argument("--chars", type=int, default=100_000)
    ap.add_argument("--iters", type=int, default=5000)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--seq-length", type=int, default=25)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample-every", type=int, default=0)
    args = ap.parse_args()

    data, source = load_text(args.text, args.chars)
    chars = sorted(set(data))
    V, H, S = len(chars), args.hidden, args.seq_length
    ix = {c: i for i, c in enumerate(chars)}
    data_ix = np.array([ix[c] for c in data], dtype=np.int64)

    rng = np.random.default_rng(args.seed)
    Wxh = rng.standard_normal((H, V)) * 0.01
    Whh = rng.standard_normal((H, H)) * 0.01
    Why = rng.standard_normal((V, H)) * 0.01
    bh = np.zeros((H, 1))
    by = np.zeros((V, 1))
    params = [Wxh, Whh, Why, bh, by]
    mems = [np.zeros_like(p) for p in params]

    def loss_fun(inputs, targets, hprev):
        xs, hs, ps = {}, {-1: hprev}, {}
        loss = 0.0
        for t in range(len(inputs)):
            xs[t] = np.zeros((V, 1))
            xs[t][inputs[t]] = 1.0
            hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
            y = Why @ hs[t] + by
            e = np.exp(y - y.max())
            ps[t] = e / e.sum()
            loss += -np.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
        dbh, dby = np.zeros_like(bh), np.zeros_like(by)
        dhnext = np.zeros_like(hprev)
        for t in reversed(range(len(inputs))):
            dy = ps[t].copy()
            dy[targets[t]] -= 1.0
            dWhy += dy @ hs[t].T
            dby += dy
            dh = Why.T @ dy + dhnext
            dhraw = (1.0 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += dhraw @ xs[t].T
            dWhh += dhraw @ hs[t - 1].T
            dhnext = Whh.T @ dhraw
        grads = [dWxh, dWhh, dWhy, dbh, dby]
        for d in grads:
            np.clip(d, -5, 5, out=d)
        return loss, grads, hs[len(inputs) - 1]

    def sample(h, seed_ix, n):
        x = np.zeros((V, 1))
        x[seed_ix] = 1
        out = []
        for _ in range(n):
            h = np.tanh(Wxh @ x + Whh @ h + bh)
            y = Why @ h + by
            p = np.exp(y - y.max())
            p = (p / p.sum()).ravel()
            i = rng.choice(V, p=p)
            x = np.zeros((V, 1))
            x[i] = 1
            out.append(i)
        return "".join(chars[i] for i in out)

    smooth_loss = -np.log(1.0 / V) * S
    checkpoints = []
    chunk_rates = []
    n, p = 0, 0
    hprev = np.zeros((H, 1))
    t_start = time.perf_counter()
    t_chunk = t_start
    while n < args.iters:
        if p + S + 1 >= len(data_ix) or n == 0:
            hprev = np.zeros((H, 1))
            p = 0
        inputs = data_ix[p:p + S]
        targets = data_ix[p + 1:p + S + 1]
        loss, grads, hprev = loss_fun(inputs, targets, hprev)
        smooth_loss = smooth_loss * 0.999 + loss * 0.001
        for prm, d, m in zip(params, grads, mems):
            m += d * d
            prm += -args.lr * d / np.sqrt(m + 1e-8)
        p += S
        n += 1
        if args.sample_every and n % args.sample_every == 0:
            print(sample(hprev, inputs[0], 200), file=sys.stderr)
        if n % 1000 == 0:
            now = time.perf_counter()
            chunk_rates.append(1000 / (now - t_chunk))
            t_chunk = now
            checkpoints.append({"iter": n, "smooth_loss": float(smooth_loss)})
            print(f"iter {n} smooth_loss {smooth_loss:.4f}", file=sys.stderr)
    elapsed = time.perf_counter() - t_start

    out = {
        "benchmark": "numpy_minchar",
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        "text_source": source,
        "text_chars": len(data),
        "text_sha256": hashlib.sha256(data.encode("utf-8")).hexdigest(),
        "vocab_size": V,
        "hidden": H,
        "seq_length": S,
        "lr": args.lr,
        "optimizer": "Adagrad (eps 1e-8), elementwise clip [-5,5]",
        "dtype": "float64",
        "seed": args.seed,
        "iterations": n,
        "elapsed_s": elapsed,
        "iterations_per_s": n / elapsed,
        "chars_per_s": n * S / elapsed,
        "median_iterations_per_s_per_1000": sorted(chunk_rates)[len(chunk_rates) // 2] if chunk_rates else None,
        "smooth_loss_final": float(smooth_loss),
        "smooth_loss_at_5000": next((c["smooth_loss"] for c in checkpoints if c["iter"] == 5000), None),
        "checkpoints": checkpoints,
        "sampling_in_loop": bool(args.sample_every),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
