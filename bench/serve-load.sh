#!/usr/bin/env bash
# The load check of `recurrent serve`: N concurrent POST /api/models/NAME/generate requests (curl, all started at once,
# on loopback) for LENGTH characters each; prints how many were answered 200 with LENGTH characters, the latency
# percentiles (each request's whole time, first byte sent to last byte read) and the characters per second of the
# whole burst (N × LENGTH / the burst's wall time), as one markdown table; exits 1 unless every request was answered.
#
#   bench/serve-load.sh [--models DIR --model NAME] [--requests 50] [--length 200] [--max-concurrent N] [--stream]
#
# Without --models it trains the default char-lm architecture (2-layer LSTM of 256, embedding 64: `recurrent train`'s
# defaults) for 20 steps on tiny-shakespeare into a temporary directory — the speed of a model does not depend on its
# weights — and serves that. --stream asks for server-sent events (Accept: text/event-stream) instead of one JSON
# answer. The server runs with its defaults (inferences at once = the cores, queue 64) unless --max-concurrent is given.
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS="" MODEL="" REQUESTS=50 LENGTH=200 RUNNING="" STREAM=0
while [ $# -gt 0 ]; do
  case "$1" in
    --models) MODELS="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    --length) LENGTH="$2"; shift 2 ;;
    --max-concurrent) RUNNING="$2"; shift 2 ;;
    --stream) STREAM=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve-load: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
command -v curl >/dev/null || { echo "serve-load: needs curl" >&2; exit 1; }

dotnet build src/Recurrent.Cli -c Release -nologo -v quiet >&2
R=(dotnet src/Recurrent.Cli/bin/Release/net10.0/recurrent.dll)
WORK=$(mktemp -d)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

if [ -z "$MODELS" ]; then
  MODELS="$WORK/runs" MODEL=default
  echo "training the default architecture for 20 steps ..." >&2
  "${R[@]}" train --out "$MODELS/default" --steps 20 --eval-every 0 --sample-every 0 --json >/dev/null
fi
[ -n "$MODEL" ] || { echo "serve-load: --models needs --model NAME too" >&2; exit 2; }

"${R[@]}" serve --models "$MODELS" --port 0 ${RUNNING:+--max-concurrent "$RUNNING"} >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 600); do grep -q 'http://' "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$WORK/serve.out") || { echo "serve-load: the server did not start: $(cat "$WORK/serve.err")" >&2; exit 1; }
ENDPOINT="${URL}api/models/$MODEL/generate"
ACCEPT="application/json"; [ "$STREAM" = 1 ] && ACCEPT="text/event-stream"
# One warm-up request: the model loads on its first use, which is not what the burst measures.
curl -sf -o /dev/null "$ENDPOINT" -d "{\"length\": 10, \"seed\": 0}"

mkdir "$WORK/answers"
start=$(date +%s.%N)
seq "$REQUESTS" | xargs -P "$REQUESTS" -I{} curl -s -o "$WORK/answers/{}" -w '%{http_code} %{time_total}\n' \
  -H "Accept: $ACCEPT" "$ENDPOINT" -d "{\"prime\": \"ROMEO:\", \"length\": $LENGTH, \"seed\": {}}" >"$WORK/times" || true
end=$(date +%s.%N)

# Answered: status 200 and LENGTH characters in the answer (the JSON's, or the stream's done event's).
answered=0
for f in "$WORK"/answers/*; do
  if grep -q "\"characters\":$LENGTH," "$f"; then answered=$((answered + 1)); fi
done
ok=$(awk '$1 == 200' "$WORK/times" | wc -l)
sort -n -k2 "$WORK/times" | awk -v n="$REQUESTS" -v len="$LENGTH" -v ok="$ok" -v answered="$answered" -v start="$start" -v end="$end" \
  -v cores="$(nproc)" -v stream="$STREAM" '
  { t[NR] = $2 }
  END {
    wall = end - start
    p50 = t[int(0.50 * NR + 0.5) > 0 ? int(0.50 * NR + 0.5) : 1]; p95 = t[int(0.95 * NR + 0.5)]; max = t[NR]
    printf "| requests | answered 200 | with %d characters | p50 latency | p95 latency | max | wall | characters/s | cores | answers |\n", len
    printf "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    printf "| %d | %d | %d | %.3f s | %.3f s | %.3f s | %.3f s | %.0f | %d | %s |\n", n, ok, answered, p50, p95, max, wall, n * len / wall, cores, stream ? "event stream" : "JSON"
  }'
[ "$answered" -eq "$REQUESTS" ] || { echo "serve-load: only $answered of $REQUESTS requests were answered in full" >&2; exit 1; }
