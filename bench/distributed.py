#!/usr/bin/env python3
"""Data-parallel training on this machine, measured, and a model of it on a cluster (docs/distributed.md).

    bench/distributed.py [--rounds 2] [--steps 40] [--translation ../shared/data/translation/train.tsv] [--json-out FILE]

1. `mpirun -np 2 recurrent bench allreduce`: the time of one gradient sum against message size, over shared memory
   (Open MPI's default on one machine) and over TCP on the loopback interface.
2. Training throughput of the LSTM 2×512 char-LM (tiny-shakespeare, B 32, T 100) and of the default translation
   model: 1 rank × 2 threads (no mpirun), 2 ranks × 1 thread (mpirun, ranks bound to cores), the same with --overlap,
   and 1 rank × 1 thread; rounds alternate, the best of each is kept.
3. The step time of one machine (1 rank × 2 threads) at the per-rank batches a cluster would give it.
4. The model: N machines like this one, each 1 rank × 2 threads, joined by a 10 or 25 Gbit/s network; a ring
   all-reduce moves 2(N−1)/N × gradient bytes through each link and pays 2(N−1) latencies (ALPHA). Printed as
   markdown on stdout; progress on stderr.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "src", "Recurrent.Cli", "bin", "Release", "net10.0", "recurrent.dll")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", DOTNET_NOLOGO="1")
ALPHA = 50e-6  # seconds per hop of a small TCP message on a data-centre network (an assumption, stated in the doc)
NETWORKS = [("10 Gbit/s", 10e9 / 8), ("25 Gbit/s", 25e9 / 8)]
MACHINES = [1, 2, 4, 8, 16, 32, 64]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_json(cmd):
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def train(model_flags, ranks, threads, extra=(), tmp="/tmp/recurrent-distributed"):
    cmd = ["dotnet", CLI, "train", *model_flags, "--threads", str(threads), "--force", "--out", tmp, "--json", *extra]
    if ranks > 1:
        cmd = ["mpirun", "--bind-to", "core", "-np", str(ranks), *cmd]
    return run_json(cmd)


def models(steps, translation):
    charlm = ["--hidden", "512", "--layers", "2", "--batch", "32", "--seq-len", "100", "--steps", str(steps),
              "--eval-every", "0", "--sample-every", "0", "--checkpoint-every", "0", "--val-fraction", "0.01"]
    result = [("LSTM 2×512 char-LM, B 32 × T 100", charlm, "batch", [32, 16, 8, 4, 2, 1])]
    if translation and os.path.exists(translation):
        translate = ["--task", "translate", "--train", translation, "--steps", str(steps), "--checkpoint-every", "0"]
        result.append(("translation (GRU 256, Bahdanau), B 64", translate, "batch", [64, 32, 16, 8, 4, 2, 1]))
    else:
        log(f"no {translation}: the translation model is left out")
    return result


def allreduce_cost(n, grad_bytes, bandwidth):
    if n == 1:
        return 0.0
    return 2 * (n - 1) / n * grad_bytes / bandwidth + 2 * (n - 1) * ALPHA


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--translation", default=os.path.join(ROOT, "..", "shared", "data", "translation", "train.tsv"))
    ap.add_argument("--json-out")
    a = ap.parse_args()
    log("building Recurrent (Release)")
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "Recurrent.Cli"), "-c", "Release", "-nologo", "-v", "quiet"],
                   check=True, stdout=sys.stderr)
    results = {"allreduce": [], "throughput": {}, "step_seconds": {}, "parameters": {}}

    log("all-reduce against message size (shared memory, then TCP over loopback)")
    results["allreduce"] = run_json(["mpirun", "-np", "2", "dotnet", CLI, "bench", "allreduce", "--json"])
    results["allreduce_tcp"] = run_json(["mpirun", "--mca", "btl", "tcp,self", "-np", "2", "dotnet", CLI, "bench", "allreduce", "--json"])

    configs = [("1 rank × 2 threads", 1, 2, ()), ("2 ranks × 1 thread", 2, 1, ("--overlap", "off")),
               ("2 ranks × 1 thread, --overlap on", 2, 1, ("--overlap", "on")), ("1 rank × 1 thread", 1, 1, ())]
    for name, flags, batch_flag, batches in models(a.steps, a.translation):
        best = {}
        for r in range(a.rounds):
            for label, ranks, threads, extra in configs:
                log(f"{name}: {label}, round {r + 1}")
                out = train(flags, ranks, threads, extra)
                results["parameters"][name] = out["parameters"]
                if out["tokens_per_second"] > best.get(label, {}).get("tokens_per_second", 0):
                    best[label] = out
        results["throughput"][name] = {k: {"tokens_per_second": v["tokens_per_second"], "seconds_per_step": v["seconds_per_step"]}
                                       for k, v in best.items()}
        steps = {}
        for b in batches:
            log(f"{name}: one machine at per-rank batch {b}")
            base = [x for x in flags]
            i = base.index("--batch") if "--batch" in base else -1
            if i >= 0:
                base[i + 1] = str(b)
            else:
                base += ["--batch", str(b)]
            steps[b] = min(train(base, 1, 2)["seconds_per_step"] for _ in range(a.rounds))
        results["step_seconds"][name] = steps

    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(results, f, indent=1)
    report(results)


def report(results):
    print("## All-reduce, 2 ranks on this machine: shared memory (Open MPI's default) and TCP over loopback\n")
    print("| bytes | shm µs | shm bus GB/s | TCP µs | TCP bus GB/s |\n|---:|---:|---:|---:|---:|")
    for r, t in zip(results["allreduce"], results["allreduce_tcp"]):
        print(f"| {r['bytes']:,} | {r['microseconds']:,.1f} | {r['bus_gb_per_s']:.2f} | {t['microseconds']:,.1f} | "
              f"{t['bus_gb_per_s']:.2f} |")
    for name, rows in results["throughput"].items():
        print(f"\n## {name}: {results['parameters'][name]:,} parameters, "
              f"{results['parameters'][name] * 4 / 1e6:.1f} MB of gradients a step\n")
        print("| ranks × threads | tokens/s | s/step |\n|---|---:|---:|")
        for label, v in rows.items():
            print(f"| {label} | {v['tokens_per_second']:,.0f} | {v['seconds_per_step']:.4f} |")
        steps = {int(k): v for k, v in results["step_seconds"][name].items()}
        full = max(steps)
        grad = results["parameters"][name] * 4
        print(f"\nOne machine (1 rank × 2 threads), seconds per step by per-rank batch: "
              + ", ".join(f"{b}: {s:.4f}" for b, s in sorted(steps.items(), reverse=True)))
        for net, bw in NETWORKS:
            print(f"\n**{net}**, ring all-reduce of {grad / 1e6:.1f} MB, {ALPHA * 1e6:.0f} µs a hop. Same global batch ({full}) "
                  "shared out (strong scaling), and the per-rank batch kept at "
                  f"{full} (weak scaling: the global batch grows N×):\n")
            print("| machines | all-reduce s | strong: per-rank batch | strong: speed-up | weak: speed-up | "
                  "weak, overlapped: speed-up | weak: efficiency |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
            t = steps[full]
            for n in MACHINES:
                ar = allreduce_cost(n, grad, bw)
                strong = (f"{full // n} | {t / (steps[full // n] + ar):.2f}×" if full % n == 0 and full // n in steps
                          else "— | —")
                # Overlap can hide the sum behind the backward of the layers below at best; taken here as a third
                # of the step (backward is about two thirds of it, the lowest layers about half of that).
                overlapped = t + max(0.0, ar - t / 3)
                print(f"| {n} | {ar:.4f} | {strong} | {n * t / (t + ar):.1f}× | {n * t / overlapped:.1f}× | "
                      f"{t / (t + ar):.0%} |")

if __name__ == "__main__":
    main()
