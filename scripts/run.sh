#!/usr/bin/env bash
# Runs one of the suite's programs, building it first if needed.
# Usage: scripts/run.sh [echo-server|udp-chat|loadgen] [args...]
# With no program it starts the echo server on port 12000: try
#   printf 'hi\n' | nc -q1 127.0.0.1 12000
set -euo pipefail
cd "$(dirname "$0")/.."
program=echo-server
case ${1:-} in
  echo-server|udp-chat|loadgen) program=$1; shift ;;
esac
scripts/setup.sh
if [[ ! -x build/release/bin/$program ]] || [[ -n $(find apps net chat load CMakeLists.txt \
      -newer "build/release/bin/$program" -print -quit 2>/dev/null) ]]; then
  # Only the program asked for: a person waiting for a server need not wait for the test suite.
  [[ -f build/release/CMakeCache.txt ]] || cmake --preset release >/dev/null
  cmake --build --preset release --target "$program" >&2
fi
exec "build/release/bin/$program" "$@"
