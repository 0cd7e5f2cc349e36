#!/usr/bin/env bash
# scripts/summarize.sh: gather the runs of a sweep (or any folder of cnn-train run directories) into tables.
#
# Reads config.json and metrics.jsonl of every DIR/*/ that cnn-train wrote and writes
#   DIR/summary.csv  one row per run: arch, lr, batch size, epochs (asked and done), seed, final and best
#                    test accuracy (fractions), final test loss, train seconds (wall time, evaluation
#                    included, across resumes), images/s (mean over epochs), status: finished, running
#                    (a cnn-train here or on another host holds its lock now), partial or started
#   DIR/summary.md   a leaderboard of the finished runs grouped over seeds (same settings, another seed):
#                    mean ± sample std of the final test accuracy, best first, with time and images/s;
#                    then the table of runs and, when made, the curves
#   DIR/curves.png   every run's loss and accuracy per epoch overlaid, with cnn-plot curves, when cnn-plot
#                    is there ($CNN_PLOT, on PATH, or already built by swift build -c release)
# and prints the leaderboard. Takes a second or two (plus about a second per 50 runs for the plot).
#
# Usage: scripts/summarize.sh DIR
#        scripts/summarize.sh --help
# Needs python3 (standard library only). Exit status: 0 when the tables are written (a failed plot is
# reported, not fatal), 64 for a bad flag, 66 when DIR holds no run.
set -euo pipefail

usage_error() {
  echo "summarize.sh: error: $* (see scripts/summarize.sh --help)" >&2
  exit 64
}

dir=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    --) shift; break ;;
    -*) usage_error "unknown option '$1'" ;;
    *)
      if [ -n "$dir" ]; then usage_error "one DIR only (got '$dir' and '$1')"; fi
      dir=$1
      shift
      ;;
  esac
done
if [ $# -gt 0 ]; then
  if [ -n "$dir" ] || [ $# -gt 1 ]; then usage_error "one DIR only"; fi
  dir=$1
fi
[ -n "$dir" ] || usage_error "missing DIR (the --out of a sweep)"
dir=${dir%/}
dir=${dir:-/}
if [ ! -d "$dir" ]; then
  echo "summarize.sh: error: $dir: no such directory" >&2
  exit 66
fi
command -v python3 >/dev/null || { echo "summarize.sh: error: needs python3" >&2; exit 1; }

# The tables. Prints the run directories with at least one epoch, one a line, on file descriptor 3.
runs_file=$(mktemp)
trap 'rm -f "$runs_file"' EXIT
python3 - "$dir" "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" 3>"$runs_file" <<'PY'
import csv, json, math, os, statistics, sys
from datetime import datetime

top = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import run_lock  # scripts/run_lock.py: asks cnn-train's lock (F_GETLK), never takes it
runs = []
for name in sorted(os.listdir(top)):
    path = os.path.join(top, name)
    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
        continue
    try:
        with open(config_path) as f:
            config = json.load(f)["configuration"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"summarize: skipping {path}: config.json does not read ({e})", file=sys.stderr)
        continue
    rows = []
    try:
        with open(os.path.join(path, "metrics.jsonl")) as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    rows = [r for r in rows if isinstance(r, dict) and "epoch" in r]
    epochs = int(config.get("epochs", 0))
    done = max((int(r["epoch"]) for r in rows), default=0)
    finished = os.path.isfile(os.path.join(path, "model.safetensors")) and done > 0
    def number(v):
        return float(v) if isinstance(v, (int, float)) else math.nan
    accuracies = [number(r.get("test_accuracy")) for r in rows]
    speeds = [number(r.get("images_per_second")) for r in rows if math.isfinite(number(r.get("images_per_second")))]
    best = max((a for a in accuracies if math.isfinite(a)), default=math.nan)
    runs.append({
        "run": name, "config": config, "rows": rows,
        "arch": config.get("arch", "?"), "lr": config.get("lr"), "batch_size": config.get("batch_size"),
        "epochs": epochs, "epochs_done": done, "seed": config.get("seed"),
        "final": accuracies[-1] if accuracies else math.nan,
        "best": best,
        "best_epoch": next((int(r["epoch"]) for r, a in zip(rows, accuracies) if a == best), ""),
        "final_loss": number(rows[-1].get("test_loss")) if rows else math.nan,
        "seconds": number(rows[-1].get("elapsed_seconds")) if rows else math.nan,
        "ips": statistics.fmean(speeds) if speeds else math.nan,
        # Finished: the final model is there (a run that reached --target-accuracy stops early). Running: a
        # process (here or on another host sharing the folder) holds the run's lock and trains it now.
        "status": "finished" if finished else ("running" if run_lock.holder(path) else ("partial" if rows else "started")),
    })

if not runs:
    print(f"summarize.sh: error: {top}: no run directories (no {top}/*/config.json)", file=sys.stderr)
    sys.exit(66)

def cell(v, digits=None):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return f"{v:.{digits}f}" if digits is not None else str(v)

# summary.csv: fractions and seconds as in metrics.jsonl.
csv_path = os.path.join(top, "summary.csv")
with open(csv_path + ".tmp", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["run", "arch", "lr", "batch_size", "epochs", "epochs_done", "seed", "final_test_accuracy",
                "best_test_accuracy", "best_epoch", "final_test_loss", "train_seconds", "images_per_second", "status"])
    for r in runs:
        w.writerow([r["run"], r["arch"], r["lr"], r["batch_size"], r["epochs"], r["epochs_done"], r["seed"],
                    cell(r["final"], 4), cell(r["best"], 4), r["best_epoch"], cell(r["final_loss"], 4),
                    cell(r["seconds"], 1), cell(r["ips"], 0), r["status"]])
os.replace(csv_path + ".tmp", csv_path)

# Groups: runs whose settings agree in everything but the seed (and where they ran: out, threads).
ignored = {"seed", "out", "threads"}
def key(r):
    return json.dumps({k: v for k, v in r["config"].items() if k not in ignored}, sort_keys=True)
shown = ["arch", "lr", "batch_size", "epochs"]
finished = [r for r in runs if r["status"] == "finished"]
varying = sorted({k for r in finished for k in r["config"]
                  if k not in ignored and k not in shown
                  and len({json.dumps(x["config"].get(k)) for x in finished}) > 1})
groups = {}
for r in finished:
    groups.setdefault(key(r), []).append(r)

def mean_std(values):
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else math.nan)

def pct(m, s):
    if not math.isfinite(m):
        return "–"
    return f"{100 * m:.2f} ± {100 * s:.2f}" if math.isfinite(s) else f"{100 * m:.2f} ± –"

board = []
for members in groups.values():
    m, s = mean_std([r["final"] for r in members])
    bm, bs = mean_std([r["best"] for r in members])
    board.append({"first": members[0], "n": len(members), "mean": m, "std": s, "best": (bm, bs),
                  "seeds": ",".join(str(r["seed"]) for r in sorted(members, key=lambda r: r["seed"])),
                  "seconds": mean_std([r["seconds"] for r in members])[0],
                  "ips": mean_std([r["ips"] for r in members])[0]})
board.sort(key=lambda g: (-(g["mean"] if math.isfinite(g["mean"]) else -1), g["seconds"]))

def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)

extra = [k.replace("_", " ") for k in varying]
leaderboard = table(
    ["#", "arch", "lr", "batch", "epochs"] + extra
    + ["seeds", "final test acc % (mean ± std)", "best test acc %", "train s", "images/s"],
    [[i + 1, f"`{g['first']['arch']}`", g["first"]["lr"], g["first"]["batch_size"], g["first"]["epochs"]]
     + [g["first"]["config"].get(k, "") for k in varying]
     + [f"{g['n']} ({g['seeds']})", pct(g["mean"], g["std"]), pct(*g["best"]), cell(g["seconds"], 1), cell(g["ips"], 0)]
     for i, g in enumerate(board)])
run_table = table(
    ["run", "arch", "lr", "batch", "epochs", "seed", "final test acc %", "best % (epoch)", "train s", "images/s", "status"],
    [[r["run"], f"`{r['arch']}`", r["lr"], r["batch_size"], f"{r['epochs_done']}/{r['epochs']}", r["seed"],
      cell(100 * r["final"], 2), f"{cell(100 * r['best'], 2)} ({r['best_epoch']})" if r["rows"] else "",
      cell(r["seconds"], 1), cell(r["ips"], 0), r["status"]]
     for r in sorted(runs, key=lambda r: -r["final"] if math.isfinite(r["final"]) else 1)])

unfinished = len(runs) - len(finished)
running = sum(r["status"] == "running" for r in runs)
now = f"{running} running now, " if running else ""
note = f", {unfinished} not finished ({now}left out of the leaderboard)" if unfinished else ""
md = f"""# Sweep summary: {os.path.basename(os.path.abspath(top))}

{len(runs)} runs, {len(finished)} finished{note}; written {datetime.now().strftime('%Y-%m-%d %H:%M')} by scripts/summarize.sh.

## Leaderboard

Final test accuracy over seeds (runs with the same settings but the seed), mean ± sample standard deviation
(– for a single seed), best first; train s is the mean wall time of a run, evaluation included.

{leaderboard if board else "(no finished run yet)"}

## Runs

{run_table}
"""
md_path = os.path.join(top, "summary.md")
with open(md_path + ".tmp", "w") as f:
    f.write(md)
os.replace(md_path + ".tmp", md_path)

print(f"{len(runs)} runs in {top}, {len(finished)} finished{note}; {len(board)} leaderboard groups")
print(leaderboard if board else "(no finished run yet)")
print(f"wrote {csv_path}")
print(f"wrote {md_path}")
with os.fdopen(3, "w") as out:
    for r in runs:
        if r["rows"]:
            out.write(os.path.join(top, r["run"]) + "\n")
PY

# The curves, if a cnn-plot is at hand (never built here: that takes a minute).
plot=""
if [ -n "${CNN_PLOT:-}" ]; then
  plot=$(command -v "$CNN_PLOT" || true)
  [ -n "$plot" ] || echo "summarize: CNN_PLOT=$CNN_PLOT is not an executable" >&2
elif command -v cnn-plot >/dev/null; then
  plot=$(command -v cnn-plot)
else
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if command -v swift >/dev/null && bin=$(cd "$repo" && swift build -c release --show-bin-path 2>/dev/null); then
    if [ -x "$bin/cnn-plot" ]; then plot=$bin/cnn-plot; fi
  fi
fi
run_dirs=()
while IFS= read -r line; do run_dirs+=("$line"); done <"$runs_file"
if [ -z "$plot" ]; then
  echo "summarize: no cnn-plot, so no curves.png (swift build -c release --product cnn-plot, or set CNN_PLOT)"
elif [ "${#run_dirs[@]}" -eq 0 ]; then
  echo "summarize: no run has a finished epoch yet, so no curves.png"
elif plot_output=$("$plot" curves "${run_dirs[@]}" --out "$dir/curves.png" 2>&1); then
  echo "$plot_output"
  printf '\n## Curves\n\n![loss and accuracy per epoch](curves.png)\n' >>"$dir/summary.md"
else
  echo "summarize: cnn-plot curves failed, so no curves.png (the tables are written): $plot_output" >&2
fi
