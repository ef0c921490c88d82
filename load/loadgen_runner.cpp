#include "load/loadgen_runner.h"

#include <cstdio>

#include <fmt/format.h>

namespace load {

namespace {

// The summary goes to stdout, unless the JSON report does: then to stderr, so that stdout is
// the JSON alone.
void print_summary(const std::string& line, const ReportOutput& output,
                   base::Diagnostics& diagnostics) {
  if (output.to_stdout()) {
    diagnostics.line(line);
  } else {
    fmt::print("{}\n", line);
  }
}

// 1 with one line saying why when `failures` is not empty, else 0.
int failure_exit(const std::string& failures, base::Diagnostics& diagnostics) {
  if (failures.empty()) return kExitCompleted;
  diagnostics.print_error("exit 1: {}", failures);
  return kExitFailed;
}

}  // namespace

int tcp_exit_code(const TcpLoadResult& result) {
  if (result.connections_established == 0 && !result.stopped_early) return kExitFailed;
  return tcp_failures(result.totals).empty() ? kExitCompleted : kExitFailed;
}

std::string early_stop_line(const TcpLoadConfig& config, const TcpLoadResult& result) {
  return fmt::format("{}: stopped early, rates over the {:.3f} s measured of {} s",
                     result.lost_reason, result.measured_s, config.duration_s);
}

int finish_tcp_run(const RunInfo& info, const TcpLoadConfig& config, const TcpLoadResult& result,
                   ReportOutput& output, base::Diagnostics& diagnostics) {
  if (result.all_connections_lost) diagnostics.error(early_stop_line(config, result));
  print_summary(tcp_summary_line(tcp_figures(result)), output, diagnostics);
  if (output.enabled()) output.write(tcp_report(info, config, result));
  if (result.connections_established == 0 && !result.stopped_early) {
    diagnostics.print_error("no connection could be made: {}", result.first_connect_error);
    return kExitFailed;
  }
  return failure_exit(tcp_failures(result.totals), diagnostics);
}

int finish_udp_run(const RunInfo& info, const UdpFloodConfig& config, const UdpFloodResult& result,
                   ReportOutput& output, base::Diagnostics& diagnostics) {
  const auto figures = udp_figures(config, result);
  print_summary(udp_summary_line(figures), output, diagnostics);
  if (output.enabled()) output.write(udp_report(info, config, result));
  const auto failures = udp_failures(figures);
  if (failures.empty()) return kExitCompleted;
  diagnostics.print_error("exit 1: {} (the first: {})", failures, result.first_error);
  return kExitFailed;
}

int run_merge_command(const RunInfo& info, const std::vector<std::string>& paths,
                      ReportOutput& output, base::Diagnostics& diagnostics) {
  std::vector<std::pair<std::string, nlohmann::json>> reports;
  for (const auto& path : paths) reports.emplace_back(path, read_report(path));
  const auto merged = merge_reports(info, reports);
  print_summary(merged.summary_line, output, diagnostics);
  if (output.enabled()) output.write(merged.report);
  return failure_exit(merged.failures, diagnostics);
}

}  // namespace load
