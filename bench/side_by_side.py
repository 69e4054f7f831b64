#!/usr/bin/env python3
"""Recurrent against PyTorch on this machine, in one run: the driver bench/side-by-side.sh calls (standard library only).

For each thread count (1, then 2) and each row of `recurrent bench rnn`, it runs ours and the peer alternately (which of
the two goes first alternates too), each measurement in its own process:
  ours:  recurrent bench rnn --only ROW --threads N --json --min-seconds S
  peer:  torch_bench.py --child {train,infer,sample} ... under torch_bench's thread modes, with OPENBLAS_CORETYPE set
         to the kernels of the CPU's widest vectors (SkylakeX, Haswell; or Haswell with --isa avx2): t1 for 1 thread;
         for 2 threads both t2_passive and t1_blas2, the better counting (torch's own 2-thread mode spins against
         OpenBLAS's threads and loses to either).
then the GEMM shapes of `recurrent bench gemm --size 2048` against bench/numpy_gemm.py (OpenBLAS, same thread count),
and prints one markdown table: both figures, the ratio ours/PyTorch, peak MiB of each, ours' share of the FMA peak and
how many cores other processes kept busy meanwhile (the machine is shared; a high figure means a noisy row).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_tasks import best_openblas_coretype  # noqa: E402  (standard library only at import)
PY = "/usr/bin/python3"
TORCH_BENCH = os.path.join(HERE, "torch_bench.py")
NUMPY_GEMM = os.path.join(HERE, "numpy_gemm.py")

# Our row name -> torch_bench child arguments and a label for the table.
ROWS = {
    "train_lstm_128": (["--child", "train", "--cell", "lstm", "--hidden", "128", "--layers", "2"], "train LSTM 2×128"),
    "train_lstm_512": (["--child", "train", "--cell", "lstm", "--hidden", "512", "--layers", "2"], "train LSTM 2×512"),
    "train_gru_512": (["--child", "train", "--cell", "gru", "--hidden", "512", "--layers", "2"], "train GRU 2×512"),
    "train_rnn_tanh_512": (["--child", "train", "--cell", "rnn_tanh", "--hidden", "512", "--layers", "2"], "train tanh-RNN 2×512"),
    "infer_lstm_512": (["--child", "infer"], "forward LSTM 2×512, B=32"),
    "sample_lstm_512": (["--child", "sample"], "sample LSTM 2×512, batch 1"),
}
# Rows of `recurrent bench tasks` -> the peer script's step arguments (the same architecture and shape) and a label.
TASK_ROWS = {
    "train_translate": (["step", "--batch", "64", "--source-len", "10", "--target-len", "12", "--source-vocab", "8000",
                         "--target-vocab", "12000"],
                        "train translator (E 256, BiGRU 128 + GRU 256, Bahdanau), B=64 S=10 T=12"),
    "train_classify": (["step", "--task", "classify", "--embedding", "300", "--hidden", "150", "--word-dropout", "0.25",
                        "--batch", "32", "--seq-len", "20", "--vocab", "16000"],
                       "train classifier (E 300, BiLSTM 150, max pool), B=32 T=20"),
    "train_tag_crf": (["step", "--task", "tag", "--crf", "--batch", "32", "--seq-len", "15", "--vocab", "20000"],
                      "train tagger (E 100 + chars 25/25, BiLSTM 200, CRF), B=32 T=15"),
}
ROWS.update(TASK_ROWS)
TORCH_TASKS = os.path.join(HERE, "torch_tasks.py")
TORCH_SEQ2SEQ = os.path.join(HERE, "torch_seq2seq.py")
# torch_bench.py's thread policies: (torch threads, OpenBLAS threads, extra environment).
MODES = {"t1": (1, 1, {}), "t2_passive": (2, 2, {"OMP_WAIT_POLICY": "PASSIVE"}), "t1_blas2": (1, 2, {})}
PEER_MODES = {1: ["t1"], 2: ["t2_passive", "t1_blas2"]}
GEMM_ROLES = ["square A·B", "LSTM step h·W_hhᵀ", "input projection X·W_ihᵀ", "weight gradient Xᵀ·dG"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def busy_cpu_seconds():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def run(cmd, env):
    """Runs cmd; returns (its last stdout line parsed as JSON, cores other processes kept busy meanwhile)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, t0 = busy_cpu_seconds(), time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall, busy1 = time.perf_counter() - t0, busy_cpu_seconds()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"side-by-side: {' '.join(cmd)} failed (exit {p.returncode}): {p.stderr.strip()[-500:]}")
    own = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    others = max(0.0, busy1 - busy0 - own) / wall
    return json.loads(p.stdout.strip().splitlines()[-1]), round(others, 2)


# The peer's OpenBLAS kernels (set in main): with --isa avx2 Haswell (and ours with AVX-512 off); else those for this
# CPU's widest vectors (torch_tasks.best_openblas_coretype: SkylakeX or Haswell), since OpenBLAS 0.3.21's own detection
# runs CPUs newer than itself (this Emerald Rapids Xeon) on its SSE3 kernels, at a quarter of the speed.
PEER_CORETYPE = None
OURS_ENV = dict(os.environ)


def peer_env(mode):
    torch_threads, blas_threads, extra = MODES[mode]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OMP_WAIT_POLICY")}
    if PEER_CORETYPE:
        env["OPENBLAS_CORETYPE"] = PEER_CORETYPE
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(torch_threads)
    env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    env.update(extra)
    return env, torch_threads


def task_steps(args):
    """Timed steps of a task row, the same on both sides: the peer's scripts time a fixed number of steps, and ours
    times at least as many (and at least --min-seconds). A translation step of ours is ~140 ms, so 2 s alone would be
    14 steps, several of them still in the JIT's warm-up, against the peer's 30."""
    return max(args.min_steps, 30)


def measure_peer(row, mode, args):
    env, torch_threads = peer_env(mode)
    if row in TASK_ROWS:
        # The environment already names OpenBLAS's kernels (peer_env): torch_tasks.py keeps them.
        script = TORCH_SEQ2SEQ if row == "train_translate" else TORCH_TASKS
        cmd = [PY, script, *ROWS[row][0], "--threads", str(torch_threads), "--blas-threads", env["OPENBLAS_NUM_THREADS"],
               "--rounds", str(task_steps(args)), "--json", "--coretype", "keep"]
        r, others = run(cmd, env)
        return {"mode": mode, "per_second": r["tokens_per_second"], "peak_mib": r.get("maxrss_mib"), "others": others,
                "median_s": r["ms_per_step"] / 1e3, "steps": r.get("steps"), "openblas": None}
    cmd = [PY, TORCH_BENCH, *ROWS[row][0], "--threads", str(torch_threads),
           "--min-seconds", str(args.min_seconds), "--min-steps", str(args.min_steps)]
    r, others = run(cmd, env)
    rate = r.get("tokens_per_s") or r.get("chars_per_s")
    return {"mode": mode, "per_second": rate, "peak_mib": r.get("maxrss_mib"), "others": others,
            "median_s": r.get("median_s"), "steps": r.get("steps"), "openblas": r.get("openblas")}


def measure_ours(row, threads, peak, args):
    if row in TASK_ROWS:
        r, others = run([args.ours, "bench", "tasks", "--only", row.split("_")[1], "--threads", str(threads), "--json",
                         "--min-seconds", str(args.min_seconds), "--min-steps", str(task_steps(args))], OURS_ENV)
        out = r["rows"][0]
        out.update(others=others, utilization=None)
        return out
    cmd = [args.ours, "bench", "rnn", "--only", row, "--threads", str(threads), "--json",
           "--min-seconds", str(args.min_seconds), "--min-steps", str(args.min_steps)]
    if peak:
        cmd += ["--peak-gflops", str(peak)]
    r, others = run(cmd, OURS_ENV)
    out = r["rows"][0]
    out["others"] = others
    out["fma_peak_gflop_per_s"] = r["fma_peak_gflop_per_s"]
    out["vector_width"] = r.get("vector_width")
    return out


def fma_peaks(exe, runs=3):
    """The best of a few runs of bench/fma_peak.c (a tenth of a second each): a moment's foreign load lowers one run."""
    peaks = {}
    for _ in range(runs if exe else 0):
        p = subprocess.run([exe], capture_output=True, text=True, check=True)
        for line in p.stdout.splitlines():   # "threads=1 GFLOPS=255.2"
            fields = dict(f.split("=") for f in line.split())
            t = int(fields["threads"])
            peaks[t] = max(peaks.get(t, 0.0), float(fields["GFLOPS"]))
    return peaks


def gemm_rows(threads, args):
    ours, others_ours = run([args.ours, "bench", "gemm", "--json", "--size", "2048", "--threads", str(threads),
                             "--min-seconds", str(args.gemm_seconds)], OURS_ENV)
    env, _ = peer_env("t1")
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    numpy, others_numpy = run([PY, NUMPY_GEMM, "--json", "--size", "2048", "--min-seconds", str(args.gemm_seconds)], env)
    return ours, numpy, (others_ours, others_numpy)


def fmt(x, digits=0):
    return "–" if x is None else f"{x:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True, help="the recurrent executable (Release build)")
    ap.add_argument("--fma-peak", default="", help="compiled bench/fma_peak.c (omit to let ours measure its own peak)")
    ap.add_argument("--isa", choices=("native", "avx2"), default="native",
                    help="avx2: ours with DOTNET_EnableAVX512=0, the peer with OPENBLAS_CORETYPE=Haswell")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--only", default=",".join(ROWS), help="rows of `recurrent bench rnn`")
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--min-steps", type=int, default=5)
    ap.add_argument("--gemm-seconds", type=float, default=0.5)
    ap.add_argument("--no-gemm", action="store_true")
    ap.add_argument("--rounds", type=int, default=1, help="repeat everything; each side keeps its best of the rounds")
    ap.add_argument("--json-out", default="", help="also write every raw result here")
    ap.add_argument("--command", default="", help="the command line to quote in the report")
    args = ap.parse_args()
    global PEER_CORETYPE
    PEER_CORETYPE = "Haswell" if args.isa == "avx2" else best_openblas_coretype()
    if args.isa == "avx2":
        # .NET 10 reads DOTNET_EnableAVX512; DOTNET_EnableAVX512F (older runtimes) is ignored by it.
        OURS_ENV["DOTNET_EnableAVX512"] = OURS_ENV["DOTNET_EnableAVX512F"] = "0"
    threads_list = [int(t) for t in args.threads.split(",")]
    rows = [r for r in args.only.split(",") if r]
    for r in rows:
        if r not in ROWS:
            ap.error(f"unknown row {r} (rows: {', '.join(ROWS)})")

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_before = os.getloadavg()
    peaks = fma_peaks(args.fma_peak)
    log(f"FMA peak: {peaks}")
    versions = subprocess.run([PY, "-c", "import torch, numpy; print(torch.__version__, numpy.__version__)"],
                              capture_output=True, text=True).stdout.split()
    results, gemm = {}, {}
    flip = False
    for round_ in range(args.rounds):
        for threads in threads_list:
            for row in rows:
                log(f"round {round_ + 1}/{args.rounds}: {row}, {threads} thread(s)")
                steps = [lambda: ("ours", measure_ours(row, threads, peaks.get(threads), args))]
                steps += [lambda m=m: ("peer", measure_peer(row, m, args)) for m in PEER_MODES[threads]]
                if flip:
                    steps.reverse()
                flip = not flip
                ours, peer = None, []
                for step in steps:
                    who, r = step()
                    if who == "ours":
                        ours = r
                    else:
                        peer.append(r)
                    log(f"  {who}: {r['per_second']:,.1f}/s {'(' + r['mode'] + ')' if who == 'peer' else ''}")
                best = max(peer, key=lambda r: r["per_second"])
                # Over rounds each side keeps its best (least disturbed) measurement.
                kept = results.setdefault((row, threads), {"row": row, "threads": threads, "ours": ours, "peer": best,
                                                           "peer_all": peer, "rounds": []})
                kept["rounds"].append({"ours": ours["per_second"], "peer": best["per_second"]})
                if ours["per_second"] > kept["ours"]["per_second"]:
                    kept["ours"] = ours
                if best["per_second"] > kept["peer"]["per_second"]:
                    kept["peer"], kept["peer_all"] = best, peer
            if not args.no_gemm:
                log(f"round {round_ + 1}/{args.rounds}: GEMM, {threads} thread(s)")
                ours, numpy, others = gemm_rows(threads, args)
                if threads in gemm:
                    _, o0, n0, (oo, on) = gemm[threads]
                    ours = [max(a, b, key=lambda g: g["gflops"]) for a, b in zip(ours, o0)]
                    numpy = [max(a, b, key=lambda g: g["gflops"]) for a, b in zip(numpy, n0)]
                    others = (min(others[0], oo), min(others[1], on))
                gemm[threads] = (threads, ours, numpy, others)
    results, gemm = list(results.values()), list(gemm.values())
    load_after = os.getloadavg()

    openblas = next((r["peer"]["openblas"] for r in results if r["peer"].get("openblas")), None)
    print(f"Run {started} on `{cpu_model()}`, {os.cpu_count()} cores; load average (1 min) {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after. Peer: PyTorch {versions[0] if versions else '?'}, numpy {versions[1] if len(versions) > 1 else '?'}"
          f"{', ' + openblas['config'] if openblas else ''}, "
          f"{'AVX2 paths: ours with DOTNET_EnableAVX512=0, the peer with OPENBLAS_CORETYPE=Haswell, the FMA peak of an AVX2 build. ' if args.isa == 'avx2' else 'OPENBLAS_CORETYPE=' + str(PEER_CORETYPE) + ' for the peer (the kernels for the CPU flags). '}"
          f"Timing: median step after 3 warm-up steps, ≥ {args.min_seconds:g} s and ≥ {args.min_steps} timed steps "
          f"(the task rows: ≥ {task_steps(args)} timed steps on both sides), every "
          f"measurement in its own process, ours and the peer alternating"
          f"{f'; best of {args.rounds} rounds for each side' if args.rounds > 1 else ''}.")
    if args.command:
        print(f"\nCommand: `{args.command}`")
    print()
    print("| measurement | threads | Recurrent | PyTorch | ours / PyTorch | PyTorch mode | MiB ours | MiB PyTorch "
          "| ours % of FMA peak | others' load (cores) ours / peer |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in results:
        o, p = r["ours"], r["peer"]
        unit = {"chars": "chars/s", "words": "words/s"}.get(o["unit"], "tokens/s")
        share = "–" if o["utilization"] is None else f"{100 * o['utilization']:.1f}%"
        modes = p["mode"] if len(r["peer_all"]) == 1 else p["mode"] + " (" + ", ".join(
            f"{q['mode']} {q['per_second']:,.0f}" for q in r["peer_all"] if q is not p) + ")"
        print(f"| {ROWS[r['row']][1]}, {unit} | {r['threads']} | {fmt(o['per_second'])} | {fmt(p['per_second'])} "
              f"| {o['per_second'] / p['per_second']:.2f}× | {modes} | {fmt(o['peak_mib'])} | {fmt(p['peak_mib'])} "
              f"| {share} | {o['others']:.2f} / {p['others']:.2f} |")
    for threads, ours, numpy, (others_ours, others_numpy) in gemm:
        for role, a, b in zip(GEMM_ROLES, ours, numpy):
            peak = peaks.get(threads)
            share = f"{100 * a['gflops'] / peak:.1f}%" if peak else "–"
            op = ("Aᵀ" if a["transA"] else "A") + "·" + ("Bᵀ" if a["transB"] else "B")
            print(f"| sgemm {a['m']}×{a['n']}×{a['k']} {op} ({role}), GFLOP/s | {threads} | {a['gflops']:,.1f} "
                  f"| numpy {b['gflops']:,.1f} | {a['gflops'] / b['gflops']:.2f}× | OpenBLAS {threads} thread(s) | | | {share} "
                  f"| {others_ours:.2f} / {others_numpy:.2f} |")
    for threads, peak in sorted(peaks.items()):
        print(f"| FMA peak (bench/fma_peak.c), GFLOP/s | {threads} | {peak:,.1f} | | | | | | 100% | |")

    if args.json_out:
        with open(args.json_out + ".tmp", "w") as f:
            json.dump({"started": started, "isa": args.isa, "load_before": load_before, "load_after": load_after, "fma_peak": peaks,
                       "versions": versions, "rnn": results,
                       "gemm": [{"threads": t, "ours": o, "numpy": n} for t, o, n, _ in gemm]}, f, indent=1)
        os.replace(args.json_out + ".tmp", args.json_out)
        log(f"raw results: {args.json_out}")


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
