#pragma once

// The plain values of a TCP load run: what it is asked to do, what it counts, its per-second
// series and its result.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "load/latency_histogram.h"
#include "net/endpoint.h"

namespace load {

// The longest wait a paced run accepts between two messages of one connection (--rate), and for
// the whole connect phase (--connect-rate): a day. A slower pace is no load (most likely 1e-9
// was meant as 1e9), and a day stays far from the edge of the clock's 64-bit nanoseconds (292
// years), so every due time the schedule computes is exact.
inline constexpr double kLongestPacedWaitSeconds = 24 * 3600;

// What a TCP load run is asked to do. Threading: a plain value (TcpLoad keeps its own copy).
struct TcpLoadConfig {
  net::HostPort target;
  std::size_t connections = 1;    // ≥ 1
  std::size_t message_size = 64;  // bytes per message (≥ 1)
  double duration_s = 10;         // measured seconds (after the warm-up)
  double warmup_s = 0;            // seconds of traffic not counted in totals
  std::size_t depth = 1;          // messages in flight per connection (closed loop)
  double rate = 0;                // total messages/s (open loop); 0 = closed loop
  double connect_rate = 0;        // new connections/s; 0 = no pacing
  std::size_t threads = 0;        // client threads; 0 = min(4, cores); never more than connections
  double connect_timeout_s = 10;  // per connection attempt
};

// Everything that can be counted, over some span of time.
// Threading: a plain value.
struct TcpCounters {
  std::uint64_t messages = 0;          // echoed intact and complete
  std::uint64_t bytes = 0;             // bytes of those messages
  std::uint64_t mismatches = 0;        // messages echoed with a wrong byte, or unsent bytes echoed
  std::uint64_t resets = 0;            // connections reset (ECONNRESET, EPIPE)
  std::uint64_t short_echoes = 0;      // connections closed by the peer with an echo outstanding
  std::uint64_t other_errors = 0;      // any other socket error on an established connection
  std::uint64_t connect_failures = 0;  // connection attempts refused, timed out or failed

  // The summary's `errors`: connection-level failures after connecting (not mismatches, not
  // connect failures, which have keys of their own).
  std::uint64_t errors() const { return resets + short_echoes + other_errors; }
  TcpCounters& operator+=(const TcpCounters& other);
};

// Where a run is: connecting everyone, then traffic not counted (warm-up), then measured traffic.
enum class Phase { connecting, warmup, measuring };
const char* to_string(Phase phase);  // thread-safe

// One line of the per-second series (also what the live progress line shows).
// Threading: a plain value.
struct SecondSample {
  double elapsed_s = 0;  // from the start of the run to the end of this interval
  double interval_s = 0;
  Phase phase = Phase::connecting;
  TcpCounters counts;                                // during this interval
  std::uint64_t p50_ns = 0, p99_ns = 0, max_ns = 0;  // of the messages completed in it
  std::uint64_t connections_up = 0;                  // at the end of the interval
  std::uint64_t connect_failures_total = 0;          // since the start
};

// Threading: a plain value, returned by run().
struct TcpLoadResult {
  // Messages, bytes and latency count only the measured window (after the warm-up, until
  // duration_s elapsed or stop()); failures and mismatches count over the whole run, warm-up
  // included.
  TcpCounters totals;
  // Nanoseconds, from each message's due time to its last echoed byte. Open loop: the due time is
  // the schedule's, so time spent waiting behind a slow server counts (corrected for coordinated
  // omission). Closed loop: a message is due when it is written, so this is the service time.
  LatencyHistogram latency;
  // Open loop only (empty in closed loop): from each message's write to its last echoed byte.
  LatencyHistogram service;
  bool open_loop = false;
  // Measured seconds: to the end of the window, to stop(), or to the moment the last connection
  // was lost when every connection is gone (then rates are not diluted by the dead time).
  double measured_s = 0;
  double connect_phase_s = 0;
  std::uint64_t connections_established = 0;
  std::size_t threads = 0;
  bool stopped_early = false;  // stop() ended the run (a signal)
  // Every established connection failed during the traffic, so the run ended early; the reason
  // says whether the target still accepts connections ("every connection is gone; reconnecting
  // to 127.0.0.1:7 failed: Connection refused").
  bool all_connections_lost = false;
  std::string lost_reason;
  std::string first_connect_error;  // "connect 127.0.0.1:9: Connection refused", if any
  std::vector<SecondSample> series;

  double messages_per_s() const;
  double megabytes_per_s() const;  // echoed payload, 10^6 bytes per second
};

}  // namespace load
