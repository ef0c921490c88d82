#!/usr/bin/env bash
# The load test: one command for a person. Starts echo-server on a free loopback port, sweeps
# connections and message sizes with loadgen, records per point the client's figures and the
# server's CPU time per message, peak RSS and thread count (from /proc), floods a udp-chat, and
# writes results/<UTC timestamp>/ with results.csv, results.json, summary.md and PNG plots
# (scripts/load_report.py aggregates them from points/runs.csv, the sweep's one row per run).
#
# Usage: scripts/load_test.sh [--quick | --smoke] [--compare asio] [--runs N] [--duration SECS]
#                             [--bin-dir DIR] [--out DIR] [--no-udp]
#   (default)       connections 1 10 100 1000 10000 x sizes 64 B and 16 KiB, 5 s per point,
#                   plus bulk (1 connection, 64 KiB, 4 in flight); UDP flood of 1,000,000
#   --quick         connections 1 10 100 x 64 B and 16 KiB, 2 s per point, bulk; UDP 200,000
#   --smoke         connections 1 4 x 64 B and 16 KiB, 1 s per point; UDP 2,000 (used by a test)
#   --compare asio  also build Asio's blocking thread-per-connection echo example (from Debian's
#                   libasio-doc) into build/asio-example/ and run the same sweep against it,
#                   interleaved with ours point by point, so summary.md shows both side by side
#   --runs N        repeat each point N times (interleaved); summary.md shows medians
#   --bin-dir DIR   use the programs in DIR instead of building build/release (tests use this)
#   --out DIR       write the results there instead of results/<timestamp>
#   --no-udp        skip the udp-chat flood
# Traffic goes to 127.0.0.1 only. Every wait and loop is bounded. Exit 0 when every point ran;
# figures are reported, never judged here (benchmarks print figures, they do not fail).
set -euo pipefail
# What results.json records of this run: the command line as typed and the local start time.
command_line=("$0" "$@")
started_at=$(date +%Y-%m-%dT%H:%M:%S%:z)
cd "$(dirname "$0")/.."
root=$PWD

mode=full
compare=""
runs=1
duration=""
bin_dir=""
out_dir=""
udp=true
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --compare)
      [[ ${2:-} == asio ]] || { echo "load_test.sh: --compare takes 'asio'" >&2; exit 2; }
      compare=asio; shift ;;
    --compare=asio) compare=asio ;;
    --runs) runs=${2:-}; shift ;;
    --duration) duration=${2:-}; shift ;;
    --bin-dir) bin_dir=${2:-}; shift ;;
    --out) out_dir=${2:-}; shift ;;
    --no-udp) udp=false ;;
    -h|--help) usage; exit 0 ;;
    *) echo "load_test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "load_test.sh: --runs must be 1 to 99" >&2; exit 2; }
[[ -z $duration || $duration =~ ^[1-9][0-9]{0,3}$ ]] ||
  { echo "load_test.sh: --duration must be whole seconds, 1 to 9999" >&2; exit 2; }

case $mode in
  full)  conns_list=(1 10 100 1000 10000); sizes=(64 16384); dur=5; bulk=true
         udp_count=1000000; udp_rate=250000 ;;
  quick) conns_list=(1 10 100); sizes=(64 16384); dur=2; bulk=true
         udp_count=200000; udp_rate=250000 ;;
  smoke) conns_list=(1 4); sizes=(64 16384); dur=1; bulk=false
         udp_count=2000; udp_rate=20000 ;;
esac
dur=${duration:-$dur}

log() { echo "load_test: $*" >&2; }

# --- programs -----------------------------------------------------------------------------------
if [[ -z $bin_dir ]]; then
  # Only the programs the test runs, in the release preset's folder (what scripts/build.sh
  # release configures): the whole tree would build every test too, for nothing.
  log "building echo-server, loadgen and udp-chat in build/release"
  [[ -f build/release/CMakeCache.txt ]] || cmake --preset release >&2
  targets=(echo-server loadgen)
  [[ -f apps/udp_chat.cpp ]] && targets+=(udp-chat)
  cmake --build build/release --parallel "$(nproc)" --target "${targets[@]}" >&2
  bin_dir=$root/build/release/bin
fi
bin_dir=$(cd "$bin_dir" && pwd)
for program in echo-server loadgen; do
  [[ -x $bin_dir/$program ]] || { echo "load_test.sh: $bin_dir/$program is missing" >&2; exit 1; }
done
# Checked now, not after a sweep of many minutes: the report needs it.
command -v python3 >/dev/null ||
  { echo "load_test.sh: python3 is missing (scripts/setup.sh installs it)" >&2; exit 1; }
command -v gnuplot >/dev/null ||
  { echo "load_test.sh: gnuplot is missing (scripts/setup.sh installs gnuplot-nox)" >&2; exit 1; }
suite_version=$("$bin_dir/echo-server" --version 2>/dev/null | awk 'NR == 1 {print $NF}' || true)

asio_bin=""
if [[ $compare == asio ]]; then
  # Debian's libasio-doc ships the examples; some installs keep them in libasio-dev's doc folder.
  # Take whichever the package database lists, plain or gzipped, else the known path.
  src=$(dpkg -L libasio-doc libasio-dev 2>/dev/null |
        grep -E '/cpp11/echo/blocking_tcp_echo_server\.cpp(\.gz)?$' | head -n 1 || true)
  src=${src:-/usr/share/doc/libasio-dev/examples/cpp11/echo/blocking_tcp_echo_server.cpp}
  [[ -f $src ]] || { echo "load_test.sh: Asio example not found ($src); apt-get install libasio-doc" >&2; exit 1; }
  asio_dir=$root/build/asio-example
  asio_bin=$asio_dir/blocking_tcp_echo_server
  mkdir -p "$asio_dir"
  if [[ ! -x $asio_bin || $src -nt $asio_bin ]]; then
    log "building the Asio example from $src"
    if [[ $src == *.gz ]]; then zcat "$src" >"$asio_dir/blocking_tcp_echo_server.cpp"
    else cp "$src" "$asio_dir/blocking_tcp_echo_server.cpp"; fi
    g++ -std=c++20 -O2 -DASIO_STANDALONE -pthread "$asio_dir/blocking_tcp_echo_server.cpp" \
        -o "$asio_bin"
  fi
fi

# --- output -------------------------------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out_dir=${out_dir:-$root/results/$stamp}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
work=$(mktemp -d)
server_pid=""
chat_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill -KILL "$server_pid" 2>/dev/null || true
  [[ -n $chat_pid ]] && kill -KILL "$chat_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
log "mode=$mode duration=${dur}s runs=$runs compare=${compare:-none} -> $out_dir"

# The raw figures, one row per run, under a header naming each column: load_report.py reads them
# by name. A row is built in header order below (measure): the summary keys come from one list.
mkdir -p "$out_dir/points"
raw_csv=$out_dir/points/runs.csv
summary_keys=(msgs_per_s MB_per_s p50_us p99_us p999_us max_us errors mismatches connect_failures)
header="server,kind,connections,size,depth,run,msgs"
for key in "${summary_keys[@]}"; do header+=",$key"; done
echo "$header,server_cpu_s,cpu_us_per_msg,rss_peak_kb,threads_peak,server_exit" >"$raw_csv"

clk_tck=$(getconf CLK_TCK)

# A free TCP or UDP port on loopback (the Asio example and udp-chat take a port number). Bounded.
# Chosen below the kernel's ephemeral range: after a 10,000-connection point that range is full of
# client sockets still closing, and a port one of them holds cannot be bound. Sockets in every
# state count, not only listeners.
free_port() {
  local proto=$1 port tries low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((low > 12000)) || low=32768
  for ((tries = 0; tries < 100; tries++)); do
    port=$((10000 + RANDOM % (low - 10000)))
    if [[ -z $(ss -Hna"$proto" "sport = :$port" 2>/dev/null) ]]; then echo "$port"; return 0; fi
  done
  echo "load_test.sh: no free port found" >&2
  return 1
}

# Waits (bounded, 15 s) until something listens on the port; gives up early if process $3 (when
# given) has exited, e.g. because its bind failed.
wait_listening() {
  local proto=$1 port=$2 pid=${3:-} i
  for ((i = 0; i < 150; i++)); do
    [[ -n $(ss -Hn"$proto"l "sport = :$port" 2>/dev/null) ]] && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat; the name in
# field 2 may hold spaces, so count from after its closing parenthesis).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# Starts a server; sets server_pid and server_port.
start_server() {
  local which=$1 i
  if [[ $which == ours ]]; then
    # The redirection truncates in the child, which may run after our first look: remove the
    # previous server's file first, or its port would be read.
    rm -f "$work/server.out"
    "$bin_dir/echo-server" --bind 127.0.0.1 --port 0 --quiet >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    server_port=""
    for ((i = 0; i < 150; i++)); do
      server_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out" 2>/dev/null || true)
      [[ -n $server_port ]] && break
      sleep 0.1
    done
  else
    # The example takes a port number, so a port may still be taken between our look and its bind:
    # try a few (bounded), each checked by the example still running once the port listens.
    for ((i = 0; i < 5; i++)); do
      server_port=$(free_port t)
      "$asio_bin" "$server_port" >/dev/null 2>"$work/server.err" &
      server_pid=$!
      if wait_listening t "$server_port" "$server_pid" && kill -0 "$server_pid" 2>/dev/null; then
        break
      fi
      kill "$server_pid" 2>/dev/null || true
      wait "$server_pid" 2>/dev/null || true
      server_port=""
    done
  fi
  if [[ -z $server_port ]]; then
    echo "load_test.sh: $which server did not start: $(head -c 300 "$work/server.err")" >&2
    exit 1
  fi
}

# Stops the server (SIGTERM, then SIGKILL after 15 s); sets server_status to its exit status.
stop_server() {
  local i status=0
  kill -TERM "$server_pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || status=$?
  server_pid=""
  server_status=$status
}

# Samples peak VmRSS and thread count of $1 every 0.2 s into $2 until $3 disappears (bounded).
sample_peaks() {
  local pid=$1 into=$2 flag=$3 limit=$4 i rss threads peak_rss=0 peak_threads=0
  for ((i = 0; i < limit; i++)); do
    [[ -e $flag ]] || break
    read -r rss threads < <(awk '/^VmRSS:/{r=$2} /^Threads:/{t=$2} END{print r+0, t+0}' \
                             "/proc/$pid/status" 2>/dev/null || echo "0 0")
    ((rss > peak_rss)) && peak_rss=$rss
    ((threads > peak_threads)) && peak_threads=$threads
    echo "$peak_rss $peak_threads" >"$into"
    sleep 0.2
  done
}

# Value of key=value in a summary line.
kv() {
  [[ -f $2 ]] || return 0
  awk -v k="$1=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }' "$2"
}

# One measurement: server $1, connections $2, size $3, depth $4, run $5, kind $6.
measure() {
  local server=$1 conns=$2 size=$3 depth=$4 run=$5 kind=$6
  start_server "$server"
  local before after status
  before=$(cpu_ticks "$server_pid")
  : >"$work/sampling"
  echo "0 0" >"$work/peaks"
  sample_peaks "$server_pid" "$work/peaks" "$work/sampling" $(((dur + 80) * 5)) &
  local sampler=$!
  local lg_status=0
  timeout $((dur * 3 + 120)) "$bin_dir/loadgen" tcp "127.0.0.1:$server_port" -c "$conns" \
      -s "$size" -d "$dur" --depth "$depth" --json "$out_dir/points/$server-$kind-c$conns-s$size-r$run.json" \
      >"$work/lg.out" 2>"$work/lg.err" || lg_status=$?
  after=$(cpu_ticks "$server_pid" 2>/dev/null || echo "$before")
  rm -f "$work/sampling"
  wait "$sampler" 2>/dev/null || true
  stop_server
  status=$server_status
  if ! grep -q '^summary:' "$work/lg.out"; then
    log "loadgen failed (status $lg_status) at $server c=$conns s=$size: $(tail -n 1 "$work/lg.err")"
    echo "summary: msgs=0" >"$work/lg.out"
  fi
  local msgs cpu_s per_msg peaks
  msgs=$(kv msgs "$work/lg.out"); msgs=${msgs:-0}
  cpu_s=$(awk -v d=$((after - before)) -v t="$clk_tck" 'BEGIN{printf "%.3f", d / t}')
  per_msg=$(awk -v c="$cpu_s" -v m="$msgs" 'BEGIN{ if (m > 0) printf "%.3f", c * 1e6 / m; else print "" }')
  read -r peaks < "$work/peaks"
  local row
  row="$server,$kind,$conns,$size,$depth,$run,$msgs"
  for key in "${summary_keys[@]}"; do row+=",$(kv "$key" "$work/lg.out")"; done
  row+=",$cpu_s,$per_msg,${peaks% *},${peaks#* },$status"
  echo "$row" >>"$raw_csv"
  log "$server $kind c=$conns s=$size: $(kv msgs_per_s "$work/lg.out") msgs/s p99 $(kv p99_us "$work/lg.out") us," \
      "cpu ${per_msg:-?} us/msg, rss ${peaks% *} KiB, threads ${peaks#* }, errors $(kv errors "$work/lg.out")" \
      "mismatches $(kv mismatches "$work/lg.out") connect_failures $(kv connect_failures "$work/lg.out")"
}

# The servers the sweep measures, in the order the report lists and colours them: this one list.
servers=(ours)
[[ $compare == asio ]] && servers+=(asio)

# The sweep, interleaved: for each point and run, every server in turn (order alternating).
for conns in "${conns_list[@]}"; do
  for size in "${sizes[@]}"; do
    for ((run = 1; run <= runs; run++)); do
      order=("${servers[@]}")
      if ((run % 2 == 0)) && ((${#servers[@]} == 2)); then order=("${servers[1]}" "${servers[0]}"); fi
      for server in "${order[@]}"; do measure "$server" "$conns" "$size" 1 "$run" sweep; done
    done
  done
done
if $bulk; then
  for ((run = 1; run <= runs; run++)); do
    for server in "${servers[@]}"; do measure "$server" 1 65536 4 "$run" bulk; done
  done
fi

# --- UDP: flood a udp-chat ----------------------------------------------------------------------
udp_report=()  # what load_report.py is told of the flood
if $udp; then
  if [[ ! -x $bin_dir/udp-chat ]]; then
    log "UDP part skipped: $bin_dir/udp-chat does not exist yet"
    udp_report=(--udp-skipped "udp-chat not built")
  else
    chat_port=$(free_port u)
    mkfifo "$work/chat-in"
    "$bin_dir/udp-chat" --bind 127.0.0.1 --port "$chat_port" --log "$work/chat-log.txt" --linger 1 \
        <"$work/chat-in" >/dev/null 2>"$work/chat.err" &
    chat_pid=$!
    exec 7>"$work/chat-in"  # keeps the chat's stdin open until the flood is over
    if wait_listening u "$chat_port"; then
      timeout $((udp_count / 1000 + 120)) "$bin_dir/loadgen" udp "127.0.0.1:$chat_port" \
          -n "$udp_count" --rate "$udp_rate" -s 64 --json "$out_dir/udp-loadgen.json" \
          >"$work/udp.out" 2>"$work/udp.err" || true
    else
      log "udp-chat did not start: $(head -c 300 "$work/chat.err")"
    fi
    sleep 1
    exec 7>&-  # EOF: the chat quits after --linger
    for ((i = 0; i < 300; i++)); do kill -0 "$chat_pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$chat_pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$chat_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$chat_pid" 2>/dev/null || true
    wait "$chat_pid" 2>/dev/null || true
    chat_pid=""
    grep '^summary:' "$work/chat.err" | tail -n 1 >"$work/chat.summary" || true
    sent=$(kv sent "$work/udp.out"); sent=${sent:-0}
    udp_seconds=$(kv seconds "$work/udp.out"); udp_seconds=${udp_seconds:-0}
    received=$(kv received "$work/chat.summary"); logged=$(kv logged "$work/chat.summary")
    drops=$(kv kernel_drops "$work/chat.summary")
    log_lines=$( (wc -l <"$work/chat-log.txt") 2>/dev/null || echo 0)
    logged_per_s=$(awk -v l="${logged:-0}" -v s="$udp_seconds" 'BEGIN{ if (s > 0) printf "%.0f", l / s; else print 0 }')
    log "UDP: sent=$sent received=${received:-?} logged=${logged:-?} kernel_drops=${drops:-?}" \
        "log_lines=$log_lines flood_seconds=$udp_seconds logged_per_s=$logged_per_s"
    {
      echo "count,rate,size,sent,received,logged,kernel_drops,log_lines,flood_seconds,logged_per_s"
      echo "$udp_count,$udp_rate,64,$sent,${received:-},${logged:-},${drops:-},$log_lines," \
           "$udp_seconds,$logged_per_s" | tr -d ' '
    } >"$out_dir/udp.csv"
    udp_report=(--udp-csv "$out_dir/udp.csv")
  fi
fi

# --- results.csv, results.json, summary.md, plots ---------------------------------------------
# load_report.py writes them all (gnuplot draws the PNGs); the plots' data files and gnuplot
# script stay in points/plot/, to redraw or restyle them.
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 "$root/scripts/load_report.py" "$raw_csv" --out "$out_dir" \
    --plot-data "$out_dir/points/plot" --mode "$mode" --duration "$dur" --runs "$runs" --commit "$commit" --stamp "$stamp" \
    --cores "$(nproc)" --suite-version "${suite_version:-unknown}" --started-at "$started_at" \
    --host "$(hostname)" "${udp_report[@]}" ${compare:+--compare "$compare"} \
    -- "${command_line[@]}"
log "done: $out_dir"
echo "$out_dir"
