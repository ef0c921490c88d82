// Integration: the real loadgen against the real echo-server, against deliberately wrong echo
// servers (in this process), and as a UDP flood into a socket of ours. No timing assertions:
// only counts and verdicts, and every wait is bounded.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "load/udp_flood.h"
#include "net/tcp_listener.h"
#include "net/thread_per_connection_server.h"
#include "net/udp_socket.h"
#include "tests/support/echo_server_process.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/summary.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_checks.h"
#include "tests/support/text_files.h"
#include "tests/support/usage_error.h"

using namespace std::chrono_literals;
using namespace testing_support;

namespace {

// A finished loadgen run and its summary line (on stdout).
struct LoadgenRun : ProgramRun {
  Summary summary;

  // A summary value that must be there.
  double number(const std::string& key) const {
    const auto value = summary.number(key);
    REQUIRE_MESSAGE(value.has_value(), "summary has no number " << key);
    return *value;
  }
};

// Runs loadgen to completion (bounded: 120 s).
LoadgenRun run_loadgen(const std::vector<std::string>& args) {
  std::vector<std::string> argv{program_path("loadgen")};
  argv.insert(argv.end(), args.begin(), args.end());
  LoadgenRun loadgen{run_program(argv, 120s), {}};
  loadgen.summary = Summary::parse(loadgen.stdout_text);
  return loadgen;
}

std::string tcp_target(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

// True if a line of `text` starts with `prefix`.
bool has_line_starting(const std::string& text, const std::string& prefix) {
  return text.starts_with(prefix) || text.find("\n" + prefix) != std::string::npos;
}

// The envelope every report has (docs/json.md), with the right types.
// `command` is the subcommand that made it: the mode, or "merge".
void check_report(const nlohmann::json& report, const std::string& mode,
                  const std::string& command = "") {
  CHECK(report.at("schema") == "echo-chat-suite/loadgen");
  CHECK(report.at("schema_version") == 1);
  CHECK(report.at("version").is_string());
  CHECK(report.at("started_at").is_string());
  CHECK(report.at("host").is_string());
  REQUIRE(report.at("command_line").is_array());
  CHECK(report["command_line"][0].get<std::string>().ends_with("loadgen"));
  CHECK(report["command_line"][1] == (command.empty() ? mode : command));
  CHECK(report.at("mode") == mode);
  CHECK(report.at("config").is_object());
  CHECK(report.at("results").is_object());
}

// An echo server of our own, in this process, with a handler that echoes wrongly.
struct WrongEchoServer {
  net::TcpListener listener{net::parse_address("127.0.0.1"), 0};
  net::ServerEvents events;
  net::ThreadPerConnectionServer server;
  std::jthread runner;

  explicit WrongEchoServer(net::ThreadPerConnectionServer::Handler handler)
      : server(listener, {}, std::move(handler), events), runner([this] { server.run(); }) {}
  ~WrongEchoServer() { server.stop(); }
  std::uint16_t port() const { return listener.local_endpoint().port(); }
};

// Echoes everything but flips one bit of every 1000th byte of the stream.
net::SessionEnd flipping_echo(net::TcpStream& stream, const net::ConnectionInfo&) {
  std::vector<std::byte> buffer(4096);
  std::uint64_t offset = 0;
  for (int reads = 0; reads < 10'000'000; ++reads) {  // bounded; ends at eof long before
    const auto got = stream.read_some(buffer);
    if (got.status != net::IoStatus::ok) break;
    for (std::size_t i = 0; i < got.bytes; ++i) {
      if ((offset + i) % 1000 == 500) buffer[i] ^= std::byte{0x20};
    }
    offset += got.bytes;
    if (stream.write_all(std::span(buffer.data(), got.bytes)).status != net::IoStatus::ok) break;
  }
  return {offset, "done", false};
}

// Echoes only the first 150 bytes of the stream, then closes: with 100-byte messages, one in
// flight, the echo of message 2 is cut short. It reads both messages whole before closing, so no
// unread data turns the close into a reset.
net::SessionEnd short_echo(net::TcpStream& stream, const net::ConnectionInfo&) {
  std::vector<std::byte> buffer(4096);
  std::size_t received = 0, echoed = 0;
  for (int reads = 0; reads < 1000 && received < 200; ++reads) {
    const auto got = stream.read_some(buffer);
    if (got.status != net::IoStatus::ok) break;
    received += got.bytes;
    const auto n = std::min(got.bytes, 150 - echoed);
    if (stream.write_all(std::span(buffer.data(), n)).status != net::IoStatus::ok) break;
    echoed += n;
  }
  stream.shutdown_send();
  return {echoed, "cut short", false};
}

}  // namespace

TEST_CASE("loadgen tcp against echo-server: messages flow, every byte checks out") {
  auto server = start_echo_server({"--quiet"});
  TempDir dir("loadgen-test");
  const auto json = dir.file("run.json");
  const auto run = run_loadgen({"tcp", tcp_target(server.port), "-c", "4", "-s", "300", "-d", "1",
                                "--depth", "2", "--json", json});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 0);
  REQUIRE(run.summary.found());
  for (const char* key : {"msgs_per_s", "MB_per_s", "p50_us", "p99_us", "p999_us", "max_us",
                          "errors", "mismatches", "connect_failures"}) {
    CHECK_MESSAGE(run.summary.has(key), key);
  }
  CHECK(run.number("msgs") > 0);
  CHECK(run.number("mismatches") == 0);
  CHECK(run.number("errors") == 0);
  CHECK(run.number("connect_failures") == 0);
  CHECK(run.number("connections") == 4);
  CHECK(run.number("p50_us") <= run.number("p99_us"));
  CHECK(run.number("p99_us") <= run.number("max_us"));
  // A progress line appeared on stderr, and the JSON has the per-second series.
  CHECK(run.stderr_text.find("msgs/s") != std::string::npos);
  const auto report = nlohmann::json::parse(read_file(json));
  check_report(report, "tcp");
  const auto& results = report["results"];
  CHECK(results["msgs"] == run.number("msgs"));
  CHECK(results["mismatches"] == 0);
  CHECK(results["failed"] == false);
  CHECK(results["latency_from"] == "send");
  CHECK(results["latency_histogram"]["count"] == results["msgs"]);
  REQUIRE(results.at("series").is_array());
  REQUIRE(!results["series"].empty());
  CHECK(results["series"][0]["t_s"].is_number());
  CHECK(report["config"]["connections"] == 4);
  CHECK(report["config"]["message_bytes"] == 300);
  // No line says the run failed: exit 0 and nothing to explain.
  CHECK(run.stderr_text.find("exit 1") == std::string::npos);
}

TEST_CASE("loadgen tcp open loop (--rate) with warm-up against echo-server") {
  auto server = start_echo_server({"--quiet"});
  const auto run =
      run_loadgen({"tcp", "[::1]:" + std::to_string(server.port), "-c", "3", "-s", "64", "-d", "1",
                   "--rate", "300", "--warmup", "0.5", "--connect-rate", "100"});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 0);
  CHECK(run.number("msgs") > 0);
  // The schedule bounds it whatever the machine's speed: at most 300/s x (0.5 s warm-up + 1 s)
  // messages are ever due (+1 per connection for the phase rounding).
  CHECK(run.number("msgs") <= 453);
  CHECK(run.number("mismatches") == 0);
  CHECK(run.number("errors") == 0);
  // Both latencies of an open loop: from the schedule, and from the write (service time).
  CHECK(run.number("service_p99_us") > 0);
  CHECK(run.number("service_max_us") > 0);
}

TEST_CASE("loadgen tcp against a server that flips bytes reports mismatches") {
  WrongEchoServer wrong(flipping_echo);
  const auto run =
      run_loadgen({"tcp", tcp_target(wrong.port()), "-c", "2", "-s", "2000", "-d", "1"});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 1);
  CHECK(run.number("mismatches") > 0);
  CHECK(run.number("msgs") == 0);  // every 2000-byte message has two flipped bytes
  CHECK(has_line_starting(run.stderr_text, "loadgen: exit 1: "));
  CHECK(run.stderr_text.find(" mismatch") != std::string::npos);
}

TEST_CASE("loadgen tcp against a server that closes mid-echo reports short echoes") {
  WrongEchoServer wrong(short_echo);
  const auto run =
      run_loadgen({"tcp", tcp_target(wrong.port()), "-c", "3", "-s", "100", "-d", "1"});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 1);
  CHECK(run.number("short_echoes") == 3);
  CHECK(run.number("errors") == 3);
  CHECK(run.number("mismatches") == 0);
  CHECK(has_line_starting(run.stderr_text, "loadgen: exit 1: 3 short echoes"));
  // Every connection gone while the server still accepts: the run stops, it does not idle.
  CHECK(has_line_starting(
      run.stderr_text,
      "loadgen: every connection is gone (the target still accepts connections): stopped early"));
}

TEST_CASE("loadgen tcp with nothing listening: connect failures, exit 1, one reason") {
  std::uint16_t port = 0;
  {
    net::TcpListener probe(net::parse_address("127.0.0.1"), 0);
    port = probe.local_endpoint().port();
  }  // closed: connecting to it is refused
  const auto run = run_loadgen({"tcp", tcp_target(port), "-c", "5", "-d", "1"});
  CHECK(run.exit_code == 1);
  CHECK(run.number("connect_failures") == 5);
  CHECK(run.number("connections") == 0);
  CHECK(run.stderr_text.find("no connection could be made: connect 127.0.0.1:") !=
        std::string::npos);
}

TEST_CASE("loadgen: bad options give one line on stderr and exit 2") {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"tcp"},
      {"tcp", "127.0.0.1"},
      {"tcp", "127.0.0.1:http"},
      {"tcp", "127.0.0.1:9", "-s", "0"},
      {"tcp", "127.0.0.1:9", "-c", "x"},
      {"tcp", "127.0.0.1:9", "--rate", "-5"},
      {"tcp", "127.0.0.1:9", "--rate", "nan"},
      {"tcp", "127.0.0.1:9", "-c", "-3"},
      {"tcp", "127.0.0.1:9", "-d", "1e300"},
      {"tcp", "127.0.0.1:9", "-d", "0"},
      {"udp", "127.0.0.1:9", "-n", "0x10"},
      {"tcp", "127.0.0.1:9", "--bogus"},
      {"udp", "127.0.0.1:9", "-s", "5"},
      {"bogus"},
  };
  for (const auto& args : bad) check_usage_error("loadgen", args);
  const auto help = run_loadgen({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.stdout_text.find("merge") != std::string::npos);
  CHECK(help.stdout_text.find("Examples:") != std::string::npos);
}

TEST_CASE("loadgen: a pace slower than one message a day is a usage error, not an endless run") {
  // Against a live server, so a run that wrongly starts has someone to talk to: it would never
  // end (the limit of run_program ends it) or print an overflowed latency.
  auto server = start_echo_server({"--quiet"});
  const auto target = tcp_target(server.port);
  struct Case {
    std::vector<std::string> args;
    std::string says;  // the start of the one stderr line
  };
  const std::vector<Case> cases = {
      {{"tcp", target, "-c", "10", "--rate", "1e-9", "-d", "1"}, "loadgen: --rate must be 0"},
      {{"tcp", target, "-c", "10", "--rate", "0.0001157", "-d", "1"}, "loadgen: --rate must be 0"},
      {{"tcp", target, "-c", "10", "--connect-rate", "1e-9", "-d", "1"},
       "loadgen: --connect-rate must be 0"},
      {{"udp", target, "--rate", "1e-9"}, "loadgen: --rate must be 0"},
      {{"udp", target, "-n", "10000000001"}, "loadgen: "},
  };
  for (const auto& [args, says] : cases) {
    std::vector<std::string> argv{program_path("loadgen")};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string shown = "loadgen";
    for (const auto& arg : args) shown += " " + arg;
    // A usage error exits at once: the limit only ends a run that wrongly started.
    const auto run = run_program(argv, 10s);
    INFO(shown << " -> stderr: " << run.stderr_text);
    CHECK(run.exit_code == 2);
    CHECK(count_lines(run.stderr_text) == 1);
    CHECK(run.stderr_text.starts_with(says));
    CHECK(run.stdout_text.empty());
  }
}

TEST_CASE("loadgen tcp at one message a day per connection still runs and ends on time") {
  auto server = start_echo_server({"--quiet"});
  // 10 connections at 0.0001158/s: each waits 86,356 s between messages, just under a day. Only
  // the first connection's first message falls into the one-second run.
  const auto run =
      run_loadgen({"tcp", tcp_target(server.port), "-c", "10", "--rate", "0.0001158", "-d", "1"});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 0);
  REQUIRE(run.summary.found());
  CHECK(run.number("msgs") <= 10);
  CHECK(run.number("mismatches") == 0);
  // Not a timing check: an overflowed schedule shows as hundreds of years here.
  CHECK(run.number("max_us") < 3600e6);
}

TEST_CASE("loadgen udp sends numbered datagrams a receiver can identify") {
  net::UdpSocket receiver(net::parse_address("127.0.0.1"), 0);
  receiver.set_receive_buffer(4 * 1024 * 1024);
  std::mutex mutex;
  std::set<std::uint64_t> seen;
  std::size_t unnumbered = 0, wrong_size = 0;
  std::jthread reader([&] {
    std::vector<std::vector<std::byte>> storage(16, std::vector<std::byte>(65536));
    std::vector<std::span<std::byte>> buffers(storage.begin(), storage.end());
    std::vector<net::Datagram> datagrams(16);
    for (int i = 0; i < 100'000; ++i) {  // bounded; ends when stopped
      const auto got = receiver.receive(buffers, datagrams);
      if (got.stopped) return;
      std::lock_guard lock(mutex);
      for (std::size_t d = 0; d < got.count; ++d) {
        if (datagrams[d].size != 48) ++wrong_size;
        const auto n = load::datagram_sequence(std::span(storage[d].data(), datagrams[d].size));
        if (n) {
          seen.insert(*n);
        } else {
          ++unnumbered;
        }
      }
    }
  });
  const auto port = receiver.local_endpoint().port();
  TempDir dir("loadgen-test");
  const auto json = dir.file("udp.json");
  const auto run = run_loadgen({"udp", "127.0.0.1:" + std::to_string(port), "-n", "500", "-s", "48",
                                "--rate", "20000", "--json", json});
  CHECK(run.exit_code == 0);
  CHECK(run.number("sent") == 500);
  CHECK(run.number("send_errors") == 0);
  const auto report = nlohmann::json::parse(read_file(json));
  check_report(report, "udp");
  CHECK(report["config"]["message_bytes"] == 48);
  CHECK(report["config"]["count"] == 500);
  CHECK(report["results"]["sent"] == 500);
  CHECK(report["results"]["send_errors"] == 0);
  CHECK(report["results"]["msgs_per_s"].is_number());
  CHECK(report["results"]["failed"] == false);
  // Loopback delivers them unless the receive buffer overflowed; wait (bounded) for the tail.
  eventually(
      [&] {
        std::lock_guard lock(mutex);
        return seen.size() == 500;
      },
      2s);
  receiver.stop();
  reader.join();
  CHECK(!seen.empty());
  CHECK(unnumbered == 0);
  CHECK(wrong_size == 0);
  CHECK(*seen.rbegin() < 500);
}

TEST_CASE("loadgen tcp stops cleanly on SIGINT: summary printed, exit 0") {
  auto server = start_echo_server({"--quiet"});
  ChildProcess child(
      {program_path("loadgen"), "tcp", tcp_target(server.port), "-c", "2", "-d", "60"});
  // Wait (bounded) for the first progress line: the traffic is running.
  const auto traffic_runs = [&] {
    return child.stderr_so_far().find("msgs/s") != std::string::npos;
  };
  REQUIRE(eventually(traffic_runs, 30s));
  child.signal(SIGINT);
  const auto summary = child.wait_for_stdout("summary:", 30s);
  REQUIRE(summary.has_value());
  CHECK(summary->find(" mismatches=0 ") != std::string::npos);
  CHECK(child.wait(30s) == 0);
}

TEST_CASE(
    "loadgen tcp stops early with exit 1 when the server dies, rates over the time measured") {
  auto server = start_echo_server({"--quiet"});
  TempDir dir("loadgen-test");
  const auto json = dir.file("run.json");
  ChildProcess child({program_path("loadgen"), "tcp", tcp_target(server.port), "-c", "4", "-d",
                      "60", "--json", json});
  // Wait (bounded) for a progress line of measured traffic, then kill the server outright.
  const auto measuring = [&] {
    return child.stderr_so_far().find("measuring]") != std::string::npos;
  };
  REQUIRE(eventually(measuring, 30s));
  server.stop(SIGKILL);
  // Far less than the 60 s asked for: the run ends once every connection is gone.
  const auto exit_code = child.wait(30s);
  const auto stderr_text = child.read_all_stderr(5s);
  INFO(stderr_text);
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 1);
  const auto summary_line = child.wait_for_stdout("summary:", 5s);
  REQUIRE(summary_line.has_value());
  const auto summary = Summary::parse(*summary_line);
  CHECK(has_line_starting(stderr_text,
                          "loadgen: every connection is gone; reconnecting to "
                          "127.0.0.1:" +
                              std::to_string(server.port) + " failed: "));
  CHECK(stderr_text.find("stopped early, rates over the ") != std::string::npos);
  CHECK(has_line_starting(stderr_text, "loadgen: exit 1: "));
  // The rates are over the measured time, which ended when the last connection went.
  const auto msgs = summary.number("msgs").value_or(-1);
  const auto seconds = summary.number("seconds").value_or(-1);
  const auto rate = summary.number("msgs_per_s").value_or(-1);
  CHECK(msgs > 0);
  CHECK(seconds > 0);
  CHECK(seconds < 60);
  CHECK(rate == doctest::Approx(msgs / seconds).epsilon(0.01));
  CHECK(summary.number("errors").value_or(0) + summary.number("mismatches").value_or(0) > 0);
  const auto report = nlohmann::json::parse(read_file(json));
  CHECK(report["results"]["all_connections_lost"] == true);
  CHECK(report["results"]["stopped_early"] == true);
  CHECK(report["results"]["failed"] == true);
  CHECK(report["results"]["seconds"].get<double>() == doctest::Approx(seconds).epsilon(0.01));
}

TEST_CASE("loadgen --json - writes the report alone on stdout, the summary on stderr") {
  auto server = start_echo_server({"--quiet"});
  TempDir dir("loadgen-test");
  const auto tcp =
      run_loadgen({"tcp", tcp_target(server.port), "-c", "2", "-d", "0.5", "--json", "-"});
  INFO(tcp.stderr_text);
  CHECK(tcp.exit_code == 0);
  nlohmann::json report;
  REQUIRE_NOTHROW(report = nlohmann::json::parse(tcp.stdout_text));
  check_report(report, "tcp");
  CHECK(has_line_starting(tcp.stderr_text, "summary: msgs="));

  net::UdpSocket receiver(net::parse_address("127.0.0.1"), 0);
  const auto port = receiver.local_endpoint().port();
  const auto udp =
      run_loadgen({"udp", "127.0.0.1:" + std::to_string(port), "-n", "10", "--json", "-"});
  CHECK(udp.exit_code == 0);
  REQUIRE_NOTHROW(report = nlohmann::json::parse(udp.stdout_text));
  check_report(report, "udp");
  CHECK(has_line_starting(udp.stderr_text, "summary: sent=10 "));
}

TEST_CASE("loadgen: a --json path that cannot be written is a usage error before any load") {
  auto server = start_echo_server({"--quiet"});
  TempDir dir("loadgen-test");
  const std::vector<std::string> paths = {dir.file("missing/run.json"), dir.path().string()};
  for (const auto& path : paths) {
    CAPTURE(path);
    const auto start = std::chrono::steady_clock::now();
    // -d 10: a run that wrongly starts lasts 10 s; the limit ends it long before.
    const auto run = run_program({program_path("loadgen"), "tcp", tcp_target(server.port), "-c",
                                  "2", "-d", "10", "--json", path},
                                 5s);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    INFO(run.stderr_text);
    CHECK(run.exit_code == 2);
    CHECK(count_lines(run.stderr_text) == 1);
    CHECK(run.stderr_text.starts_with("loadgen: --json '" + path + "': "));
    CHECK(run.stderr_text.ends_with("(try --help)\n"));
    CHECK(run.stdout_text.empty());
    // A bound, not a timing assertion: well under the 10 s a run would take.
    CHECK(elapsed < 5s);
  }
  CHECK(!std::filesystem::exists(dir.file("missing")));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.count("served") == 0);  // no load was sent
}

TEST_CASE("loadgen merge: a run with itself doubles counts, keeps percentiles, refuses others") {
  auto server = start_echo_server({"--quiet"});
  TempDir dir("loadgen-test");
  const auto a = dir.file("a.json"), merged_path = dir.file("merged.json");
  const auto run =
      run_loadgen({"tcp", tcp_target(server.port), "-c", "2", "-d", "0.5", "--json", a});
  REQUIRE(run.exit_code == 0);
  const auto merged = run_loadgen({"merge", a, a, "--json", merged_path});
  INFO(merged.stderr_text);
  CHECK(merged.exit_code == 0);
  CHECK(merged.number("msgs") == 2 * run.number("msgs"));
  CHECK(merged.number("connections") == 4);
  for (const char* key : {"p50_us", "p90_us", "p99_us", "p999_us", "max_us"}) {
    CAPTURE(key);
    CHECK(merged.number(key) == run.number(key));
  }
  const auto report = nlohmann::json::parse(read_file(merged_path));
  check_report(report, "tcp", "merge");
  CHECK(report["merged_from"].size() == 2);
  CHECK(report["results"]["msgs"] == 2 * run.number("msgs"));

  // Refused, as usage errors: another schema, and runs of different message sizes.
  std::ofstream(dir.file("other.json")) << R"({"schema": "iperf3", "schema_version": 1})";
  const auto b = dir.file("b.json");
  REQUIRE(run_loadgen(
              {"tcp", tcp_target(server.port), "-c", "1", "-s", "100", "-d", "0.3", "--json", b})
              .exit_code == 0);
  for (const auto& args : {std::vector<std::string>{"merge", a, dir.file("other.json")},
                           std::vector<std::string>{"merge", a, b}}) {
    const auto refused = run_loadgen(args);
    INFO(refused.stderr_text);
    CHECK(refused.exit_code == 2);
    CHECK(count_lines(refused.stderr_text) == 1);
    CHECK(refused.stderr_text.ends_with("(try --help)\n"));
    CHECK(refused.stdout_text.empty());
  }
}
