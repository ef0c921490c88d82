#!/usr/bin/env bash
# Runs scripts/scale_out.sh --quick against the built programs and checks its verdicts: every
# backend got a share through HAProxy, the killed one was seen DOWN, and the loadgen run started
# after that had connect_failures=0 and gave the killed backend no session. Skips (exit 77, with
# the reason) where haproxy is missing and cannot be installed.
# Usage: scale_out_test.sh SCRIPT BIN_DIR
set -uo pipefail
script=$1 bin_dir=$2

if ! command -v haproxy >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null 2>&1
fi
if ! command -v haproxy >/dev/null; then
  echo "SKIPPED: haproxy is not installed and could not be (scripts/setup.sh installs it)"
  exit 77
fi

output=$(timeout 300 "$script" --quick --bin-dir "$bin_dir" 2>&1)
code=$?
echo "$output"
fail() { echo "FAILED: $1"; exit 1; }
((code == 0)) || fail "scale_out.sh exited $code"

shares=$(grep -m1 '^  sessions per backend:' <<<"$output") || fail "no share line"
for backend in echo1 echo2 echo3; do
  [[ $shares =~ " $backend="([0-9]+) ]] && ((BASH_REMATCH[1] > 0)) ||
    fail "$backend got no share: $shares"
done
down_line=$(grep -n -m1 -E '^  echo3 DOWN in HAProxy [0-9]+ ms after the kill$' <<<"$output") ||
  fail "no DOWN detection line"
after_line=$(grep -n -m1 'connect_failures=0 loadgen exit 0$' <<<"$output") ||
  fail "no connect_failures=0 after DOWN"
((${after_line%%:*} > ${down_line%%:*})) || fail "connect_failures=0 is not after the DOWN line"
grep -q -E '^  new sessions per backend: echo1=[1-9][0-9]* echo2=[1-9][0-9]* echo3=0$' \
  <<<"$output" || fail "new sessions were not only on the survivors"
echo "PASSED"
