#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "load/latency_histogram.h"
#include "net/endpoint.h"

namespace load {

// What `loadgen tcp` is asked to do. Threading: a plain value (TcpLoad keeps its own copy).
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

enum class Phase { connecting, warmup, measuring };
const char* to_string(Phase phase);

// One line of the per-second series (also what the live progress line shows).
// Threading: a plain value.
struct SecondSample {
  double elapsed_s = 0;  // from the start of the run to the end of this interval
  double interval_s = 0;
  Phase phase = Phase::connecting;
  TcpCounters counts;  // during this interval
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
  LatencyHistogram latency;  // nanoseconds, from each message's due time to its last echoed byte
  double measured_s = 0;
  double connect_phase_s = 0;
  std::uint64_t connections_established = 0;
  std::size_t threads = 0;
  bool stopped_early = false;
  std::string first_connect_error;  // "connect 127.0.0.1:9: Connection refused", if any
  std::vector<SecondSample> series;

  double messages_per_s() const;
  double megabytes_per_s() const;  // echoed payload, 10^6 bytes per second
};

// The TCP echo load generator: `connections` connections spread over a few threads, each thread
// with its own asio::io_context (no shared state on the data path but one uncontended per-thread
// stats lock per read). Reads are async_read_some into a per-connection buffer sized to the
// traffic within a 64 MiB total budget; writes go straight to the non-blocking socket from one
// buffer per thread (only a tail the socket did not take is kept per connection, and waited on).
//
// Closed loop (rate == 0): each connection keeps `depth` messages in flight; a message is due
// the moment the one before it came back. Open loop (rate > 0): message k of a connection is due
// at a fixed schedule (rate/connections per connection, phases spread), however slow the server
// is, and its latency counts from that due time — a stalled server shows up in the tail instead
// of slowing the schedule down (no coordinated omission). Every echoed byte is checked with a
// PayloadChecker; a failed connection is counted and not reopened.
//
// The run: connect all (paced by connect_rate), then warmup_s + duration_s of traffic; then the
// sockets are closed and the threads joined. Echoes still in flight at the end are not counted.
//
// Threading: run() from one thread, once; stop() from any thread (a signal-waiting thread), to end
// the run early — run() then returns its result as usual. The progress callback is called on
// run()'s thread, once a second.
class TcpLoad {
 public:
  using Progress = std::function<void(const SecondSample&)>;

  // Throws ConfigError for a configuration that cannot run (size 0, depth 0, ...).
  explicit TcpLoad(TcpLoadConfig config);
  TcpLoad(const TcpLoad&) = delete;
  TcpLoad& operator=(const TcpLoad&) = delete;

  // Resolves the target (throws net::Error if it can't), runs, returns the figures. Blocking.
  TcpLoadResult run(const Progress& progress = {});

  // Ends run() early. Any thread; idempotent; never blocks for long.
  void stop() noexcept;

 private:
  // Sleeps until `deadline` or stop(); true if stopped.
  bool wait_until(std::chrono::steady_clock::time_point deadline);

  TcpLoadConfig config_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;  // guarded by mutex_
};

}  // namespace load
