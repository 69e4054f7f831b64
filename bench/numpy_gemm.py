"""numpy float32 matmul GFLOP/s (2*m*n*k/s) on the shapes `recurrent bench gemm` measures: the peer for our GEMM.

Run with OpenBLAS's own kernels for this CPU and a fixed thread count (set before numpy loads):
  OPENBLAS_NUM_THREADS=2 env -u OPENBLAS_CORETYPE /usr/bin/python3 bench/numpy_gemm.py [--size 1024] [--json]
Shapes and layouts match `recurrent bench gemm`: an N³ square A·B, and the LSTM 512 (batch 32, 100 steps) GEMMs in
the layouts the layers use: h·W_hhᵀ and X·W_ihᵀ (weights stored [4H, in], so B is read transposed) and the weight
gradient Xᵀ·dG. numpy passes transposed views to sgemm as transpose flags, without copying.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def blas_info():
    """Which BLAS numpy really calls: the shared object mapped into this process (np.show_config shows build-time info)."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and line.split()[-1].startswith("/")})
        return libs
    except OSError:
        return []


def measure(m, n, k, trans_a, trans_b, min_seconds):
    """Best time per call, timed like `recurrent bench gemm`: batches double until one lasts a fifth of min_seconds
    (or 50 ms), then batches repeat until min_seconds have passed (at least three)."""
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if trans_b else (k, n)).astype(np.float32)
    c = np.empty((m, n), dtype=np.float32)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    for _ in range(3):
        np.matmul(op_a, op_b, out=c)
    reps, timed, best = 1, 0, float("inf")
    start = time.perf_counter()
    while timed < 3 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(op_a, op_b, out=c)
        dt = time.perf_counter() - t0
        if dt < min_seconds / 5 and timed == 0 and dt < 0.05:
            reps *= 2
            continue
        best = min(best, dt / reps)
        timed += 1
    return 2.0 * m * n * k / best / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--min-seconds", type=float, default=0.3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or os.cpu_count()
    shapes = [(args.size, args.size, args.size, False, False), (32, 2048, 512, False, True),
              (3200, 2048, 512, False, True), (512, 2048, 3200, True, False)]
    rows = []
    for m, n, k, ta, tb in shapes:
        rows.append({"m": m, "n": n, "k": k, "transA": ta, "transB": tb, "threads": threads,
                     "gflops": round(measure(m, n, k, ta, tb, args.min_seconds), 1)})
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"numpy {np.__version__}, BLAS: {', '.join(blas_info()) or 'unknown'}, "
              f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}", file=sys.stderr)
        print(f"{'m':>6} {'n':>6} {'k':>6} {'op':>6} {'threads':>7} {'GFLOP/s':>9}")
        for r in rows:
            op = ("Aᵀ" if r["transA"] else "A") + "·" + ("Bᵀ" if r["transB"] else "B")
            print(f"{r['m']:>6} {r['n']:>6} {r['k']:>6} {op:>6} {r['threads']:>7} {r['gflops']:>9.1f}")


if __name__ == "__main__":
    main()
