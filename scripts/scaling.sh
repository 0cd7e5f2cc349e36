#!/usr/bin/env bash
# Training and evaluation images/s of cnn-bench at 1 and 2 threads and at batch 16, 64 and 256, for the
# lenet5, cs231n and pytorch-example nets. Takes about 3 minutes.
#
# Usage: scripts/scaling.sh [--steps N] [--nets "a b c"]
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

steps=100 nets="lenet5 cs231n pytorch-example"
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift 2 ;;
    --nets) nets=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "scaling.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

swift build -c release --product cnn-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/cnn-bench
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

echo "| net | threads | batch | train img/s | eval img/s | GFLOP/s |"
echo "|---|---|---|---|---|---|"
for net in $nets; do
  for threads in 1 2; do
    for batch in 16 64 256; do
      line=$("$bin" --arch "$net" --threads "$threads" --batch-size "$batch" --steps $((steps * 64 / batch)) | tail -n 1)
      echo "| $net | $threads | $batch | $(echo "$line" | field train_images_per_second) | $(echo "$line" | field eval_images_per_second) | $(echo "$line" | field gflops) |"
    done
  done
done
