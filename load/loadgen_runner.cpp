#include "load/loadgen_runner.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "load/report.h"

namespace load {

void print_tcp_progress(const SecondSample& sample, std::size_t message_size) {
  fmt::print(stderr, "{}\n", tcp_progress_line(sample, message_size));
}

void print_udp_progress(std::uint64_t sent, std::uint64_t errors, double elapsed_s) {
  fmt::print(stderr, "{}\n", udp_progress_line(sent, errors, elapsed_s));
}

void write_json(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error(fmt::format("cannot write JSON file '{}'", path));
}

int tcp_exit_code(const TcpLoadResult& result) {
  return result.connections_established == 0 && !result.stopped_early ? kExitCouldNotRun
                                                                      : kExitCompleted;
}

int finish_tcp_run(const TcpLoadConfig& config, const TcpLoadResult& result,
                   const std::string& json_path) {
  fmt::print("{}\n", tcp_summary_line(result));
  if (!json_path.empty()) write_json(json_path, tcp_json(config, result));
  const int exit_code = tcp_exit_code(result);
  if (exit_code == kExitCouldNotRun) {
    fmt::print(stderr, "{}: no connection could be made: {}\n", kLoadgenProgram,
               result.first_connect_error);
  }
  return exit_code;
}

int finish_udp_run(const UdpFloodConfig& config, const UdpFloodResult& result,
                   const std::string& json_path) {
  fmt::print("{}\n", udp_summary_line(config, result));
  if (!result.first_error.empty()) {
    fmt::print(stderr, "{}: {}\n", kLoadgenProgram, result.first_error);
  }
  if (!json_path.empty()) write_json(json_path, udp_json(config, result));
  return kExitCompleted;
}

}  // namespace load
