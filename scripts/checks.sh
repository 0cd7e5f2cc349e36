# Sourced by the test-*.sh scripts after they cd to the repository: `--help` prints the calling script's
# header comment; then the check counters and their functions:
#   ok DESCRIPTION · fail DESCRIPTION [OUTPUT] (the last 15 lines of OUTPUT, indented) ·
#   check DESCRIPTION COMMAND... (passes when the command succeeds) ·
#   finish (the seconds taken and "N passed, N failed"; exits 1 when a check failed).
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 0
fi

passed=0 failed=0
started=$SECONDS
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; if [ $# -gt 1 ]; then printf '%s\n' "$2" | sed 's/^/     | /' | tail -n 15; fi; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
finish() { echo "($((SECONDS - started)) s)"; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
