#!/usr/bin/env bash
# Benchmarks training and evaluation throughput of the lenet5, cs231n and pytorch-example nets with
# cnn-bench, and, when TORCH_PYTHON points at a Python with torch, the same nets in PyTorch, interleaved
# (ours, theirs, ours, theirs, ...) so both see the same machine state. Prints a table of images/s and the
# ratios: of the medians, and the median of each round's ratio. Takes about 2 minutes without PyTorch, 5 with.
#
# Usage: scripts/bench.sh [--batch-size B] [--threads T] [--steps N] [--rounds R] [--nets "a b c"]
#        TORCH_PYTHON=/path/to/venv/bin/python scripts/bench.sh
# Output: one JSON line per measurement in $OUT (default bench-results.jsonl in a temp dir), then the table.
set -euo pipefail
cd "$(dirname "$0")/.."

batch=64 threads=2 steps=200 rounds=2 nets="lenet5 cs231n pytorch-example"
while [ $# -gt 0 ]; do
  case "$1" in
    --batch-size) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --nets) nets=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

swift build -c release --product cnn-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/cnn-bench
out=${OUT:-$(mktemp -d)/bench-results.jsonl}
: > "$out"

for round in $(seq "$rounds"); do
  for net in $nets; do
    echo "round $round: $net (ours)" >&2
    "$bin" --arch "$net" --batch-size "$batch" --threads "$threads" --steps "$steps" --sgemm-peak | tail -n 1 \
      | sed 's/^{/{"impl":"cnn",/' >> "$out"
    if [ -n "${TORCH_PYTHON:-}" ]; then
      echo "round $round: $net (pytorch)" >&2
      "$TORCH_PYTHON" scripts/torch_bench.py "$net" --batch-size "$batch" --threads "$threads" --steps "$steps" \
        | tail -n 1 | sed 's/^{/{"impl":"torch",/' >> "$out"
    fi
  done
done

python3 - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(impl, arch, key):
    v = [r[key] for r in rows if r["impl"] == impl and r["arch"] == arch]
    return statistics.median(v) if v else None
archs = list(dict.fromkeys(r["arch"] for r in rows))
print(f"{'net':16} {'train img/s':>12} {'torch':>9} {'ratio':>6}   {'eval img/s':>11} {'torch':>9} {'ratio':>6}   {'GFLOP/s':>7} {'sgemm':>6} {'share':>6}  {'RSS MB':>7} {'torch':>7}")
for a in archs:
    t, tt = med("cnn", a, "train_images_per_second"), med("torch", a, "train_images_per_second")
    e, et = med("cnn", a, "eval_images_per_second"), med("torch", a, "eval_images_per_second")
    g, m, mt = med("cnn", a, "gflops"), med("cnn", a, "peak_rss_mb"), med("torch", a, "peak_rss_mb")
    peak = med("cnn", a, "sgemm_gflops")
    share = None if peak is None else statistics.median(
        [r["gflops"] / r["sgemm_gflops"] for r in rows if r["impl"] == "cnn" and r["arch"] == a and "sgemm_gflops" in r])
    f = lambda x, d=0: "-" if x is None else f"{x:.{d}f}"
    r = lambda x, y: "-" if x is None or y is None else f"{x / y:.2f}"
    pct = "-" if share is None else f"{100 * share:.0f}%"
    print(f"{a:16} {f(t):>12} {f(tt):>9} {r(t, tt):>6}   {f(e):>11} {f(et):>9} {r(e, et):>6}   {f(g, 1):>7} {f(peak):>6} {pct:>6}  {f(m):>7} {f(mt):>7}")
print(f"(medians of {len([r for r in rows if r['impl']=='cnn'])//max(1,len(archs))} rounds; sgemm: 2048³ with the same threads, after each of our runs;")
print(f" share: median of each run's useful GFLOP/s over its sgemm; raw rows in {sys.argv[1]})")
# The ratio within each round, where both sides met the same machine state: steadier than the ratio of
# medians when the machine's speed drifts during the run.
paired = False
for a in archs:
    ours = [r for r in rows if r["impl"] == "cnn" and r["arch"] == a]
    theirs = [r for r in rows if r["impl"] == "torch" and r["arch"] == a]
    if not theirs:
        continue
    if not paired:
        print(f"{'per round':16} {'train ratio (min–max)':>26}   {'eval ratio (min–max)':>26}")
        paired = True
    def spread(key):
        v = [o[key] / t[key] for o, t in zip(ours, theirs)]
        return f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})"
    print(f"{a:16} {spread('train_images_per_second'):>26}   {spread('eval_images_per_second'):>26}")
if paired:
    print("(median of the ratios of the rounds)")
PY
