#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time, starting from its checked-in seed corpus.
# Usage: scripts/fuzz.sh [--seconds N] [--ci] [target...]
#   --seconds N  time per target (default 60)
#   --ci         short run for CI (15 s per target)
# New inputs go to fuzz-out/corpus/<target>/ (git-ignored); the checked-in corpus in
# fuzz/corpus/<target>/ is read only. A crash leaves its input in fuzz-out/artifacts/ and makes
# the script exit non-zero. Each target's last line (executions, coverage) is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --ci) seconds=15; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

scripts/setup.sh
if [[ ! -f build/fuzz/CMakeCache.txt ]]; then cmake --preset fuzz >/dev/null; fi
cmake --build --preset fuzz --parallel "$(nproc)" >&2

if ((${#targets[@]} == 0)); then
  for binary in build/fuzz/bin/*_fuzzer; do targets+=("$(basename "$binary" _fuzzer)"); done
fi

mkdir -p fuzz-out/artifacts
failed=0
for target in "${targets[@]}"; do
  binary=build/fuzz/bin/${target}_fuzzer
  seeds=fuzz/corpus/$target
  work=fuzz-out/corpus/$target
  mkdir -p "$work"
  log=fuzz-out/$target.log
  echo "== fuzz $target for ${seconds}s" >&2
  if "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
       -artifact_prefix=fuzz-out/artifacts/"$target"- "$work" "$seeds" >"$log" 2>&1; then
    grep -E '^Done [0-9]+ runs' "$log" | sed "s/^/$target: /" || true
    grep -E '#[0-9]+ +(DONE|pulse|NEW)' "$log" | tail -1 | sed "s/^/$target: /" || true
  else
    echo "fuzz.sh: $target FAILED; see $log and fuzz-out/artifacts/" >&2
    tail -30 "$log" >&2
    failed=1
  fi
done
exit $failed
