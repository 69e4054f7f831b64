"""Ours against numpy in the same run: alternates `recurrent bench gemm --json` and bench/numpy_gemm.py --json for a
few rounds (the machine is shared, so single runs are noisy) and prints best and median GFLOP/s per shape and ratios.

  /usr/bin/python3 bench/gemm_compare.py [--rounds 5] [--size 1024] [--threads 2] [--recurrent "dotnet src/Recurrent.Cli/bin/Release/net10.0/recurrent.dll"]

numpy runs as `env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=<threads> /usr/bin/python3 bench/numpy_gemm.py`:
OpenBLAS's own kernels for this CPU (the environment's OPENBLAS_CORETYPE=Haswell halves it) on the same thread count.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT).stdout
    return json.loads(out)


def key(row):
    return (row["m"], row["n"], row["k"], row["transA"], row["transB"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--recurrent", default="dotnet src/Recurrent.Cli/bin/Release/net10.0/recurrent.dll")
    args = p.parse_args()

    ours_cmd = shlex.split(args.recurrent) + ["bench", "gemm", "--size", str(args.size), "--threads", str(args.threads), "--json"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    env.pop("OPENBLAS_CORETYPE", None)
    numpy_cmd = ["/usr/bin/python3", os.path.join(HERE, "numpy_gemm.py"), "--size", str(args.size), "--json"]

    ours, theirs, order = {}, {}, []
    for r in range(args.rounds):
        for rows, cmd, e in ((theirs, numpy_cmd, env), (ours, ours_cmd, None)):
            for row in run_json(cmd, e):
                if key(row) not in order:
                    order.append(key(row))
                rows.setdefault(key(row), []).append(row["gflops"])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(f"GFLOP/s, {args.threads} threads, {args.rounds} alternating rounds (best / median)")
    print(f"{'m':>6} {'n':>6} {'k':>6} {'op':>6} | {'ours best':>9} {'median':>7} | {'numpy best':>10} {'median':>7} | {'best ratio':>10} {'median ratio':>12}")
    for k in order:
        o, t = ours.get(k, []), theirs.get(k, [])
        if not o or not t:
            continue
        op = ("Aᵀ" if k[3] else "A") + "·" + ("Bᵀ" if k[4] else "B")
        ob, om, tb, tm = max(o), statistics.median(o), max(t), statistics.median(t)
        print(f"{k[0]:>6} {k[1]:>6} {k[2]:>6} {op:>6} | {ob:>9.1f} {om:>7.1f} | {tb:>10.1f} {tm:>7.1f} | {ob / tb:>9.0%} {om / tm:>12.0%}")


if __name__ == "__main__":
    main()
