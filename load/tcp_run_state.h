#pragma once

// What a TCP load run, its workers and their connections share, and the small values they pass
// between them.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <asio/ip/tcp.hpp>

#include "load/latency_histogram.h"
#include "load/tcp_load_types.h"

namespace load {

using Clock = std::chrono::steady_clock;

// A configured number of seconds as a duration of the clock. Thread-safe (pure).
inline Clock::duration to_clock_duration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// When traffic runs: it starts, the warm-up ends (measuring starts), it ends. Decided by the run
// once the connect phase is over. Threading: a plain value (each worker keeps its own copy).
struct TrafficWindow {
  Clock::time_point start;
  Clock::time_point warmup_end;
  Clock::time_point end;
};

// How an established connection failed (mismatch_extra: more bytes came back than were sent).
enum class ConnectionFailure { reset, short_echo, other, mismatch_extra };

// What a worker counted since the run last took it. Threading: a plain value.
struct TcpInterval {
  TcpCounters counts;
  LatencyHistogram latency;  // from each message's due time (see TcpLoadResult::latency)
  LatencyHistogram service;  // open loop only: from each message's write (TcpLoadResult::service)
};

// The configuration and the few counters every thread of a run shares.
// Threading: config and endpoints are set before any worker starts and only read afterwards; the
// counters are atomics, for any thread; first_connect_error is guarded by error_mutex.
struct TcpRunState {
  TcpLoadConfig config;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  std::atomic<std::uint64_t> connections_up{0};
  std::atomic<std::uint64_t> connections_established{0};
  std::atomic<std::uint64_t> connects_resolved{0};  // established or failed
  std::atomic<std::uint64_t> connect_failures{0};
  // When an established connection last failed (Clock ticks since its epoch; 0: none did). The
  // run ends its measured time there when every connection is gone (docs/design.md, loadgen).
  std::atomic<Clock::rep> last_connection_lost{0};
  std::mutex error_mutex;
  std::string first_connect_error;  // guarded by error_mutex
};

}  // namespace load
