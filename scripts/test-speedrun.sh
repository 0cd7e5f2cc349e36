#!/usr/bin/env bash
# End-to-end check of scripts/speedrun.sh on tiny runs: two seeds of the speedrun recipe cut to 512
# training images and one epoch, ours and (when TORCH_PYTHON or python3 has torch) PyTorch's. Checks the
# table (a row per seed with accuracies and seconds, mean, min, median, the time-to-accuracy lines, the
# --timings medians), summary.json, and that both sides left their models. About 20 seconds after the
# release build (a minute with PyTorch). Prints "N passed, N failed"; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d /tmp/test-speedrun.XXXXXX)
passed=0 failed=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $what" >&2; fi
}

python=${TORCH_PYTHON:-python3}
torch_flag=--no-torch
"$python" -c 'import torch' 2>/dev/null && torch_flag=""
scripts/speedrun.sh 2 $torch_flag --out "$out" -- --limit 512 --epochs 1 > "$out/table.txt" 2> "$out/stderr.txt"
status=$?
cat "$out/table.txt"

check "speedrun.sh exits 0" test "$status" = 0
for s in 1 2; do
  check "a row for seed $s" grep -Eq "^ +$s +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2} " "$out/table.txt"
  check "our model for seed $s" test -s "$out/ours-$s/model.safetensors"
  check "our config.json names the recipe" grep -q '"recipe" : "speedrun"' "$out/ours-$s/config.json"
  if [ -z "$torch_flag" ]; then
    check "PyTorch's model for seed $s" test -s "$out/torch-$s/model.pt"
    check "PyTorch's accuracy for seed $s" grep -Eq "^ +$s +[0-9.]+ +[0-9.]+ +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2}$" "$out/table.txt"
  fi
done
for line in "^  mean" "^   min" "^median" "^  99.0%" "^  99.3%" "^  99.5%" "^our --timings, medians: start up"; do
  check "the table has '$line'" grep -Eq "$line" "$out/table.txt"
done
check "summary.json parses, with medians and timings" python3 -c "
import json, sys
s = json.load(open('$out/summary.json'))
assert 0 < s['ours']['median']['accuracy'] <= 1 and s['ours']['median']['seconds'] > 0
assert set(s['timings']) == {'start_up', 'data_load', 'training', 'evaluation', 'writing', 'total'}
assert abs(sum(v for k, v in s['timings'].items() if k != 'total') - s['timings']['total']) < 0.05
"
check "a bad seed count is refused with status 64" bash -c "scripts/speedrun.sh 0 --no-torch; test \$? = 64"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && rm -rf "$out"
[ "$failed" = 0 ]
