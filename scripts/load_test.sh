#!/usr/bin/env bash
# The load test: one command for a person. Starts echo-server on a free loopback port, sweeps
# connections and message sizes with loadgen, records per point the client's figures and the
# server's CPU time per message, peak RSS and thread count (from /proc), floods a udp-chat, and
# writes results/<UTC timestamp>/ with results.csv, results.json, summary.md and PNG plots
# (scripts/load_report.py aggregates them from points/runs.csv, the sweep's one row per run).
#
# Usage: scripts/load_test.sh [--quick | --smoke] [--engines LIST] [--compare LIST] [--runs N]
#                             [--duration SECS] [--conns LIST] [--sizes LIST] [--no-bulk]
#                             [--bin-dir DIR] [--out DIR] [--no-udp]
#   (default)       connections 1 10 100 1000 10000 x sizes 64 B and 16 KiB, 5 s per point,
#                   plus bulk (1 connection, 64 KiB, 4 in flight); UDP flood of 1,000,000
#   --quick         connections 1 10 100 x 64 B and 16 KiB, 2 s per point, bulk; UDP 200,000
#   --smoke         connections 1 4 x 64 B and 16 KiB, 1 s per point; UDP 2,000 (used by a test)
#   --engines LIST  echo-server engines to measure, comma-separated: threads, async, uring, and
#                   ENGINE:N for --engine ENGINE --threads N (e.g. threads,async,async:1);
#                   default threads. Each is a server of its own, named as written. An engine
#                   that cannot start is skipped with one line, the sweep goes on
#   --compare LIST  also measure other servers, comma-separated: asio (Asio's blocking
#                   thread-per-connection example), asio-async (Asio's cpp11 async example),
#                   both built from Debian's libasio-dev examples into build/asio-example/;
#                   epoll (the minimal epoll-echo-server yardstick); all = the three
#   --runs N        repeat each point N times, every server in turn (order rotating); summary.md
#                   shows medians
#   --conns LIST    connection counts of the sweep, comma-separated (e.g. 10,100,1000)
#   --sizes LIST    message sizes in bytes of the sweep, comma-separated (e.g. 64,16384)
#   --no-bulk       skip the bulk point
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
engines=threads
compare=""
runs=1
duration=""
conns_arg=""
sizes_arg=""
no_bulk=false
bin_dir=""
out_dir=""
udp=true
usage() { sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; }
usage_error() { echo "load_test.sh: $* (try --help)" >&2; exit 2; }
while (($#)); do
  case $1 in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --engines) (($# > 1)) || usage_error "--engines needs a list"; engines=$2; shift ;;
    --engines=*) engines=${1#*=} ;;
    --compare) (($# > 1)) || usage_error "--compare needs a list"; compare=$2; shift ;;
    --compare=*) compare=${1#*=} ;;
    --runs) runs=${2:-}; shift ;;
    --duration) duration=${2:-}; shift ;;
    --conns) conns_arg=${2:-}; shift ;;
    --sizes) sizes_arg=${2:-}; shift ;;
    --no-bulk) no_bulk=true ;;
    --bin-dir) bin_dir=${2:-}; shift ;;
    --out) out_dir=${2:-}; shift ;;
    --no-udp) udp=false ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown option '$1'" ;;
  esac
  shift
done
[[ $runs =~ ^[1-9][0-9]?$ ]] || usage_error "--runs must be 1 to 99"
[[ -z $duration || $duration =~ ^[1-9][0-9]{0,3}$ ]] ||
  usage_error "--duration must be whole seconds, 1 to 9999"

# The engines, as named in tables and plots ("async:1"), in the order given; duplicates dropped.
engine_list=()
IFS=, read -r -a entries <<<"$engines"
((${#entries[@]})) || usage_error "--engines needs at least one engine"
for entry in "${entries[@]}"; do
  [[ $entry =~ ^(threads|async|uring)(:[1-9][0-9]{0,3})?$ ]] ||
    usage_error "--engines: '$entry' is not threads, async, uring or ENGINE:N"
  [[ " ${engine_list[*]} " == *" $entry "* ]] || engine_list+=("$entry")
done
# The other servers, in a fixed order whatever the order given.
compare_list=()
if [[ -n $compare ]]; then
  [[ $compare == all ]] && compare=asio,asio-async,epoll
  IFS=, read -r -a entries <<<"$compare"
  for entry in "${entries[@]}"; do
    [[ $entry =~ ^(asio|asio-async|epoll)$ ]] ||
      usage_error "--compare: '$entry' is not asio, asio-async, epoll or all"
  done
  for known in asio asio-async epoll; do
    [[ ",$compare," == *",$known,"* ]] && compare_list+=("$known")
  done
fi
compare=$(IFS=,; echo "${compare_list[*]}")
# A comma list of whole numbers from 1 to 10^max_digits.
number_list() {
  local name=$1 text=$2 digits=$3 item
  [[ $text =~ ^[0-9,]+$ ]] || usage_error "$name takes whole numbers separated by commas"
  IFS=, read -r -a items <<<"$text"
  ((${#items[@]})) || usage_error "$name needs at least one number"
  for item in "${items[@]}"; do
    [[ $item =~ ^[1-9][0-9]{0,$((digits - 1))}$ ]] ||
      usage_error "$name: '$item' is not a whole number from 1 to $((10 ** digits - 1))"
  done
}
[[ -z $conns_arg ]] || number_list --conns "$conns_arg" 5
[[ -z $sizes_arg ]] || number_list --sizes "$sizes_arg" 7

case $mode in
  full)  conns_list=(1 10 100 1000 10000); sizes=(64 16384); dur=5; bulk=true
         udp_count=1000000; udp_rate=250000 ;;
  quick) conns_list=(1 10 100); sizes=(64 16384); dur=2; bulk=true
         udp_count=200000; udp_rate=250000 ;;
  smoke) conns_list=(1 4); sizes=(64 16384); dur=1; bulk=false
         udp_count=2000; udp_rate=20000 ;;
esac
dur=${duration:-$dur}
[[ -z $conns_arg ]] || IFS=, read -r -a conns_list <<<"$conns_arg"
[[ -z $sizes_arg ]] || IFS=, read -r -a sizes <<<"$sizes_arg"
! $no_bulk || bulk=false

log() { echo "load_test: $*" >&2; }

# --- programs -----------------------------------------------------------------------------------
if [[ -z $bin_dir ]]; then
  # Only the programs the test runs, in the release preset's folder (what scripts/build.sh
  # release configures): the whole tree would build every test too, for nothing.
  log "building echo-server, loadgen and udp-chat in build/release"
  [[ -f build/release/CMakeCache.txt ]] || cmake --preset release >&2
  targets=(echo-server loadgen)
  [[ -f apps/udp_chat.cpp ]] && targets+=(udp-chat)
  [[ " ${compare_list[*]} " == *" epoll "* ]] && targets+=(epoll-echo-server)
  cmake --build build/release --parallel "$(nproc)" --target "${targets[@]}" >&2
  bin_dir=$root/build/release/bin
fi
bin_dir=$(cd "$bin_dir" && pwd)
programs=(echo-server loadgen)
[[ " ${compare_list[*]} " == *" epoll "* ]] && programs+=(epoll-echo-server)
for program in "${programs[@]}"; do
  [[ -x $bin_dir/$program ]] || { echo "load_test.sh: $bin_dir/$program is missing" >&2; exit 1; }
done
# Checked now, not after a sweep of many minutes: the report needs it.
command -v python3 >/dev/null ||
  { echo "load_test.sh: python3 is missing (scripts/setup.sh installs it)" >&2; exit 1; }
command -v gnuplot >/dev/null ||
  { echo "load_test.sh: gnuplot is missing (scripts/setup.sh installs gnuplot-nox)" >&2; exit 1; }
suite_version=$("$bin_dir/echo-server" --version 2>/dev/null | awk 'NR == 1 {print $NF}' || true)

# Builds one of Asio's cpp11 echo examples (NAME.cpp) into build/asio-example/NAME, once.
build_asio_example() {
  local name=$1 src dir=$root/build/asio-example
  # Debian's libasio-doc ships the examples; some installs keep them in libasio-dev's doc folder.
  # Take whichever the package database lists, plain or gzipped, else the known path.
  src=$(dpkg -L libasio-doc libasio-dev 2>/dev/null |
        grep -E "/cpp11/echo/$name\.cpp(\.gz)?\$" | head -n 1 || true)
  src=${src:-/usr/share/doc/libasio-dev/examples/cpp11/echo/$name.cpp}
  [[ -f $src ]] ||
    { echo "load_test.sh: Asio example not found ($src); apt-get install libasio-doc" >&2; exit 1; }
  mkdir -p "$dir"
  if [[ ! -x $dir/$name || $src -nt $dir/$name ]]; then
    log "building the Asio example from $src"
    if [[ $src == *.gz ]]; then zcat "$src" >"$dir/$name.cpp"
    else cp "$src" "$dir/$name.cpp"; fi
    g++ -std=c++20 -O2 -DASIO_STANDALONE -pthread "$dir/$name.cpp" -o "$dir/$name"
  fi
}
asio_dir=$root/build/asio-example
for server in "${compare_list[@]}"; do
  case $server in
    asio) build_asio_example blocking_tcp_echo_server ;;
    asio-async) build_asio_example async_tcp_echo_server ;;
  esac
done

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

# The port in the server's "listening on ADDR:PORT" line, or nothing yet.
listening_port() {
  sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out" 2>/dev/null || true
}

# Starts a program that prints "listening on ADDR:PORT" when ready (echo-server with the engine
# $1, or the epoll yardstick); sets server_pid and server_port (empty when it did not start).
start_printing_server() {
  local i
  # The redirection truncates in the child, which may run after our first look: remove the
  # previous server's file first, or its port would be read.
  rm -f "$work/server.out"
  "$@" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  server_port=""
  for ((i = 0; i < 150; i++)); do
    server_port=$(listening_port)
    [[ -n $server_port ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  # It may have printed its line just before it exited.
  [[ -n $server_port ]] || server_port=$(listening_port)
}

# echo-server's arguments for an engine as named in --engines ("async:1").
engine_arguments() {
  local entry=$1
  engine_args=(--bind 127.0.0.1 --port 0 --quiet --engine "${entry%%:*}")
  [[ $entry == *:* ]] && engine_args+=(--threads "${entry#*:}")
  return 0
}

# Starts a server by its name in the sweep; sets server_pid and server_port.
start_server() {
  local which=$1 i example
  case $which in
    epoll) start_printing_server "$bin_dir/epoll-echo-server" 0 ;;
    asio|asio-async)
      example=blocking_tcp_echo_server
      [[ $which == asio-async ]] && example=async_tcp_echo_server
      # The example takes a port number, so a port may still be taken between our look and its
      # bind: try a few (bounded), each checked by the example still running once the port
      # listens.
      for ((i = 0; i < 5; i++)); do
        server_port=$(free_port t)
        "$asio_dir/$example" "$server_port" >/dev/null 2>"$work/server.err" &
        server_pid=$!
        if wait_listening t "$server_port" "$server_pid" && kill -0 "$server_pid" 2>/dev/null; then
          break
        fi
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_port=""
      done ;;
    *) engine_arguments "$which"
       start_printing_server "$bin_dir/echo-server" "${engine_args[@]}" ;;
  esac
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

# An engine that cannot start here (uring on a kernel without io_uring, or a build without it)
# is left out with one line, once, before the sweep: the others are still worth measuring.
servers=()
for entry in "${engine_list[@]}"; do
  engine_arguments "$entry"
  start_printing_server "$bin_dir/echo-server" "${engine_args[@]}"
  if [[ -n $server_port ]]; then
    stop_server
    servers+=("$entry")
  else
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    reason=$(grep -m 1 . "$work/server.err" 2>/dev/null || true)
    echo "load_test.sh: skipping engine $entry: ${reason:-it did not print its listening line}" >&2
  fi
done
((${#servers[@]})) || { echo "load_test.sh: no engine could start" >&2; exit 1; }
# The servers the sweep measures, in the order the report lists and colours them: this one list.
servers+=("${compare_list[@]}")

# The sweep, interleaved: for each point and run, every server in turn, the order rotating by one
# each run so that no server always follows the same one.
for conns in "${conns_list[@]}"; do
  for size in "${sizes[@]}"; do
    for ((run = 1; run <= runs; run++)); do
      shift_by=$(((run - 1) % ${#servers[@]}))
      order=("${servers[@]:shift_by}" "${servers[@]:0:shift_by}")
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
    --host "$(hostname)" "${udp_report[@]}" --servers "$(IFS=,; echo "${servers[*]}")" \
    ${compare:+--compare "$compare"} \
    -- "${command_line[@]}"
log "done: $out_dir"
echo "$out_dir"
