#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test that can run here.
# Usage: scripts/test.sh [--sanitizers] [--fuzz]
#   --sanitizers  also build and run the whole suite under ASan+UBSan and under TSan
#   --fuzz        also run each libFuzzer target briefly on its seed corpus
# CI (.ci/run) runs it with both. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=false
fuzz=false
for arg in "$@"; do
  case $arg in
    --sanitizers) sanitizers=true ;;
    --fuzz) fuzz=true ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
start=$(date +%s)

run_preset() {
  local preset=$1
  echo "== $preset: build" >&2
  scripts/build.sh "$preset"
  echo "== $preset: test" >&2
  # Tests run two at a time: they are I/O bound, and the machine has 2 cores.
  ctest --preset "$preset" --parallel 2
}

run_preset release
if $sanitizers; then
  run_preset asan
  run_preset tsan
fi
if $fuzz && [[ -x scripts/fuzz.sh ]]; then
  scripts/fuzz.sh --ci
fi
echo "test.sh: all passed in $(( $(date +%s) - start ))s" >&2
