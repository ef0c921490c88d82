#include "apps/loadgen_options.h"

#include <utility>

#include <fmt/format.h>

#include "apps/app_support.h"
#include "load/loadgen_runner.h"

namespace app {

namespace {

// An option with its default shown in --help and its value checked before conversion.
template <typename T>
void add_checked(CLI::App* command, const std::string& name, T& value, const std::string& help,
                 const CLI::Validator& check) {
  command->add_option(name, value, help)->capture_default_str()->check(check);
}

void add_tcp_options(CLI::App& cli, LoadgenCommand<load::TcpLoadConfig>& tcp) {
  auto* cmd = tcp.cli = cli.add_subcommand("tcp", "TCP echo load with verified echoes and latency");
  auto& config = tcp.config;
  cmd->add_option("target", tcp.target, "HOST:PORT of the echo server")
      ->required()
      ->check(host_and_port());
  add_checked(cmd, "-c,--connections", config.connections, "connections", whole_number(1, 1000000));
  add_checked(cmd, "-s,--size", config.message_size, "bytes per message",
              whole_number(1, 64 * 1024 * 1024));
  add_checked(cmd, "-d,--duration", config.duration_s, "measured seconds (after the warm-up)",
              seconds(/*zero_allowed=*/false));
  add_checked(cmd, "--depth", config.depth, "messages in flight per connection (closed loop)",
              whole_number(1, 100000));
  add_checked(cmd, "--rate", config.rate,
              "total messages/s, open loop: p50_us..max_us count from each message's scheduled "
              "time (what a user waits, corrected for coordinated omission), service_*_us from "
              "its write (the server's service time); 0 = closed loop (from the write only)",
              rate());
  add_checked(cmd, "--warmup", config.warmup_s, "seconds of traffic before measuring",
              seconds(/*zero_allowed=*/true));
  add_checked(cmd, "--connect-rate", config.connect_rate, "new connections/s; 0 = unpaced", rate());
  add_checked(cmd, "--connect-timeout", config.connect_timeout_s, "seconds per connect attempt",
              seconds(/*zero_allowed=*/false));
  add_checked(cmd, "--threads", config.threads, "client threads; 0 = min(4, cores)",
              whole_number(0, 256));
  cmd->add_option("--json", tcp.json_path,
                  "write the JSON report (docs/json.md) with the per-second series; - = stdout "
                  "(the summary then goes to stderr)");
}

void add_udp_options(CLI::App& cli, LoadgenCommand<load::UdpFloodConfig>& udp) {
  auto* cmd = udp.cli = cli.add_subcommand("udp", "numbered UDP datagram flood");
  cmd->add_option("target", udp.target, "HOST:PORT to flood")->required()->check(host_and_port());
  add_checked(cmd, "-n,--count", udp.config.count, "datagrams to send",
              whole_number(1, load::kMaxDatagramCount));
  add_checked(cmd, "--rate", udp.config.rate, "datagrams/s; 0 = as fast as possible", rate());
  add_checked(cmd, "-s,--size", udp.config.size, "bytes per datagram (10 to 65507)",
              whole_number(load::kMinDatagramSize, load::kMaxDatagramSize));
  cmd->add_option("--json", udp.json_path,
                  "write the JSON report (docs/json.md); - = stdout (the summary then goes to "
                  "stderr)");
}

void add_merge_options(CLI::App& cli, LoadgenMerge& merge) {
  auto* cmd = merge.cli = cli.add_subcommand(
      "merge", "combine --json reports of simultaneous runs (several load machines) into one");
  cmd->add_option("files", merge.files, "the reports (same mode and message size)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--json", merge.json_path, "write the merged report; - = stdout");
}

}  // namespace

int loadgen_config_error(base::Diagnostics& diagnostics, const load::ConfigError& error) {
  static constexpr std::pair<std::string_view, std::string_view> kOptionOfField[] = {
      {"connections", "-c"}, {"message_size", "-s"},
      {"size", "-s"},        {"duration_s", "-d"},
      {"depth", "--depth"},  {"warmup_s", "--warmup"},
      {"rate", "--rate"},    {"connect_rate", "--connect-rate"},
      {"count", "-n"},       {"connect_timeout_s", "--connect-timeout"}};
  for (const auto& [field, option] : kOptionOfField) {
    if (field == error.field()) {
      return usage_error(diagnostics, fmt::format("{} {}", option, error.requirement()));
    }
  }
  return usage_error(diagnostics, error.what());
}

LoadgenCommandLine::LoadgenCommandLine()
    : cli("Load generator: verified TCP echo load and numbered UDP floods",
          std::string(load::kLoadgenProgram)) {
  cli.require_subcommand(1);
  add_tcp_options(cli, tcp);
  add_udp_options(cli, udp);
  add_merge_options(cli, merge);
  set_help_layout(cli,
                  {.groups = {},
                   .labels = {},
                   .footer = "Exit status: 0 when nothing failed; 1 on any error, mismatch, short\n"
                             "echo, connect failure or UDP send error (one stderr line says\n"
                             "which), or when it cannot run; 2 for usage errors.\n"
                             "\n"
                             "Examples:\n"
                             "  loadgen tcp 127.0.0.1:12000 -c 100 -s 64 -d 10\n"
                             "      100 connections of 64-byte messages for 10 s\n"
                             "  loadgen tcp [::1]:12000 --rate 20000 --json run.json\n"
                             "      20000 messages/s, every figure to run.json\n"
                             "  loadgen tcp 127.0.0.1:12000 -d 5 --json - | python3 -m json.tool\n"
                             "      the JSON report alone on stdout\n"
                             "  loadgen merge host1.json host2.json --json all.json\n"
                             "      runs from several load machines as one report\n"
                             "  loadgen udp 127.0.0.1:7890 -n 10000 --rate 5000\n"
                             "      10000 numbered datagrams at 5000/s"});
  set_help_layout(*tcp.cli,
                  {.groups = {{"Load", {"-c", "-s", "-d", "--depth", "--rate", "--warmup"}},
                              {"Connecting", {"--connect-rate", "--connect-timeout", "--threads"}},
                              {"Output", {"--json"}}},
                   .labels = {{"-s", "BYTES"}, {"--json", "FILE"}},
                   .footer = "Examples:\n"
                             "  loadgen tcp 127.0.0.1:12000 -c 100 -s 64 -d 10\n"
                             "      100 connections of 64-byte messages for 10 s\n"
                             "  loadgen tcp [::1]:12000 -c 10 --rate 20000 --json -\n"
                             "      20000 messages/s, every figure as JSON on stdout"});
  set_help_layout(*udp.cli, {.groups = {{"Flood", {"-n", "--rate", "-s"}}, {"Output", {"--json"}}},
                             .labels = {{"-s", "BYTES"}, {"--json", "FILE"}},
                             .footer = "Examples:\n"
                                       "  loadgen udp 127.0.0.1:7890 -n 10000 --rate 5000\n"
                                       "      10000 numbered datagrams at 5000/s"});
}

}  // namespace app
