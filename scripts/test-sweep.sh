#!/usr/bin/env bash
# scripts/test-sweep.sh: end-to-end test of scripts/sweep.sh and scripts/summarize.sh on a tiny sweep.
#
# Trains a 2x2 grid (conv4k5-relu-pool2-fc10, --lr 0.05,0.1, --seeds 1,2, 1 epoch on 300 images; each
# run still evaluates the 10,000 test images of Data/) with -j 2 into a temporary folder, then checks:
# every run has its model; the same sweep again skips all four and touches no train.log; a run without
# its model is resumed and one without a checkpoint restarted (through xargs -P, whichever runner the
# first sweep used); summarize.sh writes 4 rows and 2 leaderboard groups (mean ± std) and, when
# cnn-plot is built, curves.png; on made-up runs, the leaderboard ranks on validation accuracy where runs
# have it; --ensemble reports each group's ensemble as cnn-eval gives it; the Slurm script lists each combination once, with --array=0-3, one of its
# tasks trains its run, and an out-of-range task id is one line with status 64; --slurm says the build is
# for this CPU (--portable); --help, and bad flags exit with status 64. One process per run: while a
# cnn-train (held with SIGSTOP) trains one run, a second --resume of it exits 75 naming it, --dry-run and
# summarize.sh show it running, and a sweep leaves it alone (status 75, "1 running elsewhere"); once it is
# SIGKILLed the same sweep takes the run over and finishes it.
#
# Time: builds cnn-train, cnn-plot and cnn-eval first (swift build -c release; about a minute the first time,
# unless CNN_TRAIN is set), then about 30 s on 2 cores.
#
# Usage: scripts/test-sweep.sh            (CNN_TRAIN=PATH, CNN_PLOT=PATH to use given binaries)
# Prints "ok"/"FAIL" per check and last "N passed, N failed"; exits 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/checks.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# MARK: binaries

CNN_TRAIN_GIVEN=${CNN_TRAIN:-}
if [ -z "${CNN_TRAIN:-}" ]; then
  echo "building cnn-train (swift build -c release; about a minute the first time)"
  if ! swift build -c release --product cnn-train >"$tmp/build.log" 2>&1; then
    fail "swift build -c release --product cnn-train" "$(cat "$tmp/build.log")"
    finish
  fi
  bin=$(swift build -c release --show-bin-path)
  export CNN_TRAIN=$bin/cnn-train
  if [ -z "${CNN_PLOT:-}" ]; then
    if swift build -c release --product cnn-plot >"$tmp/build-plot.log" 2>&1; then
      export CNN_PLOT=$bin/cnn-plot
    else
      echo "note: cnn-plot did not build, so curves.png is not checked:"
      tail -n 5 "$tmp/build-plot.log" | sed 's/^/     | /'
    fi
  fi
  if [ -z "${CNN_EVAL:-}" ]; then
    if swift build -c release --product cnn-eval >"$tmp/build-eval.log" 2>&1; then
      export CNN_EVAL=$bin/cnn-eval
    else
      fail "swift build -c release --product cnn-eval" "$(cat "$tmp/build-eval.log")"
    fi
  fi
fi
started=$SECONDS

# MARK: flags

sweep=scripts/sweep.sh
out=$tmp/sweep
grid=(--arch conv4k5-relu-pool2-fc10 --lr "0.05,0.1" --seeds "1,2" --epochs 1)
train_flags=(-- --limit 300)
names=()
for lr in 0.05 0.1; do
  for seed in 1 2; do names+=("arch=conv4k5-relu-pool2-fc10,lr=$lr,bs=64,ep=1,seed=$seed"); done
done

# expect_status STATUS DESCRIPTION COMMAND...: the command exits with STATUS, printing at most one line on stderr.
expect_status() {
  local want=$1 d=$2 status=0
  shift 2
  "$@" >"$tmp/stdout" 2>"$tmp/stderr" || status=$?
  if [ "$status" -ne "$want" ]; then
    fail "$d: exit status $status, not $want" "$(cat "$tmp/stdout" "$tmp/stderr")"
  elif [ "$want" -ne 0 ] && [ "$(wc -l <"$tmp/stderr")" -ne 1 ]; then
    fail "$d: not one line on stderr" "$(cat "$tmp/stderr")"
  else
    ok "$d"
  fi
}

expect_status 0 "sweep.sh --help" $sweep --help
check "sweep.sh --help shows the usage" grep -q '^Usage: scripts/sweep.sh --out DIR' "$tmp/stdout"
expect_status 0 "summarize.sh --help" scripts/summarize.sh --help
check "summarize.sh --help shows the usage" grep -q '^Usage: scripts/summarize.sh DIR' "$tmp/stdout"
expect_status 64 "unknown option" $sweep --out "$out" --bogus
check "unknown option: the message names it" grep -q "unknown option '--bogus'" "$tmp/stderr"
expect_status 64 "empty list" $sweep --out "$out" --lr ''
expect_status 64 "empty item in a list" $sweep --out "$out" --lr 0.05,,0.1
expect_status 64 "not a number" $sweep --out "$out" --lr fast
expect_status 64 "missing --out" $sweep --lr 0.1
expect_status 64 "a grid flag after --" $sweep --out "$out" -- --lr 0.1
expect_status 64 "summarize.sh without DIR" scripts/summarize.sh
mkdir -p "$tmp/empty"
expect_status 66 "summarize.sh on a folder without runs" scripts/summarize.sh "$tmp/empty"
check "nothing was trained by the bad flags" test ! -e "$out"

# MARK: sweep, skip, resume

expect_status 0 "--dry-run" $sweep --out "$out" "${grid[@]}" -j 2 --dry-run "${train_flags[@]}"
check "--dry-run lists 4 new runs" test "$(grep -c '^new ' "$tmp/stdout")" -eq 4

status=0
$sweep --out "$out" "${grid[@]}" -j 2 "${train_flags[@]}" >"$tmp/sweep1.txt" 2>&1 || status=$?
check "sweep of 4 runs exits 0" test "$status" -eq 0
check "sweep reports 4 trained" grep -q ': 4 trained, 0 skipped, 0 failed' "$tmp/sweep1.txt"
missing=0
for n in "${names[@]}"; do [ -f "$out/$n/model.safetensors" ] || missing=$((missing + 1)); done
if [ "$missing" -eq 0 ]; then ok "every run directory has model.safetensors"; else fail "$missing runs lack model.safetensors" "$(cat "$tmp/sweep1.txt")"; fi
logs_before=$(cat "$out"/*/train.log | wc -l)
check "each train.log says what ran" test "$(grep -l '^== .*sweep.sh on ' "$out"/*/train.log | wc -l)" -eq 4

status=0
$sweep --out "$out" "${grid[@]}" -j 2 "${train_flags[@]}" >"$tmp/sweep2.txt" 2>&1 || status=$?
check "the same sweep again exits 0" test "$status" -eq 0
if grep -q ': 0 trained, 4 skipped, 0 failed' "$tmp/sweep2.txt"; then ok "the same sweep again skips all 4"; else fail "the same sweep again skips all 4" "$(cat "$tmp/sweep2.txt")"; fi
check "no train.log grew" test "$(cat "$out"/*/train.log | wc -l)" -eq "$logs_before"
expect_status 64 "other flags after -- on a swept folder" $sweep --out "$out" "${grid[@]}" -- --limit 500

# One run lost its model (as if killed after its last checkpoint), one its checkpoints too.
rm "$out/${names[0]}/model.safetensors"
rm -r "$out/${names[1]}/model.safetensors" "$out/${names[1]}/checkpoints"
status=0
SWEEP_RUNNER="xargs" $sweep --out "$out" "${grid[@]}" -j 2 "${train_flags[@]}" >"$tmp/sweep3.txt" 2>&1 || status=$?
check "an interrupted sweep is taken up again (xargs -P)" test "$status" -eq 0
if grep -q ': 2 trained, 2 skipped, 0 failed' "$tmp/sweep3.txt" &&
  grep -q "start   ${names[0]}: resume" "$tmp/sweep3.txt" &&
  grep -q "start   ${names[1]}: restart" "$tmp/sweep3.txt"; then
  ok "the run with a checkpoint is resumed, the one without restarted, the others skipped"
else
  fail "the run with a checkpoint is resumed, the one without restarted, the others skipped" "$(cat "$tmp/sweep3.txt")"
fi
check "both have their model again" test -f "$out/${names[0]}/model.safetensors" -a -f "$out/${names[1]}/model.safetensors"
check "the resumed run logged cnn-train --resume" grep -q -- "--resume $out/${names[0]}" "$out/${names[0]}/train.log"

# MARK: summarize

status=0
scripts/summarize.sh "$out" >"$tmp/summary.txt" 2>&1 || status=$?
check "summarize.sh exits 0" test "$status" -eq 0
check "summary.csv has a header and 4 rows" test "$(wc -l <"$out/summary.csv")" -eq 5
for n in "${names[@]}"; do
  check "summary.csv has $n" grep -qF "\"$n\"," "$out/summary.csv"
done
board=$(awk '/^## Leaderboard/ { on = 1; next } /^## / { on = 0 } on && /^\| [0-9]+ \|/' "$out/summary.md")
if [ "$(printf '%s\n' "$board" | grep -c '| 2 (1,2) | [0-9.]* ± [0-9.]* |')" -eq 2 ]; then
  ok "summary.md's leaderboard has 2 groups of 2 seeds with mean ± std"
else
  fail "summary.md's leaderboard has 2 groups of 2 seeds with mean ± std" "$(cat "$out/summary.md")"
fi
if [ -n "${CNN_PLOT:-}" ]; then
  check "curves.png is a PNG" test "$(head -c 4 "$out/curves.png" 2>/dev/null | tail -c 3)" = PNG
fi

# MARK: validation ranks, ensembles

# Made-up finished runs: lr 0.1 (2 seeds) and 0.2 hold out a validation split, lr 0.3 does not. Their test
# accuracies rank 0.3 > 0.2 > 0.1, their validation accuracies 0.1 > 0.2: validation decides, and the run
# without it comes after those with it.
fake=$tmp/fake
fake_run() { # NAME LR SEED VAL TEST ("-" for no validation)
  mkdir -p "$fake/$1"
  : >"$fake/$1/model.safetensors"
  local validation="" val=""
  if [ "$4" != - ]; then validation=',"validation":100'; val=",\"val_accuracy\":$4"; fi
  printf '{"configuration":{"arch":"a","lr":%s,"batch_size":64,"epochs":1,"seed":%s%s}}\n' "$2" "$3" "$validation" >"$fake/$1/config.json"
  printf '{"epoch":1,"test_accuracy":%s%s,"elapsed_seconds":1}\n' "$5" "$val" >"$fake/$1/metrics.jsonl"
}
fake_run r1 0.1 1 0.97 0.91
fake_run r2 0.1 2 0.97 0.93
fake_run r3 0.2 1 0.96 0.99
fake_run r4 0.3 1 - 0.999
CNN_PLOT=/nonexistent scripts/summarize.sh "$fake" >"$tmp/summary-fake.txt" 2>&1
order=$(awk -F' [|] ' '/^[|] [0-9]+ [|]/ { printf "%s ", $3 }' "$tmp/summary-fake.txt")
if [ "$order" = "0.1 0.2 0.3 " ] && grep -q '| 2 (1,2) | 97.00 ± 0.00 | 92.00 ± 1.41 |' "$tmp/summary-fake.txt"; then
  ok "the leaderboard ranks on validation accuracy where runs have it, the test set after (order: $order)"
else
  fail "the leaderboard ranks on validation accuracy where runs have it (order: $order)" "$(cat "$tmp/summary-fake.txt")"
fi
check "summary.csv has the validation columns" grep -qF 'r3,a,0.2,64,1,1,1,0.9900,0.9900,1,,1.0,,finished,0.9600,1,0.9900' "$fake/summary.csv"
expect_status 69 "--ensemble without a cnn-eval" env CNN_EVAL=/nonexistent scripts/summarize.sh --ensemble "$fake"
expect_status 64 "--data without a directory" scripts/summarize.sh "$fake" --data

# The sweep's ensembles: cnn-eval over each group's two seeds, as summarize.sh --ensemble reports them.
if [ -n "${CNN_EVAL:-}" ]; then
  status=0
  scripts/summarize.sh --ensemble "$out" >"$tmp/summary-ensemble.txt" 2>&1 || status=$?
  check "summarize.sh --ensemble exits 0" test "$status" -eq 0
  agree=0
  for lr in 0.05 0.1; do
    want=$("$CNN_EVAL" "$out/arch=conv4k5-relu-pool2-fc10,lr=$lr,bs=64,ep=1,seed=1" "$out/arch=conv4k5-relu-pool2-fc10,lr=$lr,bs=64,ep=1,seed=2" --json |
      python3 -c 'import json, sys; print("%.2f" % (100 * json.load(sys.stdin)["ensemble"]["accuracy"]))')
    grep -q "^| [0-9] | \`conv4k5-relu-pool2-fc10\` | $lr | 64 | 1 | 2 (1,2) | .* | $want |\$" "$tmp/summary-ensemble.txt" && agree=$((agree + 1))
  done
  if [ "$agree" -eq 2 ]; then
    ok "each group's ensemble accuracy is cnn-eval's over its two seeds"
  else
    fail "each group's ensemble accuracy is cnn-eval's over its two seeds" "$(cat "$tmp/summary-ensemble.txt")"
  fi
  check "summary.md has the ensemble column" grep -q 'ensemble test acc %' "$out/summary.md"
fi

# MARK: Slurm

slurm_dir=$tmp/slurm
status=0
$sweep --out "$slurm_dir" "${grid[@]}" --slurm "${train_flags[@]}" >"$tmp/array.sh" 2>"$tmp/array.err" || status=$?
check "--slurm exits 0" test "$status" -eq 0
check "the Slurm script has #SBATCH --array=0-3" grep -qx '#SBATCH --array=0-3' "$tmp/array.sh"
once=0
for n in "${names[@]}"; do [ "$(grep -cF "$n" "$tmp/array.sh")" -eq 1 ] && once=$((once + 1)); done
if [ "$once" -eq 4 ]; then ok "the Slurm script lists each combination once"; else fail "the Slurm script lists each combination once" "$(cat "$tmp/array.sh")"; fi
check "the Slurm script is valid bash" bash -n "$tmp/array.sh"
status=0
SLURM_ARRAY_TASK_ID=3 bash "$tmp/array.sh" >"$tmp/task.txt" 2>&1 || status=$?
if [ "$status" -eq 0 ] && [ -f "$slurm_dir/${names[3]}/model.safetensors" ]; then
  ok "Slurm task 3 trains ${names[3]}"
else
  fail "Slurm task 3 trains ${names[3]}" "$(cat "$tmp/task.txt")"
fi
status=0
SLURM_ARRAY_TASK_ID=3 bash "$tmp/array.sh" >"$tmp/task.txt" 2>&1 || status=$?
check "Slurm task 3 again skips its finished run" grep -q "skip    ${names[3]}: finished" "$tmp/task.txt"
expect_status 0 "--slurm-out FILE" $sweep --out "$slurm_dir" "${grid[@]}" --slurm --slurm-out "$tmp/array2.sh" "${train_flags[@]}"
check "--slurm-out writes an executable script" test -x "$tmp/array2.sh"
status=0
SLURM_ARRAY_TASK_ID=4 bash "$tmp/array.sh" >"$tmp/task.txt" 2>&1 || status=$?
if [ "$status" -eq 64 ] && [ "$(wc -l <"$tmp/task.txt")" -eq 1 ] && grep -q "task id '4' is not one of 0-3" "$tmp/task.txt"; then
  ok "an out-of-range task id is one line with status 64"
else
  fail "an out-of-range task id is one line with status 64 (status $status)" "$(cat "$tmp/task.txt")"
fi
status=0
env -u SLURM_ARRAY_TASK_ID bash "$tmp/array.sh" >"$tmp/task.txt" 2>&1 || status=$?
check "no task id: one line with status 64, no 'unbound variable'" test "$status" -eq 64 -a "$(wc -l <"$tmp/task.txt")" -eq 1
expect_status 64 "--portable with CNN_TRAIN" $sweep --out "$slurm_dir" "${grid[@]}" --slurm --portable "${train_flags[@]}"
if [ -z "${CNN_TRAIN_GIVEN:-}" ]; then
  status=0
  env -u CNN_TRAIN $sweep --out "$slurm_dir" "${grid[@]}" --slurm "${train_flags[@]}" >"$tmp/array3.sh" 2>"$tmp/array3.err" || status=$?
  if [ "$status" -eq 0 ] && grep -q -- '-target-cpu native.*add --portable' "$tmp/array3.err" && grep -q '^# cnn-train is a build for this machine' "$tmp/array3.sh"; then
    ok "--slurm says the build is for this CPU and points to --portable"
  else
    fail "--slurm says the build is for this CPU and points to --portable" "$(cat "$tmp/array3.err")"
  fi
fi

# MARK: one process per run

# A cnn-train that trains one of the sweep's runs (its very command), held stopped (SIGSTOP) once it has
# written config.json, before its first epoch ends.
lock_dir=$tmp/locked
mkdir -p "$lock_dir/${names[0]}"
$CNN_TRAIN --out "$lock_dir/${names[0]}" --arch conv4k5-relu-pool2-fc10 --lr 0.05 --batch-size 64 --epochs 1 --seed 1 \
  --threads 1 --limit 300 --quiet >"$tmp/holder.txt" 2>&1 &
holder=$!
for _ in $(seq 1 4000); do [ -f "$lock_dir/${names[0]}/config.json" ] && break; sleep 0.005; done
kill -STOP "$holder" 2>/dev/null
if python3 scripts/run_lock.py holder "$lock_dir/${names[0]}" >"$tmp/holder-line.txt"; then
  ok "run_lock.py holder sees the lock: $(cat "$tmp/holder-line.txt")"
else
  fail "run_lock.py holder sees the lock (the holder may have finished first)" "$(cat "$tmp/holder.txt")"
fi
expect_status 75 "a second cnn-train --resume of a run being trained" $CNN_TRAIN --resume "$lock_dir/${names[0]}" --quiet
check "... says who trains it" grep -q "^cnn-train: error: $lock_dir/${names[0]} is being trained by $holder on .* since 20" "$tmp/stderr"
expect_status 0 "--dry-run beside a run being trained" $sweep --out "$lock_dir" "${grid[@]}" --dry-run "${train_flags[@]}"
check "--dry-run shows it running" grep -q "^running   ${names[0]}" "$tmp/stdout"
status=0
$sweep --out "$lock_dir" --arch conv4k5-relu-pool2-fc10 --lr 0.05 --seeds 1,2 --epochs 1 -j 2 "${train_flags[@]}" >"$tmp/sweep-locked.txt" 2>&1 || status=$?
if [ "$status" -eq 75 ] && grep -q ': 1 trained, 0 skipped, 0 failed, 1 running elsewhere' "$tmp/sweep-locked.txt" &&
  grep -q "running ${names[0]}: running elsewhere: $lock_dir/${names[0]} is being trained by $holder on " "$tmp/sweep-locked.txt"; then
  ok "a sweep leaves the run being trained alone: status 75, '1 running elsewhere'"
else
  fail "a sweep leaves the run being trained alone: status 75 (got $status), '1 running elsewhere'" "$(cat "$tmp/sweep-locked.txt")"
fi
check "... and did not touch its files" test -f "$lock_dir/${names[0]}/config.json" -a ! -e "$lock_dir/${names[0]}/model.safetensors"
scripts/summarize.sh "$lock_dir" >"$tmp/summary-locked.txt" 2>&1
check "summarize.sh shows it running" grep -qF "\"${names[0]}\",conv4k5-relu-pool2-fc10,0.05,64,1,0,1,,,,,,,running" "$lock_dir/summary.csv"
check "... and says so" grep -q '1 not finished (1 running now, left out of the leaderboard)' "$tmp/summary-locked.txt"
kill -KILL "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
status=0
$sweep --out "$lock_dir" --arch conv4k5-relu-pool2-fc10 --lr 0.05 --seeds 1,2 --epochs 1 -j 2 "${train_flags[@]}" >"$tmp/sweep-unlocked.txt" 2>&1 || status=$?
if [ "$status" -eq 0 ] && grep -q ': 1 trained, 1 skipped, 0 failed' "$tmp/sweep-unlocked.txt" && [ -f "$lock_dir/${names[0]}/model.safetensors" ]; then
  ok "once its process is killed, the same sweep takes the run over and finishes it"
else
  fail "once its process is killed, the same sweep takes the run over and finishes it (status $status)" "$(cat "$tmp/sweep-unlocked.txt")"
fi

finish  # the seconds since `started`, after the build
