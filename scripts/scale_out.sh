#!/usr/bin/env bash
# Scale-out demo: HAProxy (TCP mode, health checks) on a loopback port in front of N echo-servers,
# each on its own kernel-chosen loopback port; loadgen drives load through the proxy and directly
# to one echo-server. docs/scale-out.md explains the configuration and the figures.
#
# Usage: scripts/scale_out.sh [--quick] [--backends N] [--connections C] [--duration SECS]
#                             [--bin-dir DIR] [--keep]
#   (default)        3 backends, loadgen -c 60 -d 10 in each phase
#   --quick          -c 12 -d 2 (used by a test)
#   --backends N     2 to 16 echo-servers behind the proxy
#   --connections C  loadgen connections per phase;  --duration SECS  seconds per phase
#   --bin-dir DIR    echo-server and loadgen from DIR (default build/release/bin, not rebuilt)
#   --keep           keep the temp dir (haproxy.cfg, every program's output) and print its path
# Phases, all in one run: 1 direct to one echo-server; 2 through HAProxy, with each backend's
# share of the sessions (HAProxy's stats socket, "show stat" stot); 3 through HAProxy while one
# backend is killed (SIGKILL) mid-run, timing kill -> HAProxy marks it DOWN; 4 a new loadgen
# run started after DOWN: its connections go to the survivors only, with connect_failures=0.
# Needs haproxy (scripts/setup.sh installs it) and socat. Everything on 127.0.0.1, every wait
# bounded, every process killed by PID on exit. Exit 0 when each backend got a share, DOWN was
# seen and phase 4 had no connect failures; 1 otherwise; 2 on a usage error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

backends=3 connections=60 duration=10 bin_dir="" keep=false
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
die_usage() { echo "scale_out.sh: $1 (try --help)" >&2; exit 2; }
while (($#)); do
  case $1 in
    --quick) connections=12 duration=2 ;;
    --backends) backends=${2:-}; shift ;;
    --connections) connections=${2:-}; shift ;;
    --duration) duration=${2:-}; shift ;;
    --bin-dir) bin_dir=${2:-}; shift ;;
    --keep) keep=true ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown option '$1'" ;;
  esac
  shift || die_usage "option needs a value"
done
[[ $backends =~ ^[0-9]+$ ]] && ((backends >= 2 && backends <= 16)) ||
  die_usage "--backends must be 2 to 16"
[[ $connections =~ ^[1-9][0-9]{0,3}$ ]] || die_usage "--connections must be 1 to 9999"
[[ $duration =~ ^[1-9][0-9]{0,2}$ ]] || die_usage "--duration must be whole seconds, 1 to 999"

bin_dir=${bin_dir:-$root/build/release/bin}
for program in echo-server loadgen; do
  [[ -x $bin_dir/$program ]] ||
    { echo "scale_out.sh: $bin_dir/$program is missing (scripts/build.sh release)" >&2; exit 1; }
done
for tool in haproxy socat; do
  command -v "$tool" >/dev/null ||
    { echo "scale_out.sh: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/scale-out.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $keep; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Waits (at most 20 s) until file $1 has a line matching $2; prints that line.
wait_for_line() {
  local i
  for ((i = 0; i < 400; i++)); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}
# Echoes field $2 (key=value) of the summary line in file $1.
field() { grep -m1 'summary:' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# The echo-servers, each on its own kernel-chosen port.
ports=() server_pids=()
for ((i = 1; i <= backends; i++)); do
  "$bin_dir/echo-server" --bind 127.0.0.1 --port 0 --quiet >"$work/echo$i.out" \
    2>"$work/echo$i.err" &
  pids+=($!) server_pids+=($!)
  line=$(wait_for_line "$work/echo$i.out" '^listening on ') ||
    { echo "scale_out.sh: echo-server $i did not start: $(cat "$work/echo$i.err")" >&2; exit 1; }
  ports+=("${line##*:}")
done

# HAProxy on a port the kernel picks: python3 binds and listens, then execs haproxy, which
# takes the socket over ("bind fd@N"), so no port is guessed and none can be taken meanwhile.
{
  cat <<EOF
global
    maxconn 4096
    stats socket $work/haproxy.sock mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 2
    option redispatch
frontend echo
    bind fd@3
    default_backend echo_servers
backend echo_servers
    balance roundrobin
    default-server check inter 200ms fall 2 rise 1
EOF
  for ((i = 1; i <= backends; i++)); do
    echo "    server echo$i 127.0.0.1:${ports[i - 1]}"
  done
} >"$work/haproxy.cfg"
python3 - "$work/haproxy.port" haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.out" \
  2>&1 <<'EOF' &
import os, socket, sys
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(4096)
os.dup2(listener.fileno(), 3)
os.set_inheritable(3, True)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{listener.getsockname()[1]}\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
os.execvp(sys.argv[2], sys.argv[2:])
EOF
proxy_pid=$!
pids+=("$proxy_pid")
proxy_port=$(wait_for_line "$work/haproxy.port" '^[0-9]+$') ||
  { echo "scale_out.sh: haproxy did not start: $(cat "$work/haproxy.out")" >&2; exit 1; }

stats() { echo "show stat" | socat -t 5 - "UNIX-CONNECT:$work/haproxy.sock"; }
# Echoes column $2 ("status", "stot") of server $1 in HAProxy's "show stat".
stat_of() {
  stats | awk -F, -v server="$1" -v column="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == column || $i == "# " column) c = i; next }
    $1 == "echo_servers" && $2 == server { print $c }'
}
# Every server UP (checks passed) before any load, at most 20 s.
proxy_failed() {
  kill -0 "$proxy_pid" 2>/dev/null && return 1
  echo "scale_out.sh: haproxy exited: $(grep -m1 ALERT "$work/haproxy.out")" >&2
}
started=$SECONDS
for ((i = 0; i < 400 && SECONDS - started < 20; i++)); do
  proxy_failed && exit 1
  up=0
  for ((b = 1; b <= backends; b++)); do
    [[ $(stat_of "echo$b" status 2>/dev/null) == UP ]] && up=$((up + 1))
  done
  ((up == backends)) && break
  sleep 0.05
done
((up == backends)) || { echo "scale_out.sh: haproxy sees $up of $backends UP" >&2; exit 1; }

echo "scale-out: $backends echo-servers on 127.0.0.1:${ports[*]}," \
  "HAProxy on 127.0.0.1:$proxy_port (check inter 200ms fall 2 rise 1)"
echo "loadgen tcp -c $connections -d $duration --warmup 1 in each phase"

# Runs loadgen against $1, output to file $2; returns loadgen's exit code.
run_loadgen() {
  timeout $((duration * 3 + 60)) "$bin_dir/loadgen" tcp "$1" -c "$connections" \
    -d "$duration" --warmup 1 >"$2" 2>&1
}
figures() { echo "msgs/s $(field "$1" msgs_per_s)  p99 $(field "$1" p99_us) us"; }
shares() {
  local b line=""
  for ((b = 1; b <= backends; b++)); do
    line+=" echo$b=$(($(stat_of "echo$b" stot) - ${base_stot[b]:-0}))"
  done
  echo "$line"
}
snapshot_stot() {
  local b
  for ((b = 1; b <= backends; b++)); do base_stot[b]=$(stat_of "echo$b" stot); done
}
ok=true
declare -a base_stot

echo "phase 1, direct to echo1:"
run_loadgen "127.0.0.1:${ports[0]}" "$work/direct.txt" || true
echo "  $(figures "$work/direct.txt")"

echo "phase 2, through HAProxy:"
snapshot_stot
run_loadgen "127.0.0.1:$proxy_port" "$work/proxy.txt" || true
echo "  $(figures "$work/proxy.txt")"
proxy_shares=$(shares)
echo "  sessions per backend:$proxy_shares"
for ((b = 1; b <= backends; b++)); do
  [[ $proxy_shares =~ " echo$b="([0-9]+) ]] && ((BASH_REMATCH[1] > 0)) ||
    { echo "  echo$b got no share" >&2; ok=false; }
done
direct=$(field "$work/direct.txt" msgs_per_s) proxied=$(field "$work/proxy.txt" msgs_per_s)
awk -v d="${direct:-0}" -v p="${proxied:-0}" -v dp="$(field "$work/direct.txt" p99_us)" \
  -v pp="$(field "$work/proxy.txt" p99_us)" 'BEGIN {
    if (d > 0 && dp > 0)
      printf "  through HAProxy: %.0f%% of the direct msgs/s, p99 x%.1f\n", 100 * p / d, pp / dp }'

victim=$backends
echo "phase 3, through HAProxy, echo$victim killed (SIGKILL) mid-run:"
run_loadgen "127.0.0.1:$proxy_port" "$work/kill.txt" &
loadgen_pid=$!
pids+=("$loadgen_pid")
sleep $((1 + (duration + 1) / 2))  # the warm-up, then half the measured time
{
  kill -KILL "${server_pids[victim - 1]}"
  killed_at=$(now_ms)
  wait "${server_pids[victim - 1]}" || true
} 2>/dev/null  # bash's own "Killed" notice for the job: the line below says it better
down_ms=""
for ((i = 0; i < 1000; i++)); do  # every 10 ms, at most 10 s (and 1000 polls)
  if [[ $(stat_of "echo$victim" status) == DOWN* ]]; then
    down_ms=$(($(now_ms) - killed_at))
    break
  fi
  sleep 0.01
done
if [[ -n $down_ms ]]; then
  echo "  echo$victim DOWN in HAProxy $down_ms ms after the kill"
else
  echo "  echo$victim not DOWN 10 s after the kill" >&2
  ok=false
fi
kill_code=0
wait "$loadgen_pid" || kill_code=$?
echo "  $(figures "$work/kill.txt") " \
  "$(grep -m1 '^loadgen: ' "$work/kill.txt" || echo "loadgen: exit $kill_code")"
echo "  (expected: HAProxy closes the clients of echo$victim, loadgen counts them as failed)"

echo "phase 4, through HAProxy, started after DOWN:"
snapshot_stot
after_code=0
run_loadgen "127.0.0.1:$proxy_port" "$work/after.txt" || after_code=$?
failures=$(field "$work/after.txt" connect_failures)
echo "  $(figures "$work/after.txt")  connect_failures=${failures:-missing}" \
  "loadgen exit $after_code"
after_shares=$(shares)
echo "  new sessions per backend:$after_shares"
[[ $failures == 0 && $after_code == 0 ]] || ok=false
[[ $after_shares =~ " echo$victim="([0-9]+) ]] && ((BASH_REMATCH[1] == 0)) ||
  { echo "  echo$victim got new sessions while DOWN" >&2; ok=false; }

# The survivors' own counts (they include HAProxy's health-check connections).
line="echo-server summaries:"
for ((b = 1; b < backends; b++)); do
  kill -TERM "${server_pids[b - 1]}"
  wait "${server_pids[b - 1]}" || true
  line+=" echo$b served=$(field "$work/echo$b.err" served)"
done
echo "$line (health checks and echo1's phase 1 included); echo$victim: killed"
$ok && echo "scale-out: ok" || { echo "scale-out: FAILED" >&2; exit 1; }
