#!/usr/bin/env bash
# scripts/fuzz.sh — build one libFuzzer target (with AddressSanitizer) and run it for a while.
#
#   scripts/fuzz.sh TARGET SECONDS     fuzz for SECONDS (e.g. 600); 0 runs the corpus once and stops
#   scripts/fuzz.sh TARGET FILE...     run the target on the given inputs only (reproduce a crash)
#
# TARGET is one of:
#   idx          the gzip + IDX reader (Sources/IDX): IDXArray.parse, LabeledImages, Gzip.decompress
#   safetensors  the safetensors reader (Sources/SafeTensors): SafeTensorsFile.parse, conversions, round trip
#   png          the PNG and PNM readers (Sources/Images: the libspng wrapper, PGM/PPM), with a write and read back
#   jpeg         the JPEG reader (Sources/Images: the TurboJPEG wrapper, the EXIF orientation parser)
#
# Time: the build takes about a minute (swiftc -O over the module's sources), then SECONDS of fuzzing
# on one core.
#
# Why not `swift build`: libFuzzer brings its own main(), which SwiftPM cannot link into an executable
# target. So the module's source files, listed below explicitly, are compiled together with the harness
# scripts/fuzz/TARGET.swift into one program by swiftc. The safetensors and image readers stand on
# Sources/POSIXFile (file reads and atomic writes), whose files join theirs in the one module (their
# `import POSIXFile` is under `#if canImport(POSIXFile)`, which is false there).
#
# Files (all under .build-fuzz/, which git ignores):
#   .build-fuzz/TARGET/fuzz-TARGET         the binary, rebuilt only when a source is newer
#   .build-fuzz/TARGET/corpus/             the growing corpus (seeded from scripts/fuzz/corpus/TARGET/)
#   .build-fuzz/TARGET/run-<time>/log.txt  libFuzzer's output for this run
#   .build-fuzz/TARGET/crashes/            crash-*, leak-*, timeout-*, oom-* inputs (override: FUZZ_CRASHES=DIR)
# A crash input goes into a regression test (Tests/IDXTests, Tests/SafeTensorsTests, Tests/ImagesTests) and, once fixed,
# into scripts/fuzz/corpus/TARGET/ so every later run starts from it.
#
# The last line printed is "fuzz TARGET: <seconds>s, <executions> executions, <outcome>"; the exit
# status is 0 when nothing was found, 1 when libFuzzer found a crash, 2 for a usage or build error.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1
shift

case "$target" in
  idx)
    module=IDX
    sources=(FileBytes Gzip GzipInflater IDXArray+Encoding IDXArray IDXElementType IDXError IDXHeader LabeledImages MNISTFiles)
    dependencies=()
    flags=(-I Sources/CZlib -lz)
    ;;
  safetensors)
    module=SafeTensors
    sources=(AtomicFile DType JSONMembers POSIX SafeTensorsError SafeTensorsFile+Parse SafeTensorsFile+Serialize SafeTensorsFile TensorEntry+Conversion TensorEntry)
    dependencies=(POSIXFile/POSIXFile POSIXFile/POSIXFileError)
    flags=()
    ;;
  png|jpeg)
    module=Images
    sources=(Bitmap EXIFOrientation ImageError ImageFile ImageLimits JPEG PNG PNM)
    dependencies=(POSIXFile/POSIXFile POSIXFile/POSIXFileError)
    flags=(-I Sources/CSPNG -I Sources/CTurboJPEG -lspng -lturbojpeg)
    ;;
  *)
    echo "fuzz.sh: unknown target '$target' (idx, safetensors, png, jpeg)" >&2
    exit 2
    ;;
esac

files=()
for name in "${sources[@]}"; do files+=("Sources/$module/$name.swift"); done
for name in "${dependencies[@]}"; do files+=("Sources/$name.swift"); done
files+=("scripts/fuzz/$target.swift")
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "fuzz.sh: $f is missing; update the source list for '$target' in $0" >&2; exit 2; }
done
# A new file in the module that the list does not name would be missed silently: say so.
for f in Sources/$module/*.swift; do
  name=$(basename "$f" .swift)
  printf '%s\n' "${sources[@]}" | grep -qxF "$name" || echo "fuzz.sh: note: $f is not in the source list for '$target'" >&2
done
if [ ${#dependencies[@]} -gt 0 ]; then
  for f in Sources/POSIXFile/*.swift; do
    printf '%s\n' "${dependencies[@]}" | grep -qxF "POSIXFile/$(basename "$f" .swift)" ||
      echo "fuzz.sh: note: $f is not in the dependency list for '$target'" >&2
  done
fi

dir=.build-fuzz/$target
binary=$dir/fuzz-$target
crashes=${FUZZ_CRASHES:-$dir/crashes}
mkdir -p "$dir/corpus" "$crashes"

# Build (skipped when the binary is newer than every source and this script).
rebuild=0
[ -x "$binary" ] || rebuild=1
for f in "${files[@]}" "$0"; do [ "$f" -nt "$binary" ] && rebuild=1; done
if [ $rebuild = 1 ]; then
  echo "building $binary" >&2
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
    -module-name "Fuzz$module" \
    "${files[@]}" \
    "${flags[@]}" \
    -o "$binary"
fi

libfuzzer_flags=(
  -print_final_stats=1
  -timeout=10               # seconds for one input before it counts as a hang
  -rss_limit_mb=1024
  -malloc_limit_mb=128      # a single allocation this large from a small input is a bug
  -max_len=8192
  -artifact_prefix="$crashes/"
)

# Reproduce: run the given files once each.
if [ -f "$1" ]; then
  exec "$binary" "${libfuzzer_flags[@]}" "$@"
fi

seconds=$1
case "$seconds" in *[!0-9]*|'') usage ;; esac
run=$dir/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$run"
before=$(find "$crashes" -type f | wc -l)
if [ "$seconds" = 0 ]; then
  limit=(-runs=0)
else
  limit=(-max_total_time="$seconds")
fi
echo "fuzzing $target for ${seconds}s; log in $run/log.txt, crashes in $crashes/" >&2
start=$(date +%s)
set +e
"$binary" "${libfuzzer_flags[@]}" "${limit[@]}" "$dir/corpus" "scripts/fuzz/corpus/$target" >"$run/log.txt" 2>&1
status=$?
set -e
elapsed=$(( $(date +%s) - start ))

executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$run/log.txt" | grep -o '[0-9]*$' | tail -1 || true)
[ -n "$executions" ] || executions=$(grep -o 'Done [0-9]* runs' "$run/log.txt" | grep -o '[0-9]*' | tail -1 || true)
[ -n "$executions" ] || executions=$(grep -o '^#[0-9]*' "$run/log.txt" | tr -d '#' | tail -1 || true)
corpus=$(find "$dir/corpus" -type f | wc -l)
after=$(find "$crashes" -type f | wc -l)
tail -n 25 "$run/log.txt" >&2
if [ $status = 0 ]; then
  outcome="no crash (corpus $corpus inputs)"
else
  new=$(find "$crashes" -type f -newer "$run" | head -5 | tr '\n' ' ')
  outcome="FAILED with status $status: $((after - before)) new input(s) in $crashes/: ${new:-see $run/log.txt}"
fi
echo "fuzz $target: ${elapsed}s, ${executions:-?} executions, $outcome"
[ $status = 0 ] || exit 1
