#!/usr/bin/env bash
# Benchmarks training and evaluation throughput of every preset cnn-train lists (`cnn-train --help`) with
# cnn-bench and, when TORCH_PYTHON (and JAX_PYTHON) point at a Python with torch (and jax, optax), the same
# nets in PyTorch (and JAX, limited to two cores with taskset -c 0-1), interleaved (ours, theirs, ours, ...)
# so every side sees the same machine state. Prints a table of images/s, peak memory and the ratios: of the
# medians, and the median of each round's ratio. About 1 minute per preset and round without peers, 3 with.
#
# Usage: scripts/bench.sh [--batch-size B] [--threads T] [--steps N] [--rounds R] [--nets "a b c"]
#        [--bin-dir DIR]
#        TORCH_PYTHON=/path/to/venv/bin/python JAX_PYTHON=/path/to/venv/bin/python scripts/bench.sh
# --nets: preset names or specs (default: every preset); --bin-dir: use the cnn-bench and cnn-train there
# instead of building. Output: one JSON line per measurement in $OUT (default bench-results.jsonl in a temp
# dir), then the table.
set -euo pipefail
cd "$(dirname "$0")/.."

batch=64 threads=2 steps=200 rounds=2 nets="" bindir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --batch-size) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --nets) nets=$2; shift 2 ;;
    --bin-dir) bindir=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

if [ -z "$bindir" ]; then
  swift build -c release --product cnn-bench >/dev/null
  swift build -c release --product cnn-train >/dev/null
  bindir=$(swift build -c release --show-bin-path)
fi
bin=$bindir/cnn-bench
# "name spec" per line, from the "Presets: name (spec); name (spec)." paragraph of cnn-train --help
# (argument-parser wraps it at spaces, so a spec may be split over lines: spaces inside parentheses go).
presets=$("$bindir/cnn-train" --help | python3 -c '
import re, sys
text = sys.stdin.read()
block = " ".join(text.split("Presets:", 1)[1].split("Spec syntax:", 1)[0].split())
for name, spec in re.findall(r"([\w.-]+) \(([^)]*)\)", block):
    print(name, spec.replace(" ", ""))')
[ -n "$presets" ] || { echo "bench.sh: found no presets in cnn-train --help" >&2; exit 70; }
[ -n "$nets" ] || nets=$(echo "$presets" | cut -d' ' -f1 | tr '\n' ' ')
spec_of() { local s; s=$(echo "$presets" | awk -v n="$1" '$1 == n { print $2 }'); echo "${s:-$1}"; }

out=${OUT:-$(mktemp -d)/bench-results.jsonl}
: > "$out"
tag() { tail -n 1 | sed "s/^{/{\"impl\":\"$1\",/" >> "$out"; }

for round in $(seq "$rounds"); do
  for net in $nets; do
    spec=$(spec_of "$net")
    echo "round $round: $net (ours)" >&2
    "$bin" --arch "$net" --batch-size "$batch" --threads "$threads" --steps "$steps" --sgemm-peak | tag cnn
    if [ -n "${TORCH_PYTHON:-}" ]; then
      echo "round $round: $net (pytorch)" >&2
      "$TORCH_PYTHON" scripts/torch_bench.py "$net" --spec "$spec" --batch-size "$batch" --threads "$threads" \
        --steps "$steps" | tag torch
    fi
    if [ -n "${JAX_PYTHON:-}" ]; then
      echo "round $round: $net (jax)" >&2
      taskset -c 0-1 "$JAX_PYTHON" scripts/jax_bench.py "$net" --spec "$spec" --batch-size "$batch" \
        --threads "$threads" --steps "$steps" | tag jax
    fi
  done
done

python3 - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
impls = [i for i in ("torch", "jax") if any(r["impl"] == i for r in rows)]
archs = list(dict.fromkeys(r["arch"] for r in rows))
def runs(impl, arch): return [r for r in rows if r["impl"] == impl and r["arch"] == arch]
def med(impl, arch, key):
    v = [r[key] for r in runs(impl, arch) if key in r]
    return statistics.median(v) if v else None
f = lambda x, d=0: "-" if x is None else f"{x:,.{d}f}"
ratio = lambda x, y: "-" if x is None or y is None else f"{x / y:.2f}"
for key, title in (("train_images_per_second", "train img/s"), ("eval_images_per_second", "eval img/s"),
                   ("peak_rss_mb", "peak RSS MB")):
    head = f"{'net':16} {title:>12}" + "".join(f" {i:>9} {'ratio':>6}" for i in impls)
    print(head)
    for a in archs:
        o = med("cnn", a, key)
        print(f"{a:16} {f(o):>12}" + "".join(f" {f(med(i, a, key)):>9} {ratio(o, med(i, a, key)):>6}" for i in impls))
    print()
print(f"{'net':16} {'GFLOP/s':>8} {'sgemm':>6} {'share':>6}")
for a in archs:
    share = [r["gflops"] / r["sgemm_gflops"] for r in runs("cnn", a) if "sgemm_gflops" in r]
    print(f"{a:16} {f(med('cnn', a, 'gflops'), 1):>8} {f(med('cnn', a, 'sgemm_gflops')):>6} "
          f"{'-' if not share else f'{100 * statistics.median(share):.0f}%':>6}")
print(f"(medians of {len(runs('cnn', archs[0])) if archs else 0} rounds; ratio: ours over theirs, so above 1 is "
      f"faster for images/s and larger for memory;\n sgemm: 2048³ with the same threads after each of our runs; "
      f"share: median of each run's useful GFLOP/s over its sgemm; raw rows in {sys.argv[1]})")
# The ratio within each round, where both sides met the same machine state: steadier than the ratio of
# medians when the machine's speed drifts during the run.
if impls:
    print()
    print(f"{'per round':16}" + "".join(f" {i + ' train ratio (min–max)':>28} {i + ' eval ratio (min–max)':>28}" for i in impls))
    for a in archs:
        cells = []
        for i in impls:
            for key in ("train_images_per_second", "eval_images_per_second"):
                v = [o[key] / t[key] for o, t in zip(runs("cnn", a), runs(i, a))]
                cells.append("-" if not v else f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})")
        print(f"{a:16}" + "".join(f" {c:>28}" for c in cells))
    print("(median of the ratios of the rounds)")
PY
