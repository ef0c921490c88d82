#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "load/tcp_load_types.h"

namespace load {

struct TrafficWindow;

// The TCP echo load generator: `connections` connections spread over a few threads (TcpWorker),
// each thread with its own asio::io_context; each connection (TcpConnection) writes its messages,
// reads the echoes and checks every byte with a PayloadChecker. A failed connection is counted
// and not reopened.
//
// The run, in phases: connect everyone (paced by connect_rate, bounded by the connect timeout);
// then warmup_s + duration_s of traffic, unless nothing connected, and ending early once every
// connection is gone (TcpLoadResult::all_connections_lost); then the sockets are closed and the
// threads joined. Echoes still in flight at the end are not counted. Throughout, once a second
// (one Ticker), the workers' counts become a line of the series and a progress callback.
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
  using Clock = std::chrono::steady_clock;
  struct Run;  // one run's workers, beat and figures (defined with run())

  // The phases of run(); connect_all() and run_traffic() return true if stop() ended them.
  bool connect_all(Run& run);
  bool run_traffic(Run& run, const TrafficWindow& window);
  void finish(Run& run);
  void collect_totals(Run& run);
  // One line of the series from every worker's counts since the last one, shown as progress.
  static void take_sample(Run& run, Clock::time_point now);

  // Sleeps until `deadline` or stop(); true if stopped.
  bool wait_until(Clock::time_point deadline);

  TcpLoadConfig config_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;  // guarded by mutex_
};

}  // namespace load
