#!/usr/bin/env bash
# scripts/test-ssh-sweep.sh: scripts/sweep.sh --sshloginfile through GNU parallel over real ssh.
#
# As root: installs openssh-server and parallel when missing (apt-get), makes a throwaway host key, user
# key, authorized_keys, sshd_config and ssh_config in a temporary folder, and starts two sshd, one on
# 127.0.0.1 and one on 127.0.0.2 (the same free port), as two "hosts" in an --sshloginfile (one run at a
# time on each; GNU parallel reaches them with PARALLEL_SSH="ssh -F that ssh_config"). Nothing outside
# the temporary folder is touched but /run/sshd, which sshd needs (made only when missing, then removed).
# Then:
#   1. sweeps a 2x2 grid (conv4k5-relu-pool2-fc10, 2 epochs on 3000 images, a checkpoint every 5 steps)
#      into a folder both hosts share, and once 127.0.0.2's run has a checkpoint, kills that host: its
#      sshd, its sessions and the cnn-train they run (SIGKILL, as a lost node). GNU parallel tries the
#      jobs that failed there once more on the other host (the sweep's --retries 2);
#   2. runs the same command again, with 127.0.0.2 still down; then checks that every run finished exactly
#      once (one done line in the two sweeps, 2 epochs in metrics.jsonl), and that the interrupted one
#      resumed from its checkpoint and ends with the model, byte for byte, of the same run made in one go
#      (over ssh too: OpenBLAS picks its kernels from the environment, e.g. OPENBLAS_CORETYPE);
#   3. stops the sshd it started and checks that none is left.
#
# Time: the packages install in seconds to a minute the first time; the release build of cnn-train
# (seconds when up to date); then about a minute.
#
# Usage: scripts/test-ssh-sweep.sh     (as root; KEEP=1 keeps the temporary folder; CNN_TRAIN=PATH uses it)
# Prints "ok"/"FAIL" per check and last "N passed, N failed"; exits 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/checks.sh

if [ "$(id -u)" != 0 ]; then
  fail "test-ssh-sweep.sh must run as root (it starts sshd and logs in as root)"
  finish
fi

# MARK: packages and binaries

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null || ! parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
  echo "installing openssh-server and parallel (apt-get)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client parallel; } >/tmp/test-ssh-apt.log 2>&1; then
    fail "apt-get install openssh-server parallel" "$(tail -n 20 /tmp/test-ssh-apt.log)"
    finish
  fi
fi
if [ -z "${CNN_TRAIN:-}" ]; then
  if ! swift build -c release --product cnn-train >/tmp/test-ssh-build.log 2>&1; then
    fail "swift build -c release --product cnn-train" "$(tail -n 20 /tmp/test-ssh-build.log)"
    finish
  fi
  CNN_TRAIN=$(swift build -c release --show-bin-path)/cnn-train
fi
export CNN_TRAIN

# MARK: two hosts

tmp=$(mktemp -d /tmp/test-ssh-sweep.XXXXXX)
chmod 755 "$tmp"
made_run_sshd=0
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && chmod 755 /run/sshd && made_run_sshd=1; fi

# The sshd listening on 127.0.0.$1 and every process under it (its sessions and what they run), leaves first.
sshd_tree() {
  local pid
  pid=$(cat "$tmp/sshd-$1.pid" 2>/dev/null) || return 0
  ps -e -o pid=,ppid= | awk -v root="$pid" '
    { parent[$1] = $2 }
    END {
      for (p in parent) { q = p; while (q in parent && q != root && q > 1) q = parent[q]; if (q == root && p != root) print p }
      print root
    }'
}
cleanup() {
  local h p
  for h in 1 2; do for p in $(sshd_tree "$h"); do kill -KILL "$p" 2>/dev/null; done; done
  if [ "$made_run_sshd" = 1 ]; then rmdir /run/sshd 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then echo "(kept $tmp)"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key" -C test-ssh-sweep-host
ssh-keygen -q -t ed25519 -N '' -f "$tmp/user_key" -C test-ssh-sweep-user
cp "$tmp/user_key.pub" "$tmp/authorized_keys"
port=
while [ -z "$port" ]; do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.2/$p") 2>/dev/null; then port=$p; fi
done
for h in 1 2; do
  cat >"$tmp/sshd_config-$h" <<EOF
Port $port
ListenAddress 127.0.0.$h
HostKey $tmp/host_key
AuthorizedKeysFile $tmp/authorized_keys
PidFile $tmp/sshd-$h.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 50
MaxSessions 50
EOF
  if ! /usr/sbin/sshd -f "$tmp/sshd_config-$h" -E "$tmp/sshd-$h.log"; then
    fail "sshd on 127.0.0.$h:$port starts" "$(cat "$tmp/sshd-$h.log")"
    finish
  fi
done
cat >"$tmp/ssh_config" <<EOF
Host 127.0.0.1 127.0.0.2
  Port $port
  User root
  IdentityFile $tmp/user_key
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile $tmp/known_hosts
  LogLevel ERROR
  ConnectTimeout 5
EOF
export PARALLEL_SSH="ssh -F $tmp/ssh_config"
printf '%s\n' 1/127.0.0.1 1/127.0.0.2 >"$tmp/hosts"
for _ in $(seq 1 50); do [ -f "$tmp/sshd-2.pid" ] && break; sleep 0.1; done
logins=0
for h in 1 2; do
  [ "$($PARALLEL_SSH 127.0.0.$h 'echo $SSH_CONNECTION' 2>"$tmp/ssh-$h.err" | awk '{ print $3 }')" = "127.0.0.$h" ] && logins=$((logins + 1))
done
if [ "$logins" = 2 ]; then ok "sshd on 127.0.0.1:$port and 127.0.0.2:$port, key login to both"; else fail "key login to both hosts" "$(cat "$tmp"/ssh-*.err "$tmp"/sshd-*.log)"; finish; fi

# MARK: 1. a sweep, one host killed halfway

out=$tmp/shared
names=()
for lr in 0.05 0.1; do for seed in 1 2; do names+=("arch=conv4k5-relu-pool2-fc10,lr=$lr,bs=64,ep=2,seed=$seed"); done; done
sweep_command=(scripts/sweep.sh --out "$out" --arch conv4k5-relu-pool2-fc10 --lr 0.05,0.1 --seeds 1,2 --epochs 2
  --sshloginfile "$tmp/hosts" -- --limit 3000 --checkpoint-every 5 --threads 1)
t0=$SECONDS
"${sweep_command[@]}" >"$tmp/sweep1.txt" 2>&1 &
sweep_pid=$!
# The run of 127.0.0.2: the --out or --resume of a cnn-train under its sshd.
victim=""
for _ in $(seq 1 3000); do
  if [ -z "$victim" ]; then
    for p in $(sshd_tree 2); do
      args=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")
      case $args in *cnn-train*--out\ *) victim=${args#*--out }; victim=${victim%% *} ;; esac
    done
  fi
  if [ -n "$victim" ] && compgen -G "$victim/checkpoints/step-*.state.safetensors" >/dev/null; then break; fi
  sleep 0.02
done
killed=0
pid2=$(cat "$tmp/sshd-2.pid")
for p in $(sshd_tree 2); do kill -KILL "$p" 2>/dev/null && killed=$((killed + 1)); done
rm -f "$tmp/sshd-2.pid"
unfinished=0
if [ -n "$victim" ] && [ ! -f "$victim/model.safetensors" ]; then unfinished=1; fi
wait "$sweep_pid"
status1=$?
victim_name=$(basename "${victim:-none}")
if [ "$unfinished" = 1 ] && [ "$killed" -ge 3 ]; then
  ok "127.0.0.2 killed with $victim_name halfway ($killed processes: sshd, its sessions, cnn-train); the sweep exits $status1 ($((SECONDS - t0)) s)"
else
  fail "127.0.0.2 killed halfway through a run (victim '${victim_name}', $killed processes, sweep status $status1)" "$(cat "$tmp/sweep1.txt")"
fi

# MARK: 2. the same command again

t0=$SECONDS
status2=0
"${sweep_command[@]}" >"$tmp/sweep2.txt" 2>&1 || status2=$?
if [ "$status2" -eq 0 ] && grep -q '^sweep: 4 runs in .*0 failed' "$tmp/sweep2.txt"; then
  ok "the same command again finishes the sweep with 127.0.0.2 down ($((SECONDS - t0)) s): $(grep '^sweep: 4 runs' "$tmp/sweep2.txt" | tail -n 1 | sed 's/^sweep: 4 runs in [^:]*: //')"
else
  fail "the same command again finishes the sweep (status $status2)" "$(cat "$tmp/sweep2.txt")"
fi
once=0
for n in "${names[@]}"; do
  done_lines=$(cat "$tmp/sweep1.txt" "$tmp/sweep2.txt" | grep -c "^[0-9:]* done    $n: ")
  epochs=$(grep -c '"epoch"' "$out/$n/metrics.jsonl" 2>/dev/null)
  if [ "$done_lines" = 1 ] && [ "$epochs" = 2 ] && [ -f "$out/$n/model.safetensors" ]; then once=$((once + 1)); fi
done
if [ "$once" = 4 ]; then ok "every run finished exactly once (one done line in the two sweeps, 2 epochs in metrics.jsonl)"; else fail "every run finished exactly once ($once of 4)" "$(cat "$tmp/sweep1.txt" "$tmp/sweep2.txt")"; fi
if cat "$tmp/sweep1.txt" "$tmp/sweep2.txt" | grep -q "start   $victim_name: resume on " && grep -q "resuming from $victim/checkpoints/" "$victim/train.log" 2>/dev/null; then
  ok "the interrupted run resumed from its checkpoint: $(grep -o "resuming from .*" "$victim/train.log" | tail -n 1 | sed "s|$out/||")"
else
  fail "the interrupted run resumed from its checkpoint" "$(cat "$tmp/sweep2.txt"; tail -n 5 "$victim/train.log" 2>/dev/null)"
fi
lr=${victim_name#*lr=}; lr=${lr%%,*}
seed=${victim_name##*seed=}
# The reference runs over ssh too, in the environment the sweep's runs had: OpenBLAS picks its kernels from
# the CPU and the environment (OPENBLAS_CORETYPE), and another kernel changes the last bits.
$PARALLEL_SSH 127.0.0.1 "cd $(printf '%q' "$PWD") && $(printf '%q' "$CNN_TRAIN") --out $(printf '%q' "$tmp/reference") \
  --arch conv4k5-relu-pool2-fc10 --lr $lr --batch-size 64 --epochs 2 --seed $seed --limit 3000 --checkpoint-every 5 \
  --threads 1 --quiet" >"$tmp/reference.txt" 2>&1
if cmp -s "$victim/model.safetensors" "$tmp/reference/model.safetensors"; then
  ok "its model.safetensors is the uninterrupted run's, byte for byte"
else
  fail "its model.safetensors is the uninterrupted run's" "$(cmp "$victim/model.safetensors" "$tmp/reference/model.safetensors" 2>&1)"
fi

# MARK: 3. nothing left

pid1=$(cat "$tmp/sshd-1.pid" 2>/dev/null)
for p in $(sshd_tree 1); do kill -TERM "$p" 2>/dev/null; done
for _ in $(seq 1 50); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.1; done
left=0
for p in "$pid1" "$pid2"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
rm -f "$tmp/sshd-1.pid"
check "both sshd have stopped" test "$left" -eq 0
finish
