#pragma once

// The loadgen program once its options are parsed: the run, stoppable by a signal; its output
// (progress lines on stderr, the summary line on stdout, the JSON report); its exit code. The
// program's main() keeps options, wiring and signals; the rest is here, where tests reach it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "base/diagnostics.h"
#include "load/report.h"
#include "load/tcp_load.h"
#include "load/udp_flood.h"

namespace load {

inline constexpr std::string_view kLoadgenProgram = "loadgen";  // how its messages start

// Exit codes of a run that got going (bad options, 2, are the program's own business).
inline constexpr int kExitCompleted = 0;    // errors and mismatches are reported, not fatal
inline constexpr int kExitCouldNotRun = 1;  // nothing resolved, nothing connected, no JSON file

// Runs job.run(progress) (a TcpLoad or a UdpFlood) while a second thread waits on `signals` and
// stops the job when a signal comes. `signals` has int wait() (a signal number, or 0 once
// cancel() was called, also when it came first) and void cancel() noexcept, callable from another
// thread. The second thread is joined before this returns, also when run() throws.
// Threading: call from one thread; the job's stop() is called from the second one.
template <typename Signals, typename Job, typename Progress>
auto run_stoppable(Signals& signals, Job& job, const Progress& progress) {
  std::jthread stopper([&signals, &job] {
    // A thread never lets an exception escape; a wait that fails only means no early stop.
    try {
      if (signals.wait() != 0) job.stop();
    } catch (...) {
    }
  });
  try {
    auto result = job.run(progress);
    signals.cancel();
    return result;
  } catch (...) {
    signals.cancel();  // lets the stopper end, so its join cannot hang
    throw;
  }
}

// Writes `text` to the file at `path`, created or truncated; throws std::runtime_error if it
// cannot. Thread-safe (for different paths).
void write_json(const std::string& path, const std::string& text);

// kExitCouldNotRun when nothing connected (and no signal cut the connect phase short), else
// kExitCompleted. Thread-safe (pure).
int tcp_exit_code(const TcpLoadResult& result);

// After a run: prints the summary line on stdout, writes the JSON report if `json_path` is not
// empty, and for TCP says through `diagnostics` why nothing connected, if so. Returns the exit
// code. Throws std::runtime_error when the JSON file cannot be written. Call from one thread at a
// time.
int finish_tcp_run(const TcpLoadConfig& config, const TcpLoadResult& result,
                   const std::string& json_path, base::Diagnostics& diagnostics);
int finish_udp_run(const UdpFloodConfig& config, const UdpFloodResult& result,
                   const std::string& json_path, base::Diagnostics& diagnostics);

// A whole command: run (stoppable by `signals`, as run_stoppable()), progress lines once a second
// through `diagnostics` (formats in load/report.h), report, exit code. Throws
// ConfigError for a configuration that cannot run, net::Error when the target does not resolve,
// std::runtime_error when the JSON file cannot be written. Blocking; call from one thread.
template <typename Signals>
int run_tcp_command(const TcpLoadConfig& config, const std::string& json_path, Signals& signals,
                    base::Diagnostics& diagnostics) {
  TcpLoad job(config);
  const auto progress = [&](const SecondSample& sample) {
    diagnostics.line(tcp_progress_line(sample, config.message_size));
  };
  return finish_tcp_run(config, run_stoppable(signals, job, progress), json_path, diagnostics);
}

template <typename Signals>
int run_udp_command(const UdpFloodConfig& config, const std::string& json_path, Signals& signals,
                    base::Diagnostics& diagnostics) {
  UdpFlood job(config);
  const auto progress = [&](std::uint64_t sent, std::uint64_t errors, double elapsed_s) {
    diagnostics.line(udp_progress_line(sent, errors, elapsed_s));
  };
  return finish_udp_run(config, run_stoppable(signals, job, progress), json_path, diagnostics);
}

}  // namespace load
