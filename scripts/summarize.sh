#!/usr/bin/env bash
# scripts/summarize.sh: gather the runs of a sweep (or any folder of cnn-train run directories) into tables.
#
# Reads config.json and metrics.jsonl of every DIR/*/ that cnn-train wrote and writes
#   DIR/summary.csv  one row per run: arch, lr, batch size, epochs (asked and done), seed, final and best
#                    test accuracy (fractions), final test loss, train seconds (wall time, evaluation
#                    included, across resumes), images/s (mean over epochs), status: finished, running
#                    (a cnn-train here or on another host holds its lock now), partial or started; then,
#                    for runs with --validation, the final validation accuracy, the epoch of the best one
#                    and the test accuracy of that epoch (what model-best.safetensors scores)
#   DIR/summary.md   a leaderboard of the finished runs grouped over seeds (same settings, another seed):
#                    mean ± sample std of the final validation accuracy (when the runs have --validation)
#                    and of the final test accuracy, with time and images/s; then the table of runs and,
#                    when made, the curves. Groups with validation rank first, on validation accuracy;
#                    groups without rank after them on test accuracy. The test set reports; with
#                    validation it never ranks.
#   --ensemble       adds the test accuracy of each group's ensemble (two seeds or more): cnn-eval over
#                    the group's run directories (each its model-best.safetensors, else model.safetensors),
#                    averaging their probabilities. Needs cnn-eval ($CNN_EVAL, on PATH, or built by swift
#                    build -c release) and the data (--data DIR; default the runs' own data setting when
#                    that folder exists, else Data); about a second per run for small nets.
#   DIR/curves.png   every run's loss and accuracy per epoch overlaid, with cnn-plot curves, when cnn-plot
#                    is there ($CNN_PLOT, on PATH, or already built by swift build -c release)
# and prints the leaderboard. Takes a second or two (plus about a second per 50 runs for the plot).
#
# Usage: scripts/summarize.sh DIR
#        scripts/summarize.sh --ensemble [--data DIR] DIR
#        scripts/summarize.sh --help
# Needs python3 (standard library only). Exit status: 0 when the tables are written (a failed plot or a
# failed ensemble evaluation is reported, not fatal), 64 for a bad flag, 66 when DIR holds no run, 69 for
# --ensemble without a cnn-eval.
set -euo pipefail

usage_error() {
  echo "summarize.sh: error: $* (see scripts/summarize.sh --help)" >&2
  exit 64
}

dir=""
ensemble=0
data=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    --ensemble) ensemble=1; shift ;;
    --data)
      [ $# -ge 2 ] && [ -n "$2" ] || usage_error "--data needs a directory"
      data=$2
      shift 2
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
if [ -n "$data" ] && [ ! -d "$data" ]; then
  echo "summarize.sh: error: --data: $data: no such directory" >&2
  exit 66
fi

# A tool: $VAR when set, else on PATH, else already built by swift build -c release (never built here).
find_tool() {
  local var=$1 name=$2 found=""
  if [ -n "${!var:-}" ]; then
    found=$(command -v "${!var}" || true)
  elif command -v "$name" >/dev/null; then
    found=$(command -v "$name")
  else
    local repo bin
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if command -v swift >/dev/null && bin=$(cd "$repo" && swift build -c release --show-bin-path 2>/dev/null); then
      if [ -x "$bin/$name" ]; then found=$bin/$name; fi
    fi
  fi
  printf '%s' "$found"
}
eval_tool=""
if [ "$ensemble" -eq 1 ]; then
  eval_tool=$(find_tool CNN_EVAL cnn-eval)
  if [ -z "$eval_tool" ]; then
    echo "summarize.sh: error: --ensemble: no cnn-eval${CNN_EVAL:+ (CNN_EVAL=$CNN_EVAL is not an executable)}; HINT: swift build -c release --product cnn-eval, or set CNN_EVAL" >&2
    exit 69
  fi
fi

# The tables. Prints the run directories with at least one epoch, one a line, on file descriptor 3.
runs_file=$(mktemp)
trap 'rm -f "$runs_file"' EXIT
python3 - "$dir" "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" "$eval_tool" "$data" 3>"$runs_file" <<'PY'
import csv, json, math, os, statistics, subprocess, sys
from datetime import datetime

top = sys.argv[1]
eval_tool, data_flag = sys.argv[3], sys.argv[4]
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
    # With --validation: the epoch of the best validation accuracy (the first of equals) is model-best.
    vals = [number(r.get("val_accuracy")) for r in rows]
    best_val = max((v for v in vals if math.isfinite(v)), default=math.nan)
    best_val_row = next((r for r, v in zip(rows, vals) if v == best_val), None)
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
        "val": vals[-1] if vals else math.nan,
        "best_val_epoch": int(best_val_row["epoch"]) if best_val_row else "",
        "model_best_test": number(best_val_row.get("test_accuracy")) if best_val_row else math.nan,
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
                "best_test_accuracy", "best_epoch", "final_test_loss", "train_seconds", "images_per_second", "status",
                "final_val_accuracy", "best_val_epoch", "model_best_test_accuracy"])
    for r in runs:
        w.writerow([r["run"], r["arch"], r["lr"], r["batch_size"], r["epochs"], r["epochs_done"], r["seed"],
                    cell(r["final"], 4), cell(r["best"], 4), r["best_epoch"], cell(r["final_loss"], 4),
                    cell(r["seconds"], 1), cell(r["ips"], 0), r["status"],
                    cell(r["val"], 4), r["best_val_epoch"], cell(r["model_best_test"], 4)])
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

def ensemble_accuracy(members):
    # cnn-eval over the group's run directories (each stands for its model-best, else its model).
    dirs = [os.path.join(top, r["run"]) for r in sorted(members, key=lambda r: r["seed"])]
    data = data_flag or (members[0]["config"].get("data") if os.path.isdir(str(members[0]["config"].get("data", ""))) else "Data")
    done = subprocess.run([eval_tool, *dirs, "--data", data, "--json"], capture_output=True, text=True)
    try:
        if done.returncode != 0:
            raise ValueError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"status {done.returncode}")
        return float(json.loads(done.stdout)["ensemble"]["accuracy"])
    except (ValueError, KeyError, TypeError, IndexError) as e:
        print(f"summarize: the ensemble of {', '.join(dirs)} failed: {e}", file=sys.stderr)
        return math.nan

board = []
for members in groups.values():
    m, s = mean_std([r["final"] for r in members])
    has_val = all(math.isfinite(r["val"]) for r in members)
    vm, vs = mean_std([r["val"] for r in members]) if has_val else (math.nan, math.nan)
    board.append({"first": members[0], "n": len(members), "mean": m, "std": s, "val": (vm, vs), "has_val": has_val,
                  "seeds": ",".join(str(r["seed"]) for r in sorted(members, key=lambda r: r["seed"])),
                  "seconds": mean_std([r["seconds"] for r in members])[0],
                  "ips": mean_std([r["ips"] for r in members])[0],
                  "ensemble": ensemble_accuracy(members) if eval_tool and len(members) > 1 else math.nan})
# Validation chooses where the runs have it; the test set only ranks groups that have none.
def rank(g):
    figure = g["val"][0] if g["has_val"] else g["mean"]
    return (0 if g["has_val"] else 1, -(figure if math.isfinite(figure) else -1), g["seconds"])
board.sort(key=rank)
any_val = any(g["has_val"] for g in board)

def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)

extra = [k.replace("_", " ") for k in varying]
leaderboard = table(
    ["#", "arch", "lr", "batch", "epochs"] + extra
    + ["seeds"] + (["final val acc % (mean ± std)"] if any_val else []) + ["final test acc % (mean ± std)", "train s", "images/s"]
    + (["ensemble test acc %"] if eval_tool else []),
    [[i + 1, f"`{g['first']['arch']}`", g["first"]["lr"], g["first"]["batch_size"], g["first"]["epochs"]]
     + [g["first"]["config"].get(k, "") for k in varying]
     + [f"{g['n']} ({g['seeds']})"] + ([pct(*g["val"])] if any_val else [])
     + [pct(g["mean"], g["std"]), cell(g["seconds"], 1), cell(g["ips"], 0)]
     + ([cell(100 * g["ensemble"], 2) or "–"] if eval_tool else [])
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

Final accuracy over seeds (runs with the same settings but the seed), mean ± sample standard deviation
(– for a single seed). Groups whose runs hold out a validation split (--validation) come first, ranked on
validation accuracy; the others follow, ranked on test accuracy. Train s is the mean wall time of a run,
evaluation included.{" The ensemble averages the probabilities of a group's models (cnn-eval over its run directories; – for one seed)." if eval_tool else ""}

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
plot=$(find_tool CNN_PLOT cnn-plot)
if [ -n "${CNN_PLOT:-}" ] && [ -z "$plot" ]; then echo "summarize: CNN_PLOT=$CNN_PLOT is not an executable" >&2; fi
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
