#!/bin/sh
# Usage: engine_probe.sh ECHO_SERVER ENGINE
# Passes when ECHO_SERVER --engine ENGINE starts on a loopback port; when it cannot start here
# (exit 1), prints its one line and exits 77, which ctest reports as skipped.
server=$1
engine=$2
out=$(mktemp) || exit 1
err=$(mktemp) || exit 1
"$server" --engine "$engine" --bind 127.0.0.1 --port 0 >"$out" 2>"$err" &
pid=$!
i=0
while [ $i -lt 300 ]; do # at most 30 s
  if grep -q '^listening on ' "$out"; then
    kill -TERM "$pid"
    wait "$pid"
    code=$?
    rm -f "$out" "$err"
    echo "engine $engine starts and stops (exit $code)"
    [ "$code" -eq 0 ] && exit 0
    exit 1
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    code=$?
    echo "skipped: engine $engine cannot start here: $(cat "$err")"
    rm -f "$out" "$err"
    [ "$code" -eq 1 ] && exit 77
    exit 1
  fi
  sleep 0.1
  i=$((i + 1))
done
kill -KILL "$pid"
rm -f "$out" "$err"
echo "engine $engine did not say 'listening on' within 30 s"
exit 1
