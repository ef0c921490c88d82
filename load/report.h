#pragma once

// What the loadgen program prints and writes: the summary and progress lines, and the JSON report
// (schema in docs/json.md), for a run and for a merge of several runs' reports.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "load/latency_histogram.h"
#include "load/tcp_load_types.h"
#include "load/udp_flood.h"

namespace load {

inline constexpr char kReportSchema[] = "echo-chat-suite/loadgen";
inline constexpr int kReportSchemaVersion = 1;

// The suite's version (project(VERSION) in CMake). Thread-safe.
std::string_view suite_version();

// Who made a report, when and how. Threading: a plain value.
struct RunInfo {
  std::string version;
  std::string started_at;  // ISO 8601, local time with its offset: 2026-12-02T03:05:09+01:00
  std::string host;
  std::vector<std::string> command_line;
};
// The program's version, the time now, this machine's name and `argv`. Thread-safe.
RunInfo describe_run(int argc, const char* const* argv);
// `time` as ISO 8601 in local time with a ±HH:MM offset. Thread-safe.
std::string iso8601_local(std::time_t time);

// The figures a TCP summary and report show, from one run or from several merged.
// Threading: a plain value.
struct TcpFigures {
  TcpCounters totals;
  LatencyHistogram latency;                 // see TcpLoadResult::latency
  std::optional<LatencyHistogram> service;  // open loop only
  double seconds = 0;
  double msgs_per_s = 0;
  double MB_per_s = 0;
  std::uint64_t connections = 0;
};
TcpFigures tcp_figures(const TcpLoadResult& result);

// Threading: a plain value.
struct UdpFigures {
  std::uint64_t sent = 0;
  std::uint64_t send_errors = 0;
  double seconds = 0;
  double msgs_per_s = 0;
  double MB_per_s = 0;
};
UdpFigures udp_figures(const UdpFloodConfig& config, const UdpFloodResult& result);

// The rest: thread-safe (pure functions of their arguments).
//
// Summary (one line of space-separated key=value pairs after "summary:", numbers in plain
// decimal, times in microseconds with one decimal):
//   summary: msgs=N msgs_per_s=X MB_per_s=X p50_us=X p90_us=X p99_us=X p999_us=X max_us=X
//            mean_us=X errors=N mismatches=N connect_failures=N resets=N short_echoes=N
//            other_errors=N connections=N seconds=X
// and, open loop only, service_p50_us=X service_p99_us=X service_p999_us=X service_max_us=X.
// `errors` = resets + short_echoes + other_errors (connection-level failures after connecting).
// p*_us are from each message's scheduled time in an open loop, service_* from its write.
std::string tcp_summary_line(const TcpFigures& figures);
// Progress (stderr, once a second), one line:
//   "[  3s measuring] 95123 msgs/s 6.1 MB/s p99 215.0us conns 100 up 0 failed errors 0
//    mismatches 0"
std::string tcp_progress_line(const SecondSample& sample, std::size_t message_size);
// What makes the run a failure (exit 1), in words: "" when nothing did, else e.g.
// "4 short echoes, 1 mismatch".
std::string tcp_failures(const TcpCounters& totals);

//   summary: sent=N send_errors=N seconds=X msgs_per_s=X MB_per_s=X
std::string udp_summary_line(const UdpFigures& figures);
// Progress (stderr, about once a second):
//   "[   3s] sent 60000 (20000/s) send errors 0"
std::string udp_progress_line(std::uint64_t sent, std::uint64_t errors, double elapsed_s);
std::string udp_failures(const UdpFigures& figures);  // "" or "3 send errors"

// The whole report of a run (docs/json.md).
nlohmann::json tcp_report(const RunInfo& info, const TcpLoadConfig& config,
                          const TcpLoadResult& result);
nlohmann::json udp_report(const RunInfo& info, const UdpFloodConfig& config,
                          const UdpFloodResult& result);

// A histogram as a report keeps it, and back. histogram_from_json() throws ReportError.
nlohmann::json histogram_json(const LatencyHistogram& histogram);
LatencyHistogram histogram_from_json(const nlohmann::json& json);

// A report that cannot be read or merged: the message says which file and why.
// Threading: a plain value.
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and checks one report file (schema, version, mode). Throws ReportError. Thread-safe.
nlohmann::json read_report(const std::string& path);

// Several runs as one report (docs/json.md, "Merged reports"): counts and rates summed,
// percentiles from the merged histograms. `reports` pairs each file name with its contents (as
// read_report() returns them). Throws ReportError for reports that cannot be merged: none,
// another schema or version, tcp with udp, different message sizes. Thread-safe (pure);
// MergedReport is a plain value.
struct MergedReport {
  nlohmann::json report;
  std::string summary_line;
  std::string failures;  // as tcp_failures() or udp_failures()
};
MergedReport merge_reports(const RunInfo& info,
                           const std::vector<std::pair<std::string, nlohmann::json>>& reports);

}  // namespace load
