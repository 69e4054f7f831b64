#!/bin/sh
# Reliability drill (issue 14), for real: a model trained into a 600 KiB tmpfs, which holds its first checkpoint
# (~420 KiB) but not the temporary copy of the next, so the disk fills up mid-run. Checks: `train` ends with exit 1 and
# one line naming the checkpoint that could not be saved and "No space left on device"; no temporary file is left;
# the directory still samples; once there is room again (the tmpfs remounted larger) `train --resume` continues.
# Needs root (mount); elsewhere it says so and exits 0 — FullDiskDrillTests injects the same failure on any machine.
# Usage: tests/drills/full-disk.sh   (from the repository, after `dotnet build -c Release`; RECURRENT overrides the command)
set -eu
cd "$(dirname "$0")/../.."
RECURRENT=${RECURRENT:-"dotnet src/Recurrent.Cli/bin/Release/net10.0/recurrent.dll"}
work=$(mktemp -d)
disk="$work/disk"
mkdir "$disk"
cleanup() { umount "$disk" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
if ! mount -t tmpfs -o size=600k tmpfs "$disk" 2>/dev/null; then
    echo "full-disk drill skipped: cannot mount a tmpfs here (needs root); FullDiskDrillTests covers it by injection"
    exit 0
fi
fail() { echo "full-disk drill FAILED: $*"; exit 1; }

head -c 200000 data/tinyshakespeare.txt > "$work/text.txt"
model="$disk/model"
set +e
$RECURRENT train --data "$work/text.txt" --out "$model" --steps 200 --checkpoint-every 5 --eval-every 0 --hidden 64 \
    --layers 1 --embedding 16 --seq-len 16 --batch 4 --threads 1 --json > "$work/out" 2> "$work/err"
code=$?
set -e
[ "$code" -eq 1 ] || fail "exit $code, expected 1 (stderr: $(cat "$work/err"))"
[ "$(wc -l < "$work/err")" -eq 1 ] || fail "stderr is not one line: $(cat "$work/err")"
grep -q "No space left on device" "$work/err" || fail "stderr does not say the disk is full: $(cat "$work/err")"
echo "train stopped: $(cat "$work/err")"
temps=$(find "$disk" -name '.*.tmp' | wc -l)
[ "$temps" -eq 0 ] || fail "$temps temporary files left"
$RECURRENT sample --model "$model" --length 40 --json --threads 1 > /dev/null || fail "sample cannot load the directory"
mount -o remount,size=8m "$disk"
$RECURRENT train --resume "$model" --steps 30 --json --threads 1 > "$work/resumed" || fail "resume failed: $(cat "$work/resumed")"
grep -q '"steps":30,' "$work/resumed" || fail "resume did not reach step 30: $(cat "$work/resumed")"
echo "full-disk drill passed: one-line error, no temporary file, the directory samples and resumes"
