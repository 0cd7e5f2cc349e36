#!/usr/bin/env bash
# scripts/spec-fuzz.sh — the property test of the spec grammar (Tests/TrainingTests/SpecPropertyTests.swift)
# with many more random specs than `swift test` runs: each spec trains a step, fused equal to unfused within
# the fast path's tolerance, or is refused with one line; none traps.
#
#   scripts/spec-fuzz.sh [COUNT [SEED]]     COUNT specs (default 5000) from SEED (default: the time)
#
# Time: about 3–4 specs per second on one core after the test build (COUNT 5000: 20–30 minutes).
# A failure prints the spec, image size, batch and threads; rerun with the same SEED to repeat it.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5000}"
seed="${2:-$(date +%s)}"
echo "spec-fuzz: $count specs from seed $seed"
swift build --build-tests
SPEC_FUZZ_COUNT="$count" SPEC_FUZZ_SEED="$seed" swift test --skip-build --filter SpecPropertyTests
