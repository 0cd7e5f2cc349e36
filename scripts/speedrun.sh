#!/usr/bin/env bash
# Runs a cnn-train recipe for seeds 1…N and, when PyTorch is there, the same run in PyTorch
# (scripts/speedrun_torch.py reads our run's config.json), interleaved: for odd seeds ours first, for even
# seeds PyTorch first, so both meet the same machine state. Each side is timed as a whole process, exec
# to exit (reading the gzipped data, training, the test evaluations, writing the model and checkpoints);
# every line a run prints is time-stamped as it arrives, which gives the time to each accuracy.
# Prints a table of seed, our accuracy and seconds, PyTorch's accuracy and seconds, then means, minima,
# medians and the ratio of the medians, the time-to-accuracy table and our median --timings breakdown.
# About (N × (ours + PyTorch)) seconds: for the speedrun recipe, 10 seeds take about two minutes.
#
# Usage: scripts/speedrun.sh [SEEDS]
#            [--recipe NAME]      the cnn-train recipe (default speedrun; "none" for no --recipe flag)
#            [--out DIR]          where the runs go (default a new directory under /tmp)
#            [--threads T]        both sides' threads (default 2)
#            [--no-torch]         ours only
#            [-- FLAG...]         more cnn-train flags (PyTorch follows them through config.json)
#        TORCH_PYTHON=/path/to/python scripts/speedrun.sh 10     (default: python3, if it has torch)
#        CNN_TRAIN=/path/to/cnn-train uses that binary instead of building one
# Output: DIR/ours-S/ (a cnn-train run directory), DIR/torch-S/, DIR/*.log (time-stamped lines), the table.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=10 recipe=speedrun out="" threads=2 torch=1 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --recipe) recipe=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-torch) torch=0; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n "2,20p" "$0"; exit 0 ;;
    [0-9]*) seeds=$1; shift ;;
    *) echo "speedrun.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ $seeds =~ ^[1-9][0-9]*$ ]] || { echo "speedrun.sh: SEEDS must be a positive count (got $seeds)" >&2; exit 64; }

python=${TORCH_PYTHON:-python3}
if [ "$torch" = 1 ] && ! "$python" -c 'import torch' 2>/dev/null; then
  echo "speedrun.sh: $python has no torch; set TORCH_PYTHON, or pass --no-torch" >&2
  exit 69
fi

if [ -n "${CNN_TRAIN:-}" ]; then
  bin=$CNN_TRAIN
else
  swift build -c release --product cnn-train >/dev/null
  bin=$(swift build -c release --show-bin-path)/cnn-train
fi
out=${out:-$(mktemp -d /tmp/speedrun.XXXXXX)}
mkdir -p "$out"
recipe_flags=()
[ "$recipe" = none ] || recipe_flags=(--recipe "$recipe")

# Copies standard input to standard output, each line prefixed with the time it arrived ($EPOCHREALTIME).
stamp() { local line; while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

ours() {
  local s=$1 t0 t1
  rm -rf "$out/ours-$s"
  t0=$EPOCHREALTIME
  "$bin" "${recipe_flags[@]}" --seed "$s" --threads "$threads" --out "$out/ours-$s" --log-format json --timings \
    "${extra[@]}" | stamp > "$out/ours-$s.log"
  t1=$EPOCHREALTIME
  printf '%s start\n%s exit\n' "$t0" "$t1" >> "$out/ours-$s.log"
}

theirs() {
  local s=$1 t0 t1
  rm -rf "$out/torch-$s"
  t0=$EPOCHREALTIME
  "$python" scripts/speedrun_torch.py "$out/ours-1/config.json" --seed "$s" --threads "$threads" \
    --out "$out/torch-$s" | stamp > "$out/torch-$s.log"
  t1=$EPOCHREALTIME
  printf '%s start\n%s exit\n' "$t0" "$t1" >> "$out/torch-$s.log"
}

# PyTorch reads the settings from seed 1's config.json (they differ between seeds only in the seed, which
# it is given), so seed 1 runs ours first.
for s in $(seq "$seeds"); do
  if [ "$torch" = 1 ] && [ $((s % 2)) = 0 ]; then
    echo "seed $s: pytorch" >&2; theirs "$s"
    echo "seed $s: ours" >&2; ours "$s"
  else
    echo "seed $s: ours" >&2; ours "$s"
    if [ "$torch" = 1 ]; then echo "seed $s: pytorch" >&2; theirs "$s"; fi
  fi
done

python3 scripts/speedrun_summary.py "$out" "$seeds"
# The machine is shared: its load during the runs says how far the seconds above are from a quiet machine's.
if [ -r /proc/loadavg ]; then
  echo "load average at the end (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
fi
