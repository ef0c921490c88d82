// loadgen: verified TCP echo load with latency percentiles, and numbered UDP floods.
// The contract is in docs/design.md; the logic lives in load/ (the run and its output in
// load/loadgen_runner.h) where the tests reach it.
//
//   loadgen tcp HOST:PORT [-c CONNS] [-s BYTES] [-d SECS] [--depth N] [--rate R] [--warmup SECS]
//                         [--connect-rate R] [--connect-timeout SECS] [--threads N] [--json FILE]
//   loadgen udp HOST:PORT [-n COUNT] [--rate R] [-s BYTES] [--json FILE]
//
// Output: a progress line once a second on stderr; at the end one line on stdout,
// "summary: key=value ..." (keys in load/report.h); --json FILE gets everything, per-second series
// included. Exit 0 when the run completed (errors and mismatches are reported, not fatal), 1 when
// it could not run (nothing resolves, no connection at all, unwritable --json file), 2 for bad
// options.

#include <unistd.h>

#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "apps/app_support.h"
#include "base/diagnostics.h"
#include "base/process_settings.h"
#include "base/signal_waiter.h"
#include "load/config_error.h"
#include "load/loadgen_runner.h"
#include "load/udp_flood.h"
#include "net/endpoint.h"

namespace {

constexpr std::string_view kProgram = load::kLoadgenProgram;

// A configuration error from load/ in the user's terms: the option that set the wrong field.
int config_error(base::Diagnostics& diagnostics, const load::ConfigError& error) {
  static constexpr std::pair<std::string_view, std::string_view> kOptionOfField[] = {
      {"connections", "-c"}, {"message_size", "-s"},
      {"size", "-s"},        {"duration_s", "-d"},
      {"depth", "--depth"},  {"warmup_s", "--warmup"},
      {"rate", "--rate"},    {"connect_rate", "--connect-rate"},
      {"count", "-n"},       {"connect_timeout_s", "--connect-timeout"}};
  for (const auto& [field, option] : kOptionOfField) {
    if (field == error.field()) {
      return app::usage_error(diagnostics, fmt::format("{} {}", option, error.requirement()));
    }
  }
  return app::usage_error(diagnostics, error.what());
}

// An option with its default shown in --help and its value checked before conversion.
template <typename T>
void add_checked(CLI::App* command, const std::string& name, T& value, const std::string& help,
                 const CLI::Validator& check) {
  command->add_option(name, value, help)->capture_default_str()->check(check);
}

// A subcommand's options, as parsed.
template <typename Config>
struct Command {
  CLI::App* cli = nullptr;
  std::string target;
  std::string json_path;
  Config config;
};

void add_tcp_options(CLI::App& cli, Command<load::TcpLoadConfig>& tcp) {
  auto* cmd = tcp.cli = cli.add_subcommand("tcp", "TCP echo load with verified echoes and latency");
  auto& config = tcp.config;
  cmd->add_option("target", tcp.target, "HOST:PORT of the echo server")
      ->required()
      ->check(app::host_and_port());
  add_checked(cmd, "-c,--connections", config.connections, "connections",
              app::whole_number(1, 1000000));
  add_checked(cmd, "-s,--size", config.message_size, "bytes per message",
              app::whole_number(1, 64 * 1024 * 1024));
  add_checked(cmd, "-d,--duration", config.duration_s, "measured seconds (after the warm-up)",
              app::seconds(/*zero_allowed=*/false));
  add_checked(cmd, "--depth", config.depth, "messages in flight per connection (closed loop)",
              app::whole_number(1, 100000));
  add_checked(cmd, "--rate", config.rate,
              "total messages/s, open loop (latency from each message's scheduled time); "
              "0 = closed loop",
              app::rate());
  add_checked(cmd, "--warmup", config.warmup_s, "seconds of traffic before measuring",
              app::seconds(/*zero_allowed=*/true));
  add_checked(cmd, "--connect-rate", config.connect_rate, "new connections/s; 0 = unpaced",
              app::rate());
  add_checked(cmd, "--connect-timeout", config.connect_timeout_s, "seconds per connect attempt",
              app::seconds(/*zero_allowed=*/false));
  add_checked(cmd, "--threads", config.threads, "client threads; 0 = min(4, cores)",
              app::whole_number(0, 256));
  cmd->add_option("--json", tcp.json_path, "write every figure and the per-second series");
}

void add_udp_options(CLI::App& cli, Command<load::UdpFloodConfig>& udp) {
  auto* cmd = udp.cli = cli.add_subcommand("udp", "numbered UDP datagram flood");
  cmd->add_option("target", udp.target, "HOST:PORT to flood")
      ->required()
      ->check(app::host_and_port());
  add_checked(cmd, "-n,--count", udp.config.count, "datagrams to send",
              app::whole_number(1, load::kMaxDatagramCount));
  add_checked(cmd, "--rate", udp.config.rate, "datagrams/s; 0 = as fast as possible", app::rate());
  add_checked(cmd, "-s,--size", udp.config.size, "bytes per datagram (10 to 65507)",
              app::whole_number(load::kMinDatagramSize, load::kMaxDatagramSize));
  cmd->add_option("--json", udp.json_path, "write every figure as JSON");
}

}  // namespace

int main(int argc, char** argv) {
  base::SignalWaiter signals("loadgen");  // first: also ignores SIGPIPE, for every thread
  app::flush_lines_always();
  base::Diagnostics diagnostics(STDERR_FILENO, std::string(kProgram));
  CLI::App cli{"Load generator: verified TCP echo load and numbered UDP floods",
               std::string(kProgram)};
  cli.require_subcommand(1);
  Command<load::TcpLoadConfig> tcp;
  Command<load::UdpFloodConfig> udp;
  add_tcp_options(cli, tcp);
  add_udp_options(cli, udp);
  if (const int code = app::parse_command_line(cli, argc, argv, diagnostics); code >= 0) {
    return code;
  }
  try {
    // The targets passed app::host_and_port() already: parsing them again cannot fail.
    if (tcp.cli->parsed()) tcp.config.target = net::parse_host_port(tcp.target);
    if (udp.cli->parsed()) udp.config.target = net::parse_host_port(udp.target);
    base::raise_open_file_limit();  // 10,000 connections need 10,000 descriptors
    if (tcp.cli->parsed()) {
      return load::run_tcp_command(tcp.config, tcp.json_path, signals, diagnostics);
    }
    return load::run_udp_command(udp.config, udp.json_path, signals, diagnostics);
  } catch (const load::ConfigError& error) {
    return config_error(diagnostics, error);
  } catch (const std::exception& error) {
    diagnostics.error(error.what());
    return app::kExitFailure;
  }
}
