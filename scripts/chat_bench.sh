#!/usr/bin/env bash
# Delivery-receipt round trips between two udp-chats on 127.0.0.1 (--receipts always, no
# discovery, no log): types N messages into one at a bounded pace and prints the round trip of
# the receipts (p50, p99, max, from its "delivered #N ... in X ms" lines) and how many were
# delivered and not delivered. A benchmark prints figures; it does not judge them.
#
# Usage: scripts/chat_bench.sh [-n N] [--rate R] [--bin-dir DIR]
#   -n N          messages (default 2000)
#   --rate R      messages typed per second (default 1000; batches of 10)
#   --bin-dir DIR use the udp-chat in DIR instead of building build/release
# Traffic goes to 127.0.0.1 only; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

count=2000
rate=1000
bin_dir=""
while (($#)); do
  case $1 in
    -n) count=${2:?}; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --bin-dir) bin_dir=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "chat_bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
usage_error() {
  echo "chat_bench.sh: $1 (try --help)" >&2
  exit 2
}
[[ $count =~ ^[1-9][0-9]{0,6}$ ]] || usage_error "bad -n '$count'"
[[ $rate =~ ^[1-9][0-9]{0,5}$ ]] || usage_error "bad --rate '$rate'"
if [[ -z $bin_dir ]]; then
  cmake --build build/release --target udp-chat -j2 >&2
  bin_dir=build/release/bin
fi
chat=$bin_dir/udp-chat

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Each chat reads a FIFO this script holds open (read-write, so opening never blocks).
start_chat() {
  local name=$1
  mkfifo "$work/$name.in"
  "$chat" --bind 127.0.0.1 --port 0 --no-log --no-discovery --receipts always \
    <"$work/$name.in" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
}
start_chat a
exec {a_in}<>"$work/a.in"
start_chat b
exec {b_in}<>"$work/b.in"

# The port each chose, from its first line (at most 10 s).
port_of() {
  local name=$1 line=""
  for ((i = 0; i < 1000; i++)); do
    line=$(head -n1 "$work/$name.out" 2>/dev/null || true)
    [[ $line == "listening on "* ]] && break
    sleep 0.01
  done
  if [[ $line != "listening on "* ]]; then
    echo "chat_bench.sh: udp-chat $name did not start" >&2
    exit 1
  fi
  echo "${line##*:}"
}
b_port=$(port_of b)
port_of a >/dev/null

echo "/peer 127.0.0.1:$b_port" >&"$a_in"
batch=10
pause=$(awk -v r="$rate" -v b="$batch" 'BEGIN { printf "%.4f", b / r }')
# A builtin sleep: read with a timeout on a pipe nobody writes (a forked sleep per batch would
# cost more than the batch's own time on a busy machine).
exec {idle}<> <(:)
start=$(date +%s.%N)
for ((sent = 0; sent < count; sent += batch)); do
  lines=""
  for ((j = sent; j < sent + batch && j < count; j++)); do lines+="message $j"$'\n'; done
  printf '%s' "$lines" >&"$a_in"
  read -r -t "$pause" -u "$idle" _ || true
done
typed=$(date +%s.%N)

# Every message has its outcome within 2.75 s of its last try; wait at most 60 s for them.
outcomes() { grep -c 'delivered #' "$work/a.out" || true; }
for ((i = 0; i < 6000 && $(outcomes) < count; i++)); do sleep 0.01; done
echo "/quit" >&"$a_in"
echo "/quit" >&"$b_in"
for pid in "${pids[@]}"; do wait "$pid" || true; done
pids=()

delivered=$(grep -c '^delivered #' "$work/a.out" || true)
undelivered=$(grep -c '^not delivered #' "$work/a.out" || true)
shown=$(grep -c '^>>>' "$work/b.out" || true)
sed -n 's/^delivered #[0-9]* to ([^)]*) in \([0-9.]*\) ms: .*/\1/p' "$work/a.out" | sort -n \
  >"$work/rtt"
percentile() {
  awk -v p="$1" '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    i = int(p * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }' "$work/rtt"
}
typing=$(awk -v a="$start" -v b="$typed" 'BEGIN { printf "%.2f", b - a }')
echo "messages=$count typed_in_s=$typing rate_per_s=$rate"
echo "receipt_rtt_ms p50=$(percentile 0.50) p99=$(percentile 0.99) max=$(percentile 1.0)"
echo "delivered=$delivered undelivered=$undelivered shown_by_peer=$shown"
grep -h 'summary:' "$work/a.err" | sed 's/^/sender /'
grep -h 'summary:' "$work/b.err" | sed 's/^/receiver /'
