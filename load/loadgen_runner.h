#pragma once

// The loadgen program once its options are parsed: the run, stoppable by a signal; its output
// (progress lines on stderr, the summary line, the JSON report); its exit code. The program's
// main() keeps options, wiring and signals; the rest is here, where tests reach it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/diagnostics.h"
#include "load/report.h"
#include "load/report_output.h"
#include "load/tcp_load.h"
#include "load/udp_flood.h"

namespace load {

inline constexpr std::string_view kLoadgenProgram = "loadgen";  // how its messages start

// Exit codes of a command that got going (bad options, 2, are the program's own business).
inline constexpr int kExitCompleted = 0;  // ran, and nothing failed
// Nothing resolved, nothing connected, or something failed: an error, a mismatch, a short echo,
// a connect failure, a UDP send error (docs/design.md, loadgen). One stderr line says which.
inline constexpr int kExitFailed = 1;

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

// kExitFailed when nothing connected (and no signal cut the connect phase short) or anything
// failed (tcp_failures() not empty), else kExitCompleted. Thread-safe (pure).
int tcp_exit_code(const TcpLoadResult& result);

// The line said when every connection was lost: why, and over how much time the rates are.
// Thread-safe (pure).
std::string early_stop_line(const TcpLoadConfig& config, const TcpLoadResult& result);

// After a run: the early-stop line if every connection was lost; the summary line (stdout, or
// stderr when the JSON report goes to stdout); the JSON report if `output` is enabled; one line
// saying why the exit code is 1, if it is. Returns the exit code. Throws std::runtime_error when
// the report cannot be written. Call from one thread at a time.
int finish_tcp_run(const RunInfo& info, const TcpLoadConfig& config, const TcpLoadResult& result,
                   ReportOutput& output, base::Diagnostics& diagnostics);
int finish_udp_run(const RunInfo& info, const UdpFloodConfig& config, const UdpFloodResult& result,
                   ReportOutput& output, base::Diagnostics& diagnostics);

// `loadgen merge`: reads the reports at `paths`, merges them (merge_reports()), prints the
// summary and writes the merged report like a run; returns the exit code as a run would. Throws
// ReportError for files that cannot be read or merged. Blocking; call from one thread.
int run_merge_command(const RunInfo& info, const std::vector<std::string>& paths,
                      ReportOutput& output, base::Diagnostics& diagnostics);

// A whole command: run (stoppable by `signals`, as run_stoppable()), progress lines once a second
// through `diagnostics` (formats in load/report.h), report, exit code. Throws
// ConfigError for a configuration that cannot run, net::Error when the target does not resolve,
// std::runtime_error when the report cannot be written. Blocking; call from one thread.
template <typename Signals>
int run_tcp_command(const RunInfo& info, const TcpLoadConfig& config, ReportOutput& output,
                    Signals& signals, base::Diagnostics& diagnostics) {
  TcpLoad job(config);
  const auto progress = [&](const SecondSample& sample) {
    diagnostics.line(tcp_progress_line(sample, config.message_size));
  };
  return finish_tcp_run(info, config, run_stoppable(signals, job, progress), output, diagnostics);
}

template <typename Signals>
int run_udp_command(const RunInfo& info, const UdpFloodConfig& config, ReportOutput& output,
                    Signals& signals, base::Diagnostics& diagnostics) {
  UdpFlood job(config);
  const auto progress = [&](std::uint64_t sent, std::uint64_t errors, double elapsed_s) {
    diagnostics.line(udp_progress_line(sent, errors, elapsed_s));
  };
  return finish_udp_run(info, config, run_stoppable(signals, job, progress), output, diagnostics);
}

}  // namespace load
