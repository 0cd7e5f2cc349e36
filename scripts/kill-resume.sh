#!/usr/bin/env bash
# scripts/kill-resume.sh — kill cnn-train at random moments and check that resuming it gives, byte for byte, the
# model an uninterrupted run gives; then the same for SIGINT, SIGTERM and a full disk.
#
#   scripts/kill-resume.sh [K]      K SIGKILL trials (default 5)
#
# What it runs (the release build, the real MNIST in Data/, about 3 to 5 s per training run here):
#   cnn-train --data Data --limit 3000 --epochs 2 --checkpoint-every 7 --log-every 5 --arch conv8k5-relu-pool2-fc10 --threads 2
#   1. swift build -c release (seconds when up to date, about 2 minutes from clean);
#   2. a reference run, uninterrupted;
#   3. K trials: a fresh run, SIGKILLed at a random moment (a trial that ends before its first kill starts over);
#      then `--resume` (or the first command again when it was killed before writing config.json), killed again
#      at random with probability 1/2 (at most 6 kills), until it finishes. After every kill, every checkpoint in the run directory must pass `cnn-eval --verify`
#      (the model file and its .state file). At the end model.safetensors must be the reference's (cmp), and
#      metrics.jsonl and steps.jsonl the reference's but for the timing columns;
#   4. SIGINT and SIGTERM, once each, after the first checkpoint: exit status 130 and 143, the "resume with"
#      line on stderr, and the resumed run ends as the reference;
#   5. a full disk (a 128 KiB tmpfs: room for one checkpoint, not two; needs root, skipped otherwise): exit
#      status 73, one line on stderr naming the file, the checkpoint before it passes --verify, no temporary
#      file left; then, with the tmpfs grown, --resume ends as the reference;
#   6. augmentation (run right after 3): the same flags with --limit 1000 --shift 2 --rotate 10, an
#      uninterrupted run, then one SIGKILLed mid-epoch after its step-14 checkpoint and resumed from it, which
#      must end in the uninterrupted run's bytes.
# About 1 to 2 minutes after the build (6 adds a few seconds). Output: .build-kill-resume/<time>/ (one folder per invocation, kept).
# The last line is "N passed, N failed"; the exit status is 1 if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

trials=${1:-5}
case "$trials" in *[!0-9]*|'') echo "usage: $0 [K]" >&2; exit 2 ;; esac

for product in cnn-train cnn-eval; do
  swift build -c release --product "$product" >/dev/null || { echo "build of $product failed" >&2; exit 2; }
done
bin=$(swift build -c release --show-bin-path)
root=$PWD/.build-kill-resume/$(date +%Y%m%d-%H%M%S)
mkdir -p "$root"
flags=(
  --data Data
  --limit 3000
  --epochs 2
  --checkpoint-every 7
  --log-every 5
  --arch conv8k5-relu-pool2-fc10
  --threads 2
  --quiet
)
passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# metrics.jsonl and steps.jsonl without the timing keys: seconds, elapsed_seconds, images_per_second.
untimed() { sed -E 's/"(seconds|elapsed_seconds|images_per_second)":[^,}]*,?//g; s/,}/}/' "$1"; }

# A random number of seconds in [0, $1), with millisecond steps.
random_seconds() { awk -v seed="$RANDOM$RANDOM" -v max="$1" 'BEGIN { srand(seed); printf "%.3f", rand() * max }'; }

# Every model checkpoint in run directory $1 (and the .state file beside it) passes cnn-eval --verify.
verify_checkpoints() {
  local f bad=0
  for f in "$1"/checkpoints/*.safetensors; do
    [ -e "$f" ] || continue
    case "$f" in *.state.safetensors) continue ;; esac
    if ! "$bin/cnn-eval" "$f" --verify >>"$root/verify.log" 2>&1; then
      echo "  does not load: $f ($(tail -n 1 "$root/verify.log"))"
      bad=1
    fi
  done
  return $bad
}

# The run in $1 ended as the reference ($2, default $root/reference) did.
same_as_reference() {
  local reference=${2:-$root/reference}
  if ! cmp -s "$1/model.safetensors" "$reference/model.safetensors"; then
    echo "  $1/model.safetensors differs from the reference: $(cmp "$1/model.safetensors" "$reference/model.safetensors" 2>&1)"
    return 1
  fi
  if ! diff <(untimed "$1/metrics.jsonl") <(untimed "$reference/metrics.jsonl") >/dev/null; then
    echo "  $1/metrics.jsonl differs from the reference (timing columns aside)"
    return 1
  fi
  if ! diff <(untimed "$1/steps.jsonl") <(untimed "$reference/steps.jsonl") >/dev/null; then
    echo "  $1/steps.jsonl differs from the reference (timing columns aside)"
    return 1
  fi
}

# 2. The reference.
start=$(date +%s.%N)
if ! "$bin/cnn-train" "${flags[@]}" --out "$root/reference" >"$root/reference.log" 2>&1; then
  echo "the reference run failed: $(tail -n 1 "$root/reference.log")"
  echo "0 passed, 1 failed"
  exit 1
fi
duration=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "reference run: ${duration}s, $(ls "$root/reference/checkpoints" | wc -l) checkpoint files; output in $root"
# Kill moments are drawn from [0, 0.9 × the reference's time): loading the data, training, writing checkpoints.
kill_window=$(awk -v d="$duration" 'BEGIN { printf "%.2f", 0.9 * d }')

# 3. SIGKILL at random moments.
for trial in $(seq 1 "$trials"); do
  dir=$root/kill-$trial
  log=$root/kill-$trial.log
  kills=0
  attempts=0
  ok=1
  moments=()
  while :; do
    attempts=$((attempts + 1))
    if [ -f "$dir/config.json" ]; then args=(--resume "$dir" --quiet); else args=("${flags[@]}" --out "$dir"); fi
    "$bin/cnn-train" "${args[@]}" >>"$log" 2>&1 &
    pid=$!
    if [ "$kills" = 0 ] || { [ "$kills" -lt 6 ] && [ $((RANDOM % 2)) = 0 ]; }; then
      moment=$(random_seconds "$kill_window")
      sleep "$moment"
      if kill -KILL "$pid" 2>/dev/null; then
        kills=$((kills + 1))
        moments+=("${moment}s")
      fi
    fi
    wait "$pid" 2>/dev/null
    status=$?
    if [ "$status" = 0 ] && [ "$kills" = 0 ]; then
      # It finished before the first kill: start the trial again, so that every trial is killed at least once.
      rm -rf "$dir"
      continue
    fi
    if [ "$status" = 0 ]; then break; fi
    if [ "$status" != 137 ]; then
      echo "  cnn-train ${args[*]} exited with $status: $(tail -n 1 "$log")"
      ok=0
      break
    fi
    verify_checkpoints "$dir" || ok=0
    if [ "$attempts" -ge 20 ]; then echo "  no end after 20 attempts"; ok=0; break; fi
  done
  if [ "$ok" = 1 ] && verify_checkpoints "$dir" && same_as_reference "$dir"; then
    pass "trial $trial: killed $kills time(s) (at ${moments[*]:-never}), resumed to the same model.safetensors"
  else
    fail "trial $trial: killed $kills time(s) (at ${moments[*]:-never}); see $log"
  fi
done

# 6 (run here, while the cache is warm). The same with augmentation: an uninterrupted augmented run, then one
# SIGKILLed mid-epoch, once its step-14 checkpoint is written (16 steps an epoch), and resumed from it. The
# warps are drawn from (seed, epoch, position), so the resumed run must end in the reference's bytes.
augmented=(--data Data --limit 1000 --epochs 2 --checkpoint-every 7 --log-every 5 --arch conv8k5-relu-pool2-fc10 --threads 2 --shift 2 --rotate 10)
if "$bin/cnn-train" "${augmented[@]}" --quiet --out "$root/reference-augmented" >"$root/reference-augmented.log" 2>&1; then
  dir=$root/kill-augmented
  for attempt in 1 2 3; do
    rm -rf "$dir"
    "$bin/cnn-train" "${augmented[@]}" --quiet --out "$dir" >"$dir.log" 2>&1 &
    pid=$!
    # The model file is written after its state file, so once it is there the step-14 checkpoint is whole.
    for _ in $(seq 1 6000); do [ -e "$dir/checkpoints/step-00000014.safetensors" ] && break; sleep 0.005; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    status=$?
    [ "$status" = 137 ] && break
  done
  if [ "$status" != 137 ]; then
    fail "augmented: three runs ended (status $status) before the kill after step 14"
  elif ! verify_checkpoints "$dir"; then
    fail "augmented: a checkpoint does not load after the kill"
  elif ! "$bin/cnn-train" --resume "$dir" >>"$dir.log" 2>&1; then
    fail "augmented: the resumed run failed: $(tail -n 1 "$dir.log")"
  elif ! from=$(grep -o 'resuming from .*step-0000001[4-9].*' "$dir.log"); then
    fail "augmented: the resumed run did not start from a checkpoint after step 14: $(grep resuming "$dir.log")"
  elif same_as_reference "$dir" "$root/reference-augmented"; then
    pass "augmented (--shift 2 --rotate 10): SIGKILLed after step 14, ${from%% (*}, to the same model.safetensors"
  else
    fail "augmented: the resumed run differs from the uninterrupted one"
  fi
else
  fail "the augmented reference run failed: $(tail -n 1 "$root/reference-augmented.log")"
fi

# 4. SIGINT and SIGTERM.
for sig in INT TERM; do
  expected=$([ $sig = INT ] && echo 130 || echo 143)
  dir=$root/sig$sig
  "$bin/cnn-train" "${flags[@]}" --out "$dir" >"$dir.out" 2>"$dir.err" &
  pid=$!
  for _ in $(seq 1 3000); do
    [ -e "$dir/checkpoints/step-00000007.safetensors" ] && break
    sleep 0.01
  done
  kill -$sig "$pid"
  wait "$pid" 2>/dev/null
  status=$?
  if [ "$status" != "$expected" ]; then
    fail "SIG$sig: exit status $status, expected $expected ($(tail -n 1 "$dir.err"))"
  elif ! grep -qF "resume with: $bin/cnn-train --resume $dir" "$dir.err"; then
    fail "SIG$sig: no 'resume with' line on stderr: $(cat "$dir.err")"
  elif ! verify_checkpoints "$dir"; then
    fail "SIG$sig: a checkpoint does not load"
  elif ! "$bin/cnn-train" --resume "$dir" --quiet >>"$dir.out" 2>>"$dir.err"; then
    fail "SIG$sig: the resumed run failed: $(tail -n 1 "$dir.err")"
  elif same_as_reference "$dir"; then
    pass "SIG$sig: exit status $status, '$(grep -o 'stopped by.*' "$dir.err" | cut -c1-60)...', resumed to the same model.safetensors"
  else
    fail "SIG$sig: the resumed run differs from the reference"
  fi
done

# 5. A full disk.
mnt=$root/tmpfs
mkdir -p "$mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=128k tmpfs "$mnt" 2>/dev/null; then
  dir=$mnt/run
  "$bin/cnn-train" "${flags[@]}" --out "$dir" >"$root/disk-full.out" 2>"$root/disk-full.err"
  status=$?
  lines=$(wc -l <"$root/disk-full.err")
  temporary=$(find "$dir" -name '.*.tmp-*' | wc -l)
  models=$(ls "$dir/checkpoints" 2>/dev/null | grep -v '\.state\.' | wc -l)
  if [ "$status" != 73 ] || [ "$lines" != 1 ] || ! grep -q "^cnn-train: error: $dir/.*No space left on device" "$root/disk-full.err"; then
    fail "full disk: exit status $status, stderr: $(cat "$root/disk-full.err")"
  elif [ "$temporary" != 0 ] || [ "$models" -lt 1 ] || ! verify_checkpoints "$dir"; then
    fail "full disk: $temporary temporary file(s) left, $models checkpoint(s) kept, or one does not load"
  else
    mount -o remount,size=4m "$mnt"
    if "$bin/cnn-train" --resume "$dir" --quiet >>"$root/disk-full.out" 2>>"$root/disk-full.err" && same_as_reference "$dir"; then
      pass "full disk: exit status 73, '$(cut -c1-90 "$root/disk-full.err")...'; the checkpoint before it loads; resumed with room to the same model.safetensors"
    else
      fail "full disk: the resumed run failed or differs: $(tail -n 1 "$root/disk-full.err")"
    fi
  fi
  umount "$mnt"
else
  echo "SKIP: full disk (mounting a tmpfs needs root)"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
