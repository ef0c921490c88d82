#include "load/loadgen_runner.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "base/text_escape.h"
#include "load/report.h"

namespace load {

void write_json(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.flush();
  if (!out) {
    throw std::runtime_error(
        fmt::format("cannot write JSON file {}", base::quote_for_error(path, 256)));
  }
}

int tcp_exit_code(const TcpLoadResult& result) {
  return result.connections_established == 0 && !result.stopped_early ? kExitCouldNotRun
                                                                      : kExitCompleted;
}

int finish_tcp_run(const TcpLoadConfig& config, const TcpLoadResult& result,
                   const std::string& json_path, base::Diagnostics& diagnostics) {
  fmt::print("{}\n", tcp_summary_line(result));
  if (!json_path.empty()) write_json(json_path, tcp_json(config, result));
  const int exit_code = tcp_exit_code(result);
  if (exit_code == kExitCouldNotRun) {
    diagnostics.print_error("no connection could be made: {}", result.first_connect_error);
  }
  return exit_code;
}

int finish_udp_run(const UdpFloodConfig& config, const UdpFloodResult& result,
                   const std::string& json_path, base::Diagnostics& diagnostics) {
  fmt::print("{}\n", udp_summary_line(config, result));
  if (!result.first_error.empty()) diagnostics.error(result.first_error);
  if (!json_path.empty()) write_json(json_path, udp_json(config, result));
  return kExitCompleted;
}

}  // namespace load
