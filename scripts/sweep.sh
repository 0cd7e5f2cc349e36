#!/usr/bin/env bash
# scripts/sweep.sh: train every combination of a grid of cnn-train settings, one run directory each.
#
# Runs cnn-train once per combination of --arch x --lr x --batch-size x --epochs x --seeds, J at a time,
# each in DIR/arch=A,lr=L,bs=B,ep=E,seed=S/ with its output in train.log there. A run that finished is
# skipped; one that was stopped is resumed from its newest checkpoint (or restarted if it has none); so
# after an interruption (Ctrl-C, a reboot) the same command picks up where the sweep stopped.
#
# Time: a release build first (about a minute the first time, seconds after), then the runs, which share
# the cores: on 2 cores the default net for 3 epochs takes about 80 s a run (12 runs: about 16 minutes,
# whatever J), lenet5 for 2 epochs about 23 s a run (6 runs with -j 2: 2 minutes 17 s), and tiny nets with
# --limit a second or two.
#
# Usage: scripts/sweep.sh --out DIR [GRID] [OPTIONS] [-- CNN-TRAIN FLAGS]
# Grid (comma lists; each defaults to cnn-train's own default):
#   --arch LIST          presets or specs, e.g. lenet5,conv8k5-relu-pool2-fc10 (default)
#   --lr LIST            learning rates, e.g. 0.02,0.05,0.1 (0.05)
#   --batch-size LIST    e.g. 32,64 (64)
#   --epochs LIST        e.g. 3 (3)
#   --seeds LIST         e.g. 1,2,3 (1)
# Options:
#   --out DIR            where the run directories go (required)
#   -j, --jobs J         runs at a time (1); each gets --threads = cores/J rounded, at least 1
#   --sshloginfile FILE  spread the runs over the machines in FILE with GNU parallel (README, "Sweeps")
#   --slurm              write a Slurm job-array script, one task per combination, instead of running;
#                        each task asks for --cpus-per-task = the --threads after -- (default 2)
#   --slurm-out FILE     write that script to FILE instead of standard output
#   --portable           build (or reuse) a cnn-train for any x86-64 or arm64 CPU (CNN_PORTABLE=1, in
#                        .build-portable/): the default build is for this machine's CPU (-target-cpu native)
#                        and may stop with an illegal instruction on nodes with older CPUs
#   --dry-run            list the combinations and what a sweep would do with each, and stop
#   -h, --help           this text
#   -- FLAGS             passed to every run, e.g. -- --limit 6000 --momentum 0.8 (--threads N overrides
#                        the share above; a resumed run keeps the thread count it started with)
# Environment: CNN_TRAIN=PATH uses that cnn-train instead of building one (not with --portable); SWEEP_RUNNER=xargs uses xargs -P
# even when GNU parallel is installed.
# Files: DIR/<run>/ (cnn-train's run directory plus train.log), DIR/sweep.log (a line per run started,
# finished, skipped or failed), DIR/train-flags.txt (the flags after --, the same for every run in DIR).
# One process per run: cnn-train locks its run directory, so a run that another process trains (a second
# copy of the sweep, a requeued Slurm task, another host on a shared folder) is reported "running
# elsewhere" and left alone, not counted as failed; python3 (standard library) lets the sweep check the
# lock before it cleans up a run it restarts.
# Exit status: 0 when every run has finished, 1 when a run or the build failed, 64 for a bad flag,
# 75 when the others finished but some run is being trained elsewhere, 130 when interrupted (the same
# command resumes).
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
repo=$(dirname "$(dirname "$self")")
run_lock=$(dirname "$self")/run_lock.py

usage_error() {
  echo "sweep.sh: error: $* (see scripts/sweep.sh --help)" >&2
  exit 64
}

# One status line: time, word, run, detail. sweep.log and the final counts are made of these.
say() { printf '%s %-7s %s\n' "$(date +%H:%M:%S)" "$1" "$2"; }

# The value of cnn-train flag $1 among the remaining arguments ("" when absent).
flag_value() {
  local name=$1 prev="" value="" a
  shift
  for a in "$@"; do
    case $a in "$name"=*) value=${a#*=} ;; esac
    if [ "$prev" = "$name" ]; then value=$a; fi
    prev=$a
  done
  printf '%s' "$value"
}

# What a sweep does with run directory $1 of $2 epochs (target accuracy $3, or ""):
#   new       no config.json: start it
#   finished  model.safetensors and every epoch in metrics.jsonl (or the target reached): skip it
#   resume    started, with a checkpoint: cnn-train --resume
#   restart   started, without a checkpoint: start it again
# (and, in --dry-run, running: another process holds the run's lock, see scripts/run_lock.py)
run_state() {
  local dir=$1 epochs=$2 target=$3 reached last
  if [ ! -f "$dir/config.json" ]; then echo new; return; fi
  if [ -f "$dir/model.safetensors" ] && [ -f "$dir/metrics.jsonl" ]; then
    reached=$(grep -o '"epoch":[0-9]*' "$dir/metrics.jsonl" | cut -d: -f2 | sort -n | tail -n 1 || true)
    if [ "${reached:-0}" -ge "$epochs" ]; then echo finished; return; fi
    if [ -n "$target" ]; then
      last=$(tail -n 1 "$dir/metrics.jsonl" | grep -o '"test_accuracy":[^,}]*' | cut -d: -f2 || true)
      if awk -v a="${last:-0}" -v t="$target" 'BEGIN { exit !(a + 0 >= t + 0) }'; then echo finished; return; fi
    fi
  fi
  if compgen -G "$dir/checkpoints/*.state.safetensors" >/dev/null; then echo resume; else echo restart; fi
}

# --worker CWD CNN_TRAIN THREADS OUT NPASS PASS... NAME ARCH LR BS EPOCHS SEED
# Internal: trains (or skips, or resumes) one run. Called through xargs, GNU parallel (maybe over ssh)
# or a Slurm task, so it takes everything as arguments and prints one status line when it ends. Its
# status: 0 when the run is finished, 75 when another process trains it (a Slurm task ends with 75), 1
# otherwise.
worker() {
  local cwd=$1 cnn=$2 threads=$3 out=$4 npass=$5
  shift 5
  local pass=("${@:1:npass}")
  shift "$npass"
  local name=$1 arch=$2 lr=$3 bs=$4 epochs=$5 seed=$6
  local dir=$out/$name host state
  host=$(uname -n)
  # Through GNU parallel over ssh, also the login it used (host names can repeat, e.g. behind a gateway).
  case ${PARALLEL_SSHHOST:-:} in : | "$host") ;; *) host="$host ($PARALLEL_SSHHOST)" ;; esac
  if ! cd "$cwd" 2>/dev/null; then say FAILED "$name: no directory $cwd on $host"; return 1; fi
  state=$(run_state "$dir" "$epochs" "$(flag_value --target-accuracy ${pass[@]+"${pass[@]}"})")
  if [ "$state" = finished ]; then say skip "$name: finished"; return 0; fi
  if [ ! -x "$cnn" ]; then
    say FAILED "$name: no cnn-train at $cnn on $host (build it there: swift build -c release --product cnn-train)"
    return 1
  fi
  if ! mkdir -p "$dir"; then say FAILED "$name: cannot create $dir on $host"; return 1; fi
  if command -v python3 >/dev/null && busy=$(python3 "$run_lock" holder "$dir"); then
    say running "$name: running elsewhere: $busy"
    return 75
  fi

  local cmd=("$cnn") busy
  if [ "$state" = resume ]; then
    cmd+=(--resume "$dir")
  else
    # Whatever an earlier attempt left (not train.log) goes, so cnn-train starts clean; under the run's lock,
    # so nothing is deleted while another process trains the run.
    local stale=(checkpoints config.json metrics.jsonl metrics.csv model.safetensors)
    if command -v python3 >/dev/null; then
      if busy=$(python3 "$run_lock" clean "$dir" "${stale[@]}"); then :; else
        if [ $? = 75 ]; then say running "$name: running elsewhere: $busy"; return 75; fi
        say FAILED "$name: cannot clean $dir on $host"
        return 1
      fi
    else
      (cd "$dir" && rm -rf "${stale[@]}")
    fi
    cmd+=(--out "$dir" --arch "$arch" --lr "$lr" --batch-size "$bs" --epochs "$epochs" --seed "$seed")
    if [ -z "$(flag_value --threads ${pass[@]+"${pass[@]}"})" ]; then cmd+=(--threads "$threads"); fi
  fi
  cmd+=(${pass[@]+"${pass[@]}"})

  local started=$SECONDS status=0 log=$dir/train.log
  say start "$name: $state on $host"
  if [ -s "$log" ]; then echo >>"$log"; fi
  printf '== %s, sweep.sh on %s: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$host" "${cmd[*]}" >>"$log"
  # A signal for the whole process group (Ctrl-C, scancel, GNU parallel's --termseq) reaches cnn-train too;
  # the worker waits for it to write its checkpoint and stop instead of dying first (under Slurm, the end
  # of the task's script would kill it before the checkpoint).
  trap 'signalled=1' INT TERM
  "${cmd[@]}" >>"$log" 2>&1 </dev/null || status=$?
  trap - INT TERM
  local seconds=$((SECONDS - started)) accuracy error
  case $status in
    0)
      accuracy=$(tail -n 1 "$dir/metrics.jsonl" | grep -o '"test_accuracy":[^,}]*' | cut -d: -f2 || true)
      accuracy=$(awk -v a="${accuracy:-0}" 'BEGIN { printf "%.2f%%", 100 * a }')
      say "done" "$name: test accuracy $accuracy in ${seconds}s"
      ;;
    75)
      # Another process (a second copy of this sweep, a requeued task, another host) trains this run now.
      busy=$(grep 'is being trained by' "$log" | tail -n 1 || true)
      say running "$name: running elsewhere: ${busy#cnn-train: error: }"
      return 75
      ;;
    132)
      say FAILED "$name: cnn-train stopped with an illegal instruction on $host: it was built for another CPU; use sweep.sh --portable"
      return 1
      ;;
    130 | 143)
      say stopped "$name: interrupted after ${seconds}s, with a checkpoint; the same sweep command resumes it"
      return 1
      ;;
    *)
      error=$(grep 'error:' "$log" | tail -n 1 || true)
      say FAILED "$name: cnn-train exited with status $status: ${error:-see $log}"
      return 1
      ;;
  esac
}

if [ "${1:-}" = --worker ]; then
  shift
  worker "$@"
  exit
fi

# MARK: flags

out="" jobs=1 sshloginfile="" slurm=0 slurm_out="" dry_run=0 portable=0
arch_list=default lr_list=0.05 bs_list=64 epochs_list=3 seeds_list=1
pass=()
while [ $# -gt 0 ]; do
  case $1 in
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
  esac
  case $1 in
    --out | --arch | --lr | --batch-size | --epochs | --seeds | --seed | -j | --jobs | --sshloginfile | --slurm-out)
      if [ $# -lt 2 ] || [[ $2 == --* ]]; then usage_error "$1 needs a value"; fi
      case $1 in
        --out) out=$2 ;;
        --arch) arch_list=$2 ;;
        --lr) lr_list=$2 ;;
        --batch-size) bs_list=$2 ;;
        --epochs) epochs_list=$2 ;;
        --seeds | --seed) seeds_list=$2 ;;
        -j | --jobs) jobs=$2 ;;
        --sshloginfile) sshloginfile=$2 ;;
        --slurm-out) slurm_out=$2 ;;
      esac
      shift 2
      ;;
    -j[0-9]*) jobs=${1#-j}; shift ;;
    --slurm) slurm=1; shift ;;
    --portable) portable=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"
      exit 0
      ;;
    --) shift; pass=("$@"); break ;;
    *) usage_error "unknown option '$1'" ;;
  esac
done

# Checks comma list $2 of flag $1: no empty item, none twice, each matching $3 (described by $4).
check_list() {
  local flag=$1 value=$2 pattern=$3 what=$4 item seen=","
  local items=()
  if [ -z "$value" ]; then usage_error "$flag: empty list"; fi
  if [[ $value == ,* || $value == *, || $value == *,,* ]]; then usage_error "$flag: empty item in '$value'"; fi
  IFS=, read -r -a items <<<"$value"
  for item in "${items[@]}"; do
    if ! [[ $item =~ $pattern ]]; then usage_error "$flag: '$item' is not $what"; fi
    if [[ $seen == *",$item,"* ]]; then usage_error "$flag: '$item' is listed twice"; fi
    seen+="$item,"
  done
}

check_list --arch "$arch_list" '^[A-Za-z0-9._+-]+$' "a preset or spec (letters, digits, '.', '_', '+', '-')"
check_list --lr "$lr_list" '^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$' "a number"
check_list --batch-size "$bs_list" '^[1-9][0-9]*$' "a positive integer"
check_list --epochs "$epochs_list" '^[1-9][0-9]*$' "a positive integer"
check_list --seeds "$seeds_list" '^[0-9]+$' "a non-negative integer"
IFS=, read -r -a archs <<<"$arch_list"
IFS=, read -r -a lrs <<<"$lr_list"
IFS=, read -r -a batch_sizes <<<"$bs_list"
IFS=, read -r -a epoch_counts <<<"$epochs_list"
IFS=, read -r -a seeds <<<"$seeds_list"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "-j: '$jobs' is not a positive integer"
[ -n "$out" ] || usage_error "missing --out DIR (where the run directories go)"
if [ -n "$slurm_out" ] && [ "$slurm" = 0 ]; then usage_error "--slurm-out needs --slurm"; fi
if [ "$slurm" = 1 ] && [ "$dry_run" = 1 ]; then usage_error "--slurm and --dry-run: choose one"; fi
if [ "$portable" = 1 ] && [ -n "${CNN_TRAIN:-}" ]; then
  usage_error "--portable and CNN_TRAIN: choose one (CNN_TRAIN=$CNN_TRAIN is used as it is)"
fi
if [ -n "$sshloginfile" ]; then
  if [ "$slurm" = 1 ]; then usage_error "--sshloginfile and --slurm: choose one"; fi
  [ -r "$sshloginfile" ] || usage_error "--sshloginfile: cannot read '$sshloginfile'"
fi
for a in ${pass[@]+"${pass[@]}"}; do
  case ${a%%=*} in
    --out | --resume) usage_error "'$a' after --: sweep.sh gives each run its own --out (and --resume)" ;;
    --arch | --lr | --batch-size | --epochs) usage_error "'$a' after --: give it to sweep.sh as ${a%%=*} LIST" ;;
    --seed) usage_error "'$a' after --: give it to sweep.sh as --seeds LIST" ;;
  esac
done

case $out in /*) ;; *) out=$PWD/$out ;; esac
while [ "${#out}" -gt 1 ] && [ "${out%/}" != "$out" ]; do out=${out%/}; done
cwd=$PWD
if [ -n "$sshloginfile" ]; then
  case $sshloginfile in /*) ;; *) sshloginfile=$PWD/$sshloginfile ;; esac
fi

# MARK: the grid

names=() c_arch=() c_lr=() c_bs=() c_epochs=() c_seed=()
for a in "${archs[@]}"; do
  for l in "${lrs[@]}"; do
    for b in "${batch_sizes[@]}"; do
      for e in "${epoch_counts[@]}"; do
        for s in "${seeds[@]}"; do
          names+=("arch=$a,lr=$l,bs=$b,ep=$e,seed=$s")
          c_arch+=("$a") c_lr+=("$l") c_bs+=("$b") c_epochs+=("$e") c_seed+=("$s")
        done
      done
    done
  done
done
count=${#names[@]}
target=$(flag_value --target-accuracy ${pass[@]+"${pass[@]}"})

if [ "$dry_run" = 1 ]; then
  n_new=0 n_done=0 n_resume=0 n_restart=0 n_running=0
  for ((i = 0; i < count; i++)); do
    state=$(run_state "$out/${names[i]}" "${c_epochs[i]}" "$target")
    if [ "$state" != finished ] && command -v python3 >/dev/null && python3 "$run_lock" holder "$out/${names[i]}" >/dev/null; then
      state=running
    fi
    printf '%-9s %s\n' "$state" "${names[i]}"
    case $state in new) n_new=$((n_new + 1)) ;; finished) n_done=$((n_done + 1)) ;;
      resume) n_resume=$((n_resume + 1)) ;; restart) n_restart=$((n_restart + 1)) ;;
      running) n_running=$((n_running + 1)) ;; esac
  done
  echo "$count combinations in $out: $n_done finished, $n_running running elsewhere, $n_resume to resume, $n_restart to restart, $n_new new"
  exit 0
fi

# MARK: flags shared by every run in DIR

# The flags after -- that change what a run computes (not --threads, --quiet, --log-format), one a line.
shared_flags() {
  local skip=0 a
  for a in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case $a in
      --threads | --log-format) skip=1 ;;
      --threads=* | --log-format=* | --quiet) ;;
      *) printf '%s\n' "$a" ;;
    esac
  done
}

mkdir -p "$out"
flags_file=$out/train-flags.txt
flags=$(shared_flags ${pass[@]+"${pass[@]}"})
# Checked only once a run has started: until then a typo after -- is cheap to correct.
if [ -f "$flags_file" ] && compgen -G "$out/*/config.json" >/dev/null; then
  if [ "$(cat "$flags_file")" != "$flags" ]; then
    was=$(tr '\n' ' ' <"$flags_file")
    now=$(printf '%s' "$flags" | tr '\n' ' ')
    usage_error "the runs in $out were trained with '-- ${was% }', not '-- ${now% }'; use another --out (or delete $flags_file if the difference does not change the results)"
  fi
else
  printf '%s' "$flags" >"$flags_file"
  if [ -n "$flags" ]; then echo >>"$flags_file"; fi
fi

# MARK: which cnn-train

if [ -n "$sshloginfile" ] || { [ "$slurm" = 0 ] && [ "${SWEEP_RUNNER:-}" = parallel ]; }; then
  if ! parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
    echo "sweep.sh: error: this needs GNU parallel (apt-get install parallel; brew install parallel)" >&2
    exit 1
  fi
fi
if [ -n "${CNN_TRAIN:-}" ]; then
  cnn=$(command -v "$CNN_TRAIN" || true)
  if [ -z "$cnn" ] || [ ! -x "$cnn" ]; then echo "sweep.sh: error: CNN_TRAIN=$CNN_TRAIN is not an executable" >&2; exit 1; fi
  case $cnn in /*) ;; *) cnn=$PWD/$cnn ;; esac
else
  # The default build is for this machine's CPU (Package.swift: -target-cpu native); --portable builds for
  # the architecture's baseline (CNN_PORTABLE=1) in a build folder of its own, so the two never mix.
  build=(swift build -c release)
  build_env=()
  if [ "$portable" = 1 ]; then build+=(--scratch-path "$repo/.build-portable"); build_env=(CNN_PORTABLE=1); fi
  echo "sweep: building cnn-train (${build_env[*]:+${build_env[*]} }${build[*]} --product cnn-train; a minute or two the first time)" >&2
  build_log=$(mktemp)
  if ! (cd "$repo" && env ${build_env[@]+"${build_env[@]}"} "${build[@]}" --product cnn-train) >"$build_log" 2>&1; then
    tail -n 20 "$build_log" >&2
    echo "sweep.sh: error: the build failed (above; the whole log is $build_log)" >&2
    exit 1
  fi
  rm -f "$build_log"
  cnn=$(cd "$repo" && env ${build_env[@]+"${build_env[@]}"} "${build[@]}" --show-bin-path)/cnn-train
fi
if [ -n "${CNN_TRAIN:-}" ]; then
  built_for="CNN_TRAIN=$CNN_TRAIN (whatever CPU it was built for)"
elif [ "$portable" = 1 ]; then
  built_for="a portable build (CNN_PORTABLE=1: any $(uname -m) CPU)"
else
  built_for="a build for this machine's CPU (-target-cpu native: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || uname -m))"
fi

# MARK: Slurm

if [ "$slurm" = 1 ]; then
  threads=$(flag_value --threads ${pass[@]+"${pass[@]}"})
  threads=${threads:-2}
  {
    echo '#!/usr/bin/env bash'
    echo "# A Slurm job array written by scripts/sweep.sh on $(date '+%Y-%m-%d %H:%M'): one task per combination,"
    echo "# $count in all. Submit it with: sbatch FILE. Options given to sbatch override the #SBATCH lines, e.g."
    echo "#   sbatch --partition=cpu --time=1:00:00 FILE, or sbatch --array=0-$((count - 1))%4 FILE for 4 at a time."
    echo "# A task skips its run if it finished, resumes it from its newest checkpoint if it was stopped, and logs"
    echo "# to the run's train.log; submitting the file again retries whatever did not finish. The nodes need"
    echo "# $repo, $cnn, and $out on a shared file system."
    if [ "$cwd" != "$repo" ]; then echo "# Tasks run in $cwd (relative paths after -- are relative to it)."; fi
    echo "# cnn-train is $built_for."
    echo "#SBATCH --job-name=cnn-sweep"
    echo "#SBATCH --array=0-$((count - 1))"
    echo "#SBATCH --cpus-per-task=$threads"
    echo "#SBATCH --output=$out/slurm-%A_%a.out"
    echo 'set -euo pipefail'
    echo 'runs=('
    echo '  # run directory                      arch  lr  batch size  epochs  seed'
    for ((i = 0; i < count; i++)); do
      printf "  '%s %s %s %s %s %s'\n" "${names[i]}" "${c_arch[i]}" "${c_lr[i]}" "${c_bs[i]}" "${c_epochs[i]}" "${c_seed[i]}"
    done
    echo ')'
    # shellcheck disable=SC2016 # written for the task to expand
    echo 'task=${SLURM_ARRAY_TASK_ID:-}'
    echo 'if ! [[ $task =~ ^[0-9]+$ ]] || [ "$task" -ge "${#runs[@]}" ]; then'
    echo '  echo "$0: error: Slurm array task id '"'"'$task'"'"' is not one of 0-$((${#runs[@]} - 1)), the tasks of this sweep (submit it with sbatch, with --array inside 0-$((${#runs[@]} - 1)))" >&2'
    echo '  exit 64'
    echo 'fi'
    echo 'read -r name arch lr batch_size epochs seed <<<"${runs[task]}"'
    printf 'exec bash %q --worker %q %q %q %q %q' "$self" "$cwd" "$cnn" "$threads" "$out" "${#pass[@]}"
    for a in ${pass[@]+"${pass[@]}"}; do printf ' %q' "$a"; done
    # shellcheck disable=SC2016
    echo ' "$name" "$arch" "$lr" "$batch_size" "$epochs" "$seed"'
  } >"${slurm_out:-/dev/stdout}"
  if [ -n "$slurm_out" ]; then
    chmod +x "$slurm_out"
    echo "sweep: wrote $slurm_out, a Slurm array of $count tasks; submit it with: sbatch $slurm_out" >&2
  fi
  if [ "$portable" = 0 ] && [ -z "${CNN_TRAIN:-}" ]; then
    echo "sweep: note: the tasks run $built_for; on nodes with another CPU it may stop with an illegal instruction: for a mixed cluster, add --portable" >&2
  fi
  exit 0
fi

# MARK: run

cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
threads=$(((2 * cores + jobs) / (2 * jobs)))
if [ "$threads" -lt 1 ]; then threads=1; fi
share="$threads thread$([ "$threads" = 1 ] || echo s) each"
if [ -n "$(flag_value --threads ${pass[@]+"${pass[@]}"})" ]; then share="--threads $(flag_value --threads "${pass[@]}") each"; fi

if [ "${SWEEP_RUNNER:-}" != xargs ] && parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
  runner=parallel
else
  runner="xargs"
fi
if [ -n "$sshloginfile" ]; then runner=parallel; fi

log=$out/sweep.log
status_file=$(mktemp)
trap 'rm -f "$status_file"' EXIT
interrupted=0
trap 'interrupted=1' INT TERM
started=$SECONDS

todo=()
skipped=0
for ((i = 0; i < count; i++)); do
  if [ "$(run_state "$out/${names[i]}" "${c_epochs[i]}" "$target")" = finished ]; then
    skipped=$((skipped + 1))
    say skip "${names[i]}: finished" >>"$log"
  else
    todo+=("$i")
  fi
done
where="$runner, $jobs at a time, $share"
if [ -n "$sshloginfile" ]; then where="GNU parallel over the machines in $sshloginfile, $jobs at a time on each unless its line says N/, $share"; fi
echo "sweep: $count runs in $out: $skipped finished already, ${#todo[@]} to run ($where)" | tee -a "$log"

if [ "${#todo[@]}" -gt 0 ]; then
  echo "sweep: watch with: tail -f $log (or a run's train.log)"
  worker_args=(bash "$self" --worker "$cwd" "$cnn" "$threads" "$out" "${#pass[@]}" ${pass[@]+"${pass[@]}"})
  for i in "${todo[@]}"; do
    printf '%s\0' "${names[i]}" "${c_arch[i]}" "${c_lr[i]}" "${c_bs[i]}" "${c_epochs[i]}" "${c_seed[i]}"
  done | if [ "$runner" = parallel ]; then
    remote=()
    # --retries 2: a job whose machine fails (ssh cannot reach it, or the connection drops) is tried once
    # more on another machine, where the worker resumes its run from the shared folder.
    if [ -n "$sshloginfile" ]; then remote=(--sshloginfile "$sshloginfile" --retries 2); fi
    # GNU parallel runs each job in a process group of its own, which Ctrl-C does not reach: on Ctrl-C it
    # sends the jobs (here or, through its ssh wrapper, there) the signals of --termseq. One SIGINT and time
    # lets cnn-train write a checkpoint and stop; the default (TERM thrice in 350 ms, then KILL) would make
    # it stop at once, without one.
    parallel -0 -N 6 -j "$jobs" --line-buffer --termseq INT,30000,TERM,10000,KILL,25 \
      ${remote[@]+"${remote[@]}"} -q "${worker_args[@]}"
  else
    xargs -0 -n 6 -P "$jobs" "${worker_args[@]}"
  fi | tee -i -a "$log" "$status_file" || true
fi

# The runs whose last status line (a run tried again on another machine has two) has word $1.
count_of() {
  awk -v w="$1" '$2 ~ /^(done|skip|FAILED|stopped|running)$/ { last[$3] = $2 }
    END { for (r in last) if (last[r] == w) n++; print n + 0 }' "$status_file"
}
trained=$(count_of "done") failed=$(count_of FAILED) stopped=$(count_of stopped) running=$(count_of running)
skipped=$((skipped + $(count_of skip)))
missing=$((count - trained - failed - stopped - skipped - running))
summary="sweep: $count runs in $out: $trained trained, $skipped skipped, $failed failed"
if [ "$running" -gt 0 ]; then summary+=", $running running elsewhere"; fi
if [ "$interrupted" = 1 ] && [ "$missing" -gt 0 ]; then
  # GNU parallel does not pass on what its jobs print once it has been interrupted.
  summary+=", $((stopped + missing)) stopped or not started"
elif [ "$stopped" -gt 0 ]; then
  summary+=", $stopped stopped"
fi
if [ "$interrupted" = 0 ] && [ "$missing" -gt 0 ]; then summary+=", $missing not run"; fi
summary+=" ($((SECONDS - started)) s)"
echo "$summary" | tee -a "$log"
if [ "$interrupted" = 1 ] || [ "$stopped" -gt 0 ]; then
  echo "sweep: interrupted; the same command resumes the sweep (each stopped run from its checkpoint)" >&2
  exit 130
fi
if [ "$failed" -gt 0 ] || [ "$missing" -gt 0 ]; then
  echo "sweep: not every run finished (see the FAILED lines above and their train.log); the same command retries them" >&2
  exit 1
fi
if [ "$running" -gt 0 ]; then
  echo "sweep: $running run(s) are being trained by other processes (the running lines above); run the same command once they have ended, to check" >&2
  exit 75
fi
echo "sweep: next: scripts/summarize.sh $out"
