#!/usr/bin/env bash
# Two people chatting across two "machines": two network namespaces joined by a veth pair, each
# with its own address, a udp-chat on port 7890 in each. Both type at once; then both chat logs
# are shown. Needs root (ip netns). Traffic stays inside the two namespaces.
#
# Usage: scripts/two_hosts_demo.sh [BUILD_DIR]   (default: build/release; needs bin/udp-chat)
#        scripts/two_hosts_demo.sh --interactive [BUILD_DIR]
#   --interactive  instead of the scripted chat, prints the two commands to run in two terminals
#                  and waits for Enter before cleaning up.
set -euo pipefail
cd "$(dirname "$0")/.."

interactive=false
if [[ ${1:-} == --interactive ]]; then interactive=true; shift; fi
if [[ ${1:-} == -h || ${1:-} == --help ]]; then sed -n '2,10p' "$0"; exit 0; fi
build=${1:-build/release}
chat=$(realpath "$build/bin/udp-chat" 2>/dev/null || true)
if [[ ! -x $chat ]]; then
  echo "two_hosts_demo: no $build/bin/udp-chat; build first (scripts/build.sh release)" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "two_hosts_demo: needs root for ip netns (try sudo)" >&2
  exit 1
fi

id=$$
ns_a=chatdemo$id-a
ns_b=chatdemo$id-b
addr_a=10.232.$((id % 250)).1
addr_b=10.232.$((id % 250)).2
work=$(mktemp -d /tmp/two-hosts-demo.XXXXXX)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== two hosts: $ns_a ($addr_a) <-veth-> $ns_b ($addr_b)"
ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add "vd${id}a" netns "$ns_a" type veth peer name "vd${id}b" netns "$ns_b"
ip -n "$ns_a" addr add "$addr_a/24" dev "vd${id}a"
ip -n "$ns_b" addr add "$addr_b/24" dev "vd${id}b"
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set "vd${id}a" up
ip -n "$ns_b" link set "vd${id}b" up

if $interactive; then
  cat <<EOM
Run these in two terminals, type lines in each, /quit to leave:
  sudo ip netns exec $ns_a $chat --peer $addr_b:7890 --log $work/alice.txt
  sudo ip netns exec $ns_b $chat --peer $addr_a:7890 --log $work/bob.txt
Press Enter here when done (the namespaces are then deleted).
EOM
  read -r _
  for f in "$work"/*.txt; do [[ -f $f ]] && { echo "== $f"; cat "$f"; }; done
  exit 0
fi

# Scripted: both start, then type at once, a line every 0.2 s, and keep receiving 2 s after
# their last line.
talk() {
  local who=$1
  sleep 1  # both chats listening before anyone talks
  for i in 1 2 3 4 5; do echo "$who says hello #$i 你好"; sleep 0.2; done
}
talk alice | ip netns exec "$ns_a" "$chat" --peer "$addr_b:7890" --log "$work/alice.txt" \
  --linger 2 > "$work/alice.out" 2> "$work/alice.err" &
pids+=($!)
talk bob | ip netns exec "$ns_b" "$chat" --peer "$addr_a:7890" --log "$work/bob.txt" \
  --linger 2 > "$work/bob.out" 2> "$work/bob.err" &
pids+=($!)
wait "${pids[@]}"
pids=()

for who in alice bob; do
  echo "== $who's terminal"
  cat "$work/$who.out"
  echo "== $who's stderr"
  cat "$work/$who.err"
  echo "== $who's chat.txt"
  cat "$work/$who.txt"
done
