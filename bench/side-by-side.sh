#!/usr/bin/env bash
# Recurrent against PyTorch on this machine, in one run, as one markdown table on stdout (progress on stderr).
#
#   bench/side-by-side.sh [--isa native|avx2] [--min-seconds 2] [--threads 1,2] [--only train_lstm_512,...] [--no-gemm]
#                         [--json-out FILE]
#
# --isa avx2 measures the AVX2 paths on any x86 machine: ours with DOTNET_EnableAVX512=0 (.NET 10's name), the peer's OpenBLAS with
# OPENBLAS_CORETYPE=Haswell, the FMA peak from an AVX2 build of bench/fma_peak.c. The default, native, uses the widest
# vectors the CPU has on both sides.
#
# 1. Installs the peer if it is missing (python3-torch, python3-numpy, libopenblas0-pthread; without OpenBLAS torch
#    and numpy fall back to the netlib reference BLAS and the comparison means nothing). The peer runs on /usr/bin/python3.
# 2. Builds ours in Release.
# 3. Compiles bench/fma_peak.c at the width ours uses (AVX-512 or AVX2) for the FMA ceiling at 1 and 2 threads: one
#    figure per thread count, measured once per run, that every row's utilization divides by.
# 4. bench/side_by_side.py runs every row of `recurrent bench rnn` and torch_bench.py's matching child alternately, at
#    1 and 2 threads (the peer's 2-thread figure is the better of its t2_passive and t1_blas2 modes), then the GEMM
#    shapes against numpy, and prints the table. One round takes 3–4 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3

if ! "$PY" -c "import torch, numpy" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  echo "side-by-side: installing the peer (python3-torch python3-numpy libopenblas0-pthread)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy libopenblas0-pthread >&2
fi

echo "side-by-side: building Recurrent (Release)" >&2
dotnet build src/Recurrent.Cli -c Release -nologo -v quiet >&2
OURS=src/Recurrent.Cli/bin/Release/net10.0/recurrent

ISA=native
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = "--isa" ]; then j=$((i + 1)); ISA=${!j:-}; fi
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FMA=()
if ! command -v gcc >/dev/null; then
  echo "side-by-side: no gcc; ours measures its own FMA peak" >&2
elif [ "$ISA" = native ] && grep -qw avx512f /proc/cpuinfo; then
  gcc -O2 -mavx512f -mfma bench/fma_peak.c -o "$WORK/fma_peak" -lpthread
  FMA=(--fma-peak "$WORK/fma_peak")
elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  gcc -O2 -mavx2 -mfma bench/fma_peak.c -o "$WORK/fma_peak" -lpthread
  FMA=(--fma-peak "$WORK/fma_peak")
else
  echo "side-by-side: no AVX2 and FMA; ours measures its own FMA peak" >&2
fi

exec "$PY" bench/side_by_side.py --ours "$OURS" "${FMA[@]}" --command "bench/side-by-side.sh $*" "$@"
