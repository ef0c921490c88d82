// Integration: the real loadgen against the real echo-server, against deliberately wrong echo
// servers (in this process), and as a UDP flood into a socket of ours. No timing assertions:
// only counts and verdicts, and every wait is bounded.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

std::string tcp_target(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

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
  const auto text = read_file(json);
  CHECK(text.find("\"series\": [") != std::string::npos);
  CHECK(text.find("\"t_s\":") != std::string::npos);
  CHECK(text.find("\"mismatches\": 0") != std::string::npos);
}

TEST_CASE("loadgen tcp open loop (--rate) with warm-up against echo-server") {
  auto server = start_echo_server({"--quiet"});
  const auto run = run_loadgen({"tcp", "[::1]:" + std::to_string(server.port), "-c", "3", "-s",
                                "64", "-d", "1", "--rate", "300", "--warmup", "0.5",
                                "--connect-rate", "100"});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 0);
  CHECK(run.number("msgs") > 0);
  // The schedule bounds it whatever the machine's speed: at most 300/s x (0.5 s warm-up + 1 s)
  // messages are ever due (+1 per connection for the phase rounding).
  CHECK(run.number("msgs") <= 453);
  CHECK(run.number("mismatches") == 0);
  CHECK(run.number("errors") == 0);
}

TEST_CASE("loadgen tcp against a server that flips bytes reports mismatches") {
  WrongEchoServer wrong(flipping_echo);
  const auto run = run_loadgen({"tcp", tcp_target(wrong.port()), "-c", "2", "-s", "2000", "-d",
                                "1"});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 0);
  CHECK(run.number("mismatches") > 0);
  CHECK(run.number("msgs") == 0);  // every 2000-byte message has two flipped bytes
}

TEST_CASE("loadgen tcp against a server that closes mid-echo reports short echoes") {
  WrongEchoServer wrong(short_echo);
  const auto run = run_loadgen({"tcp", tcp_target(wrong.port()), "-c", "3", "-s", "100", "-d",
                                "1"});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 0);
  CHECK(run.number("short_echoes") == 3);
  CHECK(run.number("errors") == 3);
  CHECK(run.number("mismatches") == 0);
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
  const auto run = run_loadgen({"udp", "127.0.0.1:" + std::to_string(port), "-n", "500", "-s",
                                "48", "--rate", "20000"});
  CHECK(run.exit_code == 0);
  CHECK(run.number("sent") == 500);
  CHECK(run.number("send_errors") == 0);
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
