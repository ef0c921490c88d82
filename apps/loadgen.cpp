// loadgen: verified TCP echo load with latency percentiles, and numbered UDP floods.
// See DESIGN.md for the contract; the logic lives in load/ where the tests reach it.
//
//   loadgen tcp HOST:PORT [-c CONNS] [-s BYTES] [-d SECS] [--depth N] [--rate R] [--warmup SECS]
//                         [--connect-rate R] [--threads N] [--json FILE]
//   loadgen udp HOST:PORT [-n COUNT] [--rate R] [-s BYTES] [--json FILE]
//
// Output: a progress line once a second on stderr; at the end one line on stdout,
// "summary: key=value ..." (keys in load/report.h); --json FILE gets everything, per-second series
// included. Exit 0 when the run completed (errors and mismatches are reported, not fatal), 1 when
// it could not run (nothing resolves, no connection at all, unwritable --json file), 2 for bad
// options.

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "apps/app_support.h"
#include "net/open_file_limit.h"
#include "load/config_error.h"
#include "load/report.h"
#include "load/tcp_load.h"
#include "load/udp_flood.h"
#include "net/endpoint.h"
#include "net/error.h"
#include "net/signal_waiter.h"

namespace {

constexpr std::string_view kProgram = "loadgen";

// A configuration error from load/ in the user's terms: the option that set the wrong field.
int config_error(const load::ConfigError& error) {
  static constexpr std::pair<std::string_view, std::string_view> kOptionOfField[] = {
      {"connections", "-c"},
      {"message_size", "-s"},
      {"size", "-s"},
      {"duration_s", "-d"},
      {"depth", "--depth"},
      {"warmup_s", "--warmup"},
      {"rate", "--rate"},
      {"connect_rate", "--connect-rate"},
      {"connect_timeout_s", "--connect-timeout"},
      {"count", "-n"},
      {"threads", "--threads"},
  };
  for (const auto& [field, option] : kOptionOfField) {
    if (field == error.field()) {
      return app::usage_error(kProgram, fmt::format("{} {}", option, error.requirement()));
    }
  }
  return app::usage_error(kProgram, error.what());
}

void write_json(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error(fmt::format("cannot write --json file '{}'", path));
}

// Runs `job` (a TcpLoad or UdpFlood) while a second thread waits for SIGINT/SIGTERM and stops it.
template <typename Job, typename Progress>
auto run_stoppable(net::SignalWaiter& signals, Job& job, const Progress& progress) {
  std::jthread stopper([&] {
    if (signals.wait() != 0) job.stop();
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

}  // namespace

int main(int argc, char** argv) {
  app::flush_lines_always();
  CLI::App cli{"Load generator: verified TCP echo load and numbered UDP floods",
               std::string(kProgram)};
  cli.require_subcommand(1);

  std::string tcp_target;
  load::TcpLoadConfig tcp;
  std::string tcp_json_path;
  auto* tcp_cmd = cli.add_subcommand("tcp", "TCP echo load with verified echoes and latency");
  tcp_cmd->add_option("target", tcp_target, "HOST:PORT of the echo server")->required();
  tcp_cmd->add_option("-c,--connections", tcp.connections, "connections")
      ->capture_default_str()->check(app::whole_number(1, 1000000));
  tcp_cmd->add_option("-s,--size", tcp.message_size, "bytes per message")
      ->capture_default_str()->check(app::whole_number(1, 64 * 1024 * 1024));
  tcp_cmd->add_option("-d,--duration", tcp.duration_s, "measured seconds (after the warm-up)")
      ->capture_default_str()->check(app::seconds(/*zero_allowed=*/false));
  tcp_cmd->add_option("--depth", tcp.depth, "messages in flight per connection (closed loop)")
      ->capture_default_str()->check(app::whole_number(1, 100000));
  tcp_cmd->add_option("--rate", tcp.rate,
                      "total messages/s, open loop (latency from each message's scheduled time); "
                      "0 = closed loop")
      ->capture_default_str()->check(app::rate());
  tcp_cmd->add_option("--warmup", tcp.warmup_s, "seconds of traffic before measuring")
      ->capture_default_str()->check(app::seconds(/*zero_allowed=*/true));
  tcp_cmd->add_option("--connect-rate", tcp.connect_rate, "new connections/s; 0 = unpaced")
      ->capture_default_str()->check(app::rate());
  tcp_cmd->add_option("--connect-timeout", tcp.connect_timeout_s, "seconds per connect attempt")
      ->capture_default_str()->check(app::seconds(/*zero_allowed=*/false));
  tcp_cmd->add_option("--threads", tcp.threads, "client threads; 0 = min(4, cores)")
      ->capture_default_str()->check(app::whole_number(0, 256));
  tcp_cmd->add_option("--json", tcp_json_path, "write every figure and the per-second series");

  std::string udp_target;
  load::UdpFloodConfig udp;
  std::string udp_json_path;
  auto* udp_cmd = cli.add_subcommand("udp", "numbered UDP datagram flood");
  udp_cmd->add_option("target", udp_target, "HOST:PORT to flood")->required();
  udp_cmd->add_option("-n,--count", udp.count, "datagrams to send")
      ->capture_default_str()->check(app::whole_number(1, 1'000'000'000'000));
  udp_cmd->add_option("--rate", udp.rate, "datagrams/s; 0 = as fast as possible")
      ->capture_default_str()->check(app::rate());
  udp_cmd->add_option("-s,--size", udp.size, "bytes per datagram (10 to 65507)")
      ->capture_default_str()->check(app::whole_number(load::kMinDatagramSize, load::kMaxDatagramSize));
  udp_cmd->add_option("--json", udp_json_path, "write every figure as JSON");

  if (const int code = app::parse_command_line(cli, argc, argv); code >= 0) return code;

  try {
    if (tcp_cmd->parsed()) tcp.target = net::parse_host_port(tcp_target);
    if (udp_cmd->parsed()) udp.target = net::parse_host_port(udp_target);
  } catch (const net::InvalidArgument& error) {
    return app::usage_error(kProgram, error.what());
  }

  try {
    net::raise_open_file_limit();  // 10,000 connections need 10,000 descriptors
    net::SignalWaiter signals;  // before any thread starts; also ignores SIGPIPE
    if (tcp_cmd->parsed()) {
      std::optional<load::TcpLoad> job;
      try {
        job.emplace(tcp);
      } catch (const load::ConfigError& error) {
        return config_error(error);
      }
      const auto progress = [&](const load::SecondSample& sample) {
        fmt::print(stderr, "{}\n", load::tcp_progress_line(sample, tcp.message_size));
      };
      const auto result = run_stoppable(signals, *job, progress);
      fmt::print("{}\n", load::tcp_summary_line(result));
      if (!tcp_json_path.empty()) write_json(tcp_json_path, load::tcp_json(tcp, result));
      if (result.connections_established == 0 && !result.stopped_early) {
        fmt::print(stderr, "{}: no connection could be made: {}\n", kProgram,
                   result.first_connect_error);
        return app::kExitFailure;
      }
      return 0;
    }
    std::optional<load::UdpFlood> job;
    try {
      job.emplace(udp);
    } catch (const load::ConfigError& error) {
      return config_error(error);
    }
    const auto progress = [](std::uint64_t sent, std::uint64_t errors, double elapsed) {
      fmt::print(stderr, "[{:4.0f}s] sent {} ({:.0f}/s) send errors {}\n", elapsed, sent,
                 elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0, errors);
    };
    const auto result = run_stoppable(signals, *job, progress);
    fmt::print("{}\n", load::udp_summary_line(udp, result));
    if (!result.first_error.empty()) fmt::print(stderr, "{}: {}\n", kProgram, result.first_error);
    if (!udp_json_path.empty()) write_json(udp_json_path, load::udp_json(udp, result));
    return 0;
  } catch (const std::exception& error) {
    fmt::print(stderr, "{}: {}\n", kProgram, error.what());
    return app::kExitFailure;
  }
}
