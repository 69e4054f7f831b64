#!/usr/bin/env bash
# min-char-rnn two ways, in one run on one thread: Karpathy's algorithm in numpy (bench/numpy_minchar.py, float64) and
# `recurrent train --preset min-char-rnn` (float32), the same first 100,000 characters of the same text, the same number
# of iterations. Prints one markdown table (progress on stderr), or with --json one JSON object:
# iterations/s of each, their ratio (ours / numpy), and the smoothed loss each reaches (smooth = 0.999·smooth +
# 0.001·loss summed over the 25 steps of an iteration, starting at 25·ln V).
#
#   bench/minchar-side-by-side.sh [--iters 5000] [--text FILE] [--seed S] [--json]
#
# Ours is timed over its training steps only (train's tokens_per_second / 25, no samples, validation or checkpoints
# in between); the peer over its whole loop, which is its steps and a few scalar updates. Both on one thread
# (OPENBLAS_NUM_THREADS=1, --threads 1). On a loaded machine rerun it: both rates move with the load.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3

ITERS=5000
TEXT=data/tinyshakespeare.txt
SEED=1
JSON=0
while [ $# -gt 0 ]; do
  case "$1" in
    --iters) ITERS="$2"; shift 2 ;;
    --text) TEXT="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --json) JSON=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "minchar-side-by-side: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -f "$TEXT" ] || { echo "minchar-side-by-side: text '$TEXT' not found" >&2; exit 1; }

if ! "$PY" -c "import numpy" 2>/dev/null; then
  echo "minchar-side-by-side: installing the peer (python3-numpy libopenblas0-pthread)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-numpy libopenblas0-pthread >&2
fi

echo "minchar-side-by-side: building Recurrent (Release)" >&2
dotnet build src/Recurrent.Cli -c Release -nologo -v quiet >&2
OURS=src/Recurrent.Cli/bin/Release/net10.0/recurrent

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "minchar-side-by-side: numpy, $ITERS iterations" >&2
OPENBLAS_NUM_THREADS=1 "$PY" bench/numpy_minchar.py --text "$TEXT" --iters "$ITERS" --seed "$SEED" > "$WORK/numpy.json"
echo "minchar-side-by-side: Recurrent, $ITERS iterations" >&2
"$OURS" train --preset min-char-rnn --data "$TEXT" --steps "$ITERS" --seed "$SEED" --threads 1 \
  --sample-every 0 --eval-every 0 --checkpoint-every 0 --log-every 1000 --out "$WORK/model" --json > "$WORK/ours.json"

"$PY" - "$WORK/numpy.json" "$WORK/ours.json" "$JSON" "$ITERS" "$TEXT" <<'EOF'
import json, sys
peer = json.load(open(sys.argv[1]))
ours = json.load(open(sys.argv[2]))
as_json, iters, text = sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5]
seq = peer["seq_length"]  # 25, the preset's seq-len; batch 1
ours_rate = ours["tokens_per_second"] / seq
peer_rate = peer["iterations_per_s"]
result = {
    "iterations": iters,
    "text": text,
    "text_chars": peer["text_chars"],
    "vocab_size": peer["vocab_size"],
    "numpy": {"iterations_per_s": peer_rate, "smooth_loss": peer["smooth_loss_final"], "dtype": "float64",
              "numpy_version": peer["numpy_version"]},
    "recurrent": {"iterations_per_s": ours_rate, "smooth_loss": ours["smooth_loss"], "dtype": "float32",
                  "steps": ours["steps"]},
    "ratio": ours_rate / peer_rate,
}
if as_json:
    print(json.dumps(result))
else:
    print(f"min-char-rnn, {iters:,} iterations on the first {peer['text_chars']:,} characters of {text} (V = {peer['vocab_size']}), one thread")
    print()
    print("| | iterations/s | characters/s | smoothed loss |")
    print("|---|---:|---:|---:|")
    print(f"| numpy {peer['numpy_version']} (float64) | {peer_rate:,.0f} | {peer_rate * seq:,.0f} | {peer['smooth_loss_final']:.2f} |")
    print(f"| Recurrent --preset min-char-rnn (float32) | {ours_rate:,.0f} | {ours_rate * seq:,.0f} | {ours['smooth_loss']:.2f} |")
    print(f"| ratio (Recurrent / numpy) | {ours_rate / peer_rate:.2f}× | | |")
EOF
