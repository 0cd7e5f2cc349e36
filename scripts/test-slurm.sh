#!/usr/bin/env bash
# scripts/test-slurm.sh: scripts/sweep.sh --slurm on a real single-node Slurm cluster, started for the test.
#
# As root: installs Debian's slurm-wlm and munge when missing (apt-get), writes a one-node slurm.conf on
# loopback and a munge key in a temporary folder (nothing under /etc is read or written), starts munged,
# slurmctld and slurmd there, then:
#   1. submits a 2x2 sweep (--portable, conv4k5-relu-pool2-fc10, 2 epochs on 600 images) as an sbatch job
#      array, waits, and checks that every combination finished exactly once; the same array again skips
#      all four;
#   2. submits a one-run array (2 epochs on 3000 images, a checkpoint every 5 steps), scancels it once it
#      is past step 5 of its first epoch, resubmits it, and checks that the run resumed from its checkpoint
#      and that model.safetensors is, byte for byte, that of the same run made without Slurm;
#   3. submits a task for a run that a cnn-train outside Slurm is training (held with SIGSTOP): the task
#      ends with status 75 and the line "DIR is being trained by PID on HOST since TIME";
#   4. stops every daemon it started (by their pid files) and checks that none is left and that /etc/slurm
#      and /etc/munge are as they were.
#
# Time: the packages install in about a minute the first time; the portable release build of cnn-train
# (in .build-portable/) takes minutes the first time, seconds after; then about a minute of tests.
#
# Usage: scripts/test-slurm.sh          (as root; KEEP=1 keeps the temporary folder)
# Prints "ok"/"FAIL" per check and last "N passed, N failed"; exits 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
. scripts/checks.sh

if [ "$(id -u)" != 0 ]; then
  fail "test-slurm.sh must run as root (it installs packages and runs slurmd as root)"
  finish
fi

# MARK: packages

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  echo "installing slurm-wlm and munge (apt-get; about a minute)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; } >/tmp/test-slurm-apt.log 2>&1; then
    fail "apt-get install slurm-wlm munge" "$(tail -n 20 /tmp/test-slurm-apt.log)"
    finish
  fi
fi
etc_before=$(find /etc/slurm /etc/munge -type f -exec md5sum {} + 2>/dev/null | sort)

# MARK: the cluster

tmp=$(mktemp -d /tmp/test-slurm.XXXXXX)
chmod 755 "$tmp"
conf=$tmp/slurm.conf
export SLURM_CONF=$conf
node=$(hostname -s)
daemons=(munged slurmctld slurmd)

# Stops the daemons by their pid files (TERM, then KILL after 10 s) and cancels what is left of our jobs.
stop_cluster() {
  local name pid i
  if [ -f "$tmp/slurmctld.pid" ]; then scancel --quiet --user=root >/dev/null 2>&1 || true; fi
  for name in slurmd slurmctld munged; do
    [ -f "$tmp/$name.pid" ] || continue
    pid=$(cat "$tmp/$name.pid")
    kill -TERM "$pid" 2>/dev/null || continue
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
cleanup() {
  stop_cluster
  if [ -n "${holder:-}" ]; then kill -KILL "$holder" 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then echo "(kept $tmp)"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

mkdir -p "$tmp/munge" "$tmp/spool" "$tmp/state"
chmod 700 "$tmp/munge"
head -c 1024 /dev/urandom >"$tmp/munge/munge.key"
chmod 400 "$tmp/munge/munge.key"
socket=$tmp/munge/munge.socket
if ! munged --key-file="$tmp/munge/munge.key" --socket="$socket" --pid-file="$tmp/munged.pid" \
  --log-file="$tmp/munged.log" --seed-file="$tmp/munge/munged.seed" --force >"$tmp/munged.out" 2>&1; then
  fail "munged starts" "$(cat "$tmp/munged.out" "$tmp/munged.log" 2>/dev/null)"
  finish
fi

# Two free ports on loopback for slurmctld and slurmd.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
cat >"$conf" <<EOF
# A one-node cluster on loopback for scripts/test-slurm.sh; every path is in $tmp.
ClusterName=cnntest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
PlugStackConfig=$tmp/plugstack.conf
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmdSpoolDir=$tmp/spool
StateSaveLocation=$tmp/state
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=30
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
: >"$tmp/plugstack.conf"
if ! slurmctld >"$tmp/slurmctld.out" 2>&1 || ! slurmd >"$tmp/slurmd.out" 2>&1; then
  fail "slurmctld and slurmd start" "$(cat "$tmp"/slurm*.out "$tmp/slurmctld.log" "$tmp/slurmd.log" 2>/dev/null)"
  finish
fi
state=""
for _ in $(seq 1 300); do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null | head -n 1)
  [ "$state" = idle ] && break
  sleep 0.1
done
if [ "$state" = idle ]; then
  ok "munged, slurmctld and slurmd started; sinfo shows $node idle ($(nproc) CPUs)"
else
  fail "the node becomes idle (sinfo says '${state:-nothing}')" "$(tail -n 10 "$tmp/slurmctld.log" "$tmp/slurmd.log" 2>/dev/null)"
  finish
fi

# MARK: 1. an array, every combination once

sweep=scripts/sweep.sh
out=$tmp/sweep
grid=(--arch conv4k5-relu-pool2-fc10 --lr 0.05,0.1 --seeds 1,2 --epochs 2)
status=0
$sweep --out "$out" "${grid[@]}" --slurm --portable --slurm-out "$tmp/array.sbatch" -- --limit 600 --threads 1 \
  >"$tmp/write.txt" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then fail "sweep.sh --slurm --portable writes the array" "$(cat "$tmp/write.txt")"; finish; fi
ok "sweep.sh --slurm --portable writes a 4-task array (building .build-portable as needed)"
bin=$(grep -o "$repo/.build-portable/[^ ]*/cnn-train" "$tmp/array.sbatch" | head -n 1)
check "the array runs the portable cnn-train" test -x "$bin"
if command -v objdump >/dev/null; then
  avx=$(objdump -d --no-show-raw-insn "$bin" | grep -c '%[yz]mm' || true)
  check "the portable cnn-train uses no AVX register (objdump: $avx)" test "$avx" -eq 0
fi

# Submits sbatch file $1 and waits until its job has left the queue (polling squeue, which notices sooner
# than sbatch --wait); prints the job id. Its status: 0 when every task exited 0.
submit_and_wait() {
  local id codes
  id=$(sbatch --parsable "$1") || return 1
  for _ in $(seq 1 3000); do [ -z "$(squeue -h -j "$id" 2>/dev/null)" ] && break; sleep 0.2; done
  echo "$id"
  codes=$(scontrol show job "$id" 2>/dev/null | grep -o 'ExitCode=[0-9]*' | sort -u)
  [ "$codes" = ExitCode=0 ]
}

names=()
for lr in 0.05 0.1; do for seed in 1 2; do names+=("arch=conv4k5-relu-pool2-fc10,lr=$lr,bs=64,ep=2,seed=$seed"); done; done
t0=$SECONDS
job=$(submit_and_wait "$tmp/array.sbatch" 2>"$tmp/sbatch1.err")
status=$?
# What the tasks of job $2 printed (sweep.sh puts Slurm's output files in the sweep's folder $1).
outs() { cat "$1"/slurm-"$2"_*.out 2>/dev/null; }
if [ "$status" -eq 0 ]; then
  ok "sbatch: array $job of 4 tasks ended in $((SECONDS - t0)) s, every task with status 0"
else
  fail "sbatch: array ${job:-?} ended, every task with status 0" "$(cat "$tmp/sbatch1.err"; outs "$out" "$job")"
fi
once=0
for n in "${names[@]}"; do
  trained=$(outs "$out" "$job" | grep -c "^[0-9:]* done    $n: test accuracy")
  starts=$(grep -c '^== .*sweep.sh on ' "$out/$n/train.log" 2>/dev/null)
  epochs=$(grep -c '"epoch"' "$out/$n/metrics.jsonl" 2>/dev/null)
  if [ "$trained" = 1 ] && [ "$starts" = 1 ] && [ "$epochs" = 2 ] && [ -f "$out/$n/model.safetensors" ]; then once=$((once + 1)); fi
done
if [ "$once" -eq 4 ]; then
  ok "every combination trained exactly once (one done line, one start in train.log, 2 epochs in metrics.jsonl, a model)"
else
  fail "every combination trained exactly once ($once of 4)" "$(outs "$out" "$job")"
fi
job2=$(submit_and_wait "$tmp/array.sbatch" 2>/dev/null)
if [ "$(outs "$out" "$job2" | grep -c '^[0-9:]* skip    .*: finished')" -eq 4 ] && [ "$(cat "$out"/*/train.log | grep -c '^== ')" -eq 4 ]; then
  ok "the same array again skips all 4 and trains nothing"
else
  fail "the same array again skips all 4 and trains nothing" "$(outs "$out" "$job2")"
fi

# MARK: 2. scancel mid-epoch, resubmit, the same bytes

out2=$tmp/cancel
name2=arch=conv4k5-relu-pool2-fc10,lr=0.05,bs=64,ep=2,seed=1
flags2=(--limit 3000 --checkpoint-every 5 --threads 1)
$sweep --out "$out2" --arch conv4k5-relu-pool2-fc10 --lr 0.05 --seeds 1 --epochs 2 --slurm --portable \
  --slurm-out "$tmp/cancel.sbatch" -- "${flags2[@]}" >/dev/null 2>&1
reference=$tmp/reference
"$bin" --out "$reference" --arch conv4k5-relu-pool2-fc10 --lr 0.05 --batch-size 64 --epochs 2 --seed 1 \
  "${flags2[@]}" --quiet >"$tmp/reference.txt" 2>&1 &
reference_pid=$!
job3=$(sbatch --parsable "$tmp/cancel.sbatch")
for _ in $(seq 1 1200); do [ -f "$out2/$name2/checkpoints/step-00000005.safetensors" ] && break; sleep 0.05; done
scancel "$job3"
for _ in $(seq 1 600); do [ -z "$(squeue -h -j "$job3" 2>/dev/null)" ] && break; sleep 0.1; done
stop_line=$(grep -h 'stopped by' "$out2/$name2/train.log" 2>/dev/null | tail -n 1)
if [[ $stop_line == *"stopped by SIGTERM after writing $out2/$name2/checkpoints/step-"* ]] && [ ! -e "$out2/$name2/checkpoints/epoch-0001.safetensors" ]; then
  ok "scancel mid-epoch: '${stop_line#cnn-train: }'"
else
  fail "scancel mid-epoch stops the run with a checkpoint inside epoch 1" "$(tail -n 5 "$out2/$name2/train.log"; outs "$out2" "$job3")"
fi
job4=$(submit_and_wait "$tmp/cancel.sbatch" 2>/dev/null)
wait "$reference_pid"
if outs "$out2" "$job4" | grep -q "start   $name2: resume on " && grep -q "resuming from $out2/$name2/checkpoints/step-" "$out2/$name2/train.log"; then
  ok "the resubmitted array resumed the run from its checkpoint"
else
  fail "the resubmitted array resumed the run from its checkpoint" "$(outs "$out2" "$job4"; tail -n 5 "$out2/$name2/train.log")"
fi
if cmp -s "$out2/$name2/model.safetensors" "$reference/model.safetensors"; then
  ok "the cancelled and resumed run's model.safetensors is the uninterrupted run's, byte for byte ($(cksum <"$reference/model.safetensors" | cut -d' ' -f1))"
else
  fail "the cancelled and resumed run's model.safetensors is the uninterrupted run's" "$(cmp "$out2/$name2/model.safetensors" "$reference/model.safetensors" 2>&1)"
fi

# MARK: 3. a task for a run that another process trains

out3=$tmp/locked
$sweep --out "$out3" --arch conv4k5-relu-pool2-fc10 --lr 0.05 --seeds 1 --epochs 2 --slurm --portable \
  --slurm-out "$tmp/locked.sbatch" -- "${flags2[@]}" >/dev/null 2>&1
mkdir -p "$out3/$name2"
"$bin" --out "$out3/$name2" --arch conv4k5-relu-pool2-fc10 --lr 0.05 --batch-size 64 --epochs 2 --seed 1 \
  "${flags2[@]}" --quiet >"$tmp/holder.txt" 2>&1 &
holder=$!
for _ in $(seq 1 4000); do [ -f "$out3/$name2/config.json" ] && break; sleep 0.005; done
kill -STOP "$holder"
job5=$(submit_and_wait "$tmp/locked.sbatch" 2>/dev/null)
line=$(outs "$out3" "$job5")
exit_code=$(scontrol show job "$job5" 2>/dev/null | grep -o 'ExitCode=[0-9:]*' | head -n 1)
if [ "$exit_code" = ExitCode=75:0 ] && [[ $line == *"running elsewhere: $out3/$name2 is being trained by $holder on "*" since 20"* ]]; then
  ok "a task for a run being trained ends with status 75: '$(printf '%s' "$line" | cut -c1-60)...is being trained by $holder on ...'"
else
  fail "a task for a run being trained ends with status 75 (${exit_code:-no ExitCode}) and the message" "$line"
fi
check "... and left the run alone (no second start in its train.log)" test ! -e "$out3/$name2/train.log"
kill -KILL "$holder"
wait "$holder" 2>/dev/null
holder=""

# MARK: 4. nothing left behind

pids=()
for d in "${daemons[@]}"; do [ -f "$tmp/$d.pid" ] && pids+=("$(cat "$tmp/$d.pid")"); done
stop_cluster
left=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
check "every daemon it started has stopped (${#pids[@]} pids)" test "$left" -eq 0 -a "${#pids[@]}" -eq 3
etc_after=$(find /etc/slurm /etc/munge -type f -exec md5sum {} + 2>/dev/null | sort)
check "/etc/slurm and /etc/munge are as they were" test "$etc_before" = "$etc_after"
finish
