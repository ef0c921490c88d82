// Integration: the real echo-server binary on a kernel-chosen port, driven over loopback by raw
// clients. Only counts, bytes and verdicts are asserted; every wait is bounded and no timing is
// asserted beyond generous "did not hang" limits.
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/bytes.h"
#include "tests/support/deadline.h"
#include "tests/support/echo_server_process.h"
#include "tests/support/eventually.h"
#include "tests/support/failures.h"
#include "tests/support/proc_stats.h"
#include "tests/support/process.h"
#include "tests/support/tcp_client.h"
#include "tests/support/text_checks.h"
#include "tests/support/usage_error.h"

using namespace std::chrono_literals;
using namespace testing_support;

namespace {

// Checks the usage-error contract for echo-server `args`. Unless the case is about --port,
// "--port 0" comes first, so that a wrongly accepted value binds no fixed port.
void check_usage_error(const std::vector<std::string>& args) {
  std::vector<std::string> with_port;
  const bool about_port = std::find(args.begin(), args.end(), "--port") != args.end();
  if (!about_port) with_port = {"--port", "0"};
  with_port.insert(with_port.end(), args.begin(), args.end());
  testing_support::check_usage_error("echo-server", with_port);
}

}  // namespace

TEST_CASE("the first stdout line names the real address and port and arrives through a pipe") {
  // start_server reads stdout through a pipe: a block-buffered line would never arrive while
  // the server runs, and this would time out instead.
  auto dual = start_echo_server();
  CHECK(std::regex_match(dual.listening_line, std::regex(R"(listening on \[::\]:[0-9]+)")));
  CHECK(dual.port != 0);
  auto v4 = start_echo_server({"--bind", "127.0.0.1"});
  CHECK(v4.listening_line == "listening on 127.0.0.1:" + std::to_string(v4.port));
  auto v6 = start_echo_server({"--bind", "::1"});
  CHECK(v6.listening_line == "listening on [::1]:" + std::to_string(v6.port));
  CHECK(echoes("127.0.0.1", v4.port));
  CHECK(echoes("::1", v6.port));
  for (auto* server : {&dual, &v4, &v6}) {
    const auto stopped = server->stop(SIGTERM);
    CHECK(stopped.exit_code == 0);
  }
}

TEST_CASE("after its re-exec the server is still named echo-server: comm and pgrep -x find it") {
  auto server = start_echo_server({"--bind", "127.0.0.1"});
  // The start this is about: the server re-executed itself with the lean thread memory settings.
  const auto environment = start_environment(server.pid());
  CHECK(std::any_of(environment.begin(), environment.end(), [](const std::string& variable) {
    return variable.starts_with("GLIBC_TUNABLES=") &&
           variable.find("glibc.rtld.optional_static_tls=0") != std::string::npos;
  }));
  CHECK(command_name(server.pid()) == "echo-server");
  const auto pgrep = find_in_path("pgrep");
  REQUIRE_MESSAGE(!pgrep.empty(), "pgrep (procps) is needed");
  // Other tests may run echo-servers meanwhile: this one's PID must be among those listed.
  const auto listed = run_program({pgrep, "-x", "echo-server"}, 30s);
  CHECK(listed.exit_code == 0);
  std::vector<std::string> pids;
  std::istringstream lines(listed.stdout_text);
  for (std::string line; std::getline(lines, line);) pids.push_back(line);
  CHECK(std::find(pids.begin(), pids.end(), std::to_string(server.pid())) != pids.end());
  CHECK(echoes("127.0.0.1", server.port));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
}

TEST_CASE("50 concurrent clients each get exactly their own bytes back") {
  auto server = start_echo_server({"--quiet"});
  constexpr int kClients = 50;
  std::vector<std::size_t> sizes(kClients);
  std::uint64_t total = 0;
  for (int i = 0; i < kClients; ++i) {
    // Mostly modest sizes, some of 1 MiB, a few tiny ones: partial reads everywhere.
    const std::size_t size = i % 10 == 0 ? 1 << 20 : i % 7 == 0 ? 1 + i : 4096 * (i + 1) + i;
    sizes[static_cast<std::size_t>(i)] = size;
    total += size;
  }
  Failures failures;
  std::atomic<int> ready{0};
  {
    std::vector<std::jthread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        const auto payload = random_bytes(sizes[static_cast<std::size_t>(i)], 1000 + i);
        std::string failure;
        try {
          auto client = Client::connect(i % 2 == 0 ? "127.0.0.1" : "::1", server.port);
          ++ready;
          // Start together, so the connections really overlap.
          eventually([&] { return ready.load() == kClients; }, 20s);
          ExchangeOptions options;
          options.seed = 7 + static_cast<std::uint64_t>(i);
          options.max_chunk = i % 3 == 0 ? 1000 : 65536;
          const auto back = client.exchange(payload, options);
          if (back.end != End::eof) failure = std::string("ended by ") + to_string(back.end);
          if (back.data != payload) {
            failure += " got " + std::to_string(back.data.size()) + " of " +
                       std::to_string(payload.size()) + " bytes" +
                       (back.data.size() == payload.size() ? " (different)" : "");
          }
        } catch (const std::exception& error) {
          failure = error.what();
        }
        if (!failure.empty()) failures.add("client " + std::to_string(i) + ": " + failure);
      });
    }
  }
  failures.report();
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == kClients);
  CHECK(stopped.count("bytes") == total);
  CHECK(stopped.count("refused") == 0);
}

TEST_CASE("all 256 byte values come back exactly, read one byte at a time") {
  auto server = start_echo_server();
  auto client = Client::connect("127.0.0.1", server.port);
  const auto payload = random_bytes(256, 42);
  REQUIRE(client.send_all(payload));
  const auto back = client.read_exact(payload.size(), 20s, 1);
  CHECK(back.end == End::complete);
  CHECK(back.data == payload);
  // And NUL bytes alone, which a C-string mistake would drop.
  const Bytes zeros(1000, std::byte{0});
  REQUIRE(client.send_all(zeros));
  CHECK(client.read_exact(zeros.size()).data == zeros);
}

TEST_CASE(
    "half-close: what was sent before the client's shutdown is echoed, "
    "then the server closes") {
  auto server = start_echo_server();
  SUBCASE("half-close right after sending, with the echo still in flight") {
    auto client = Client::connect("::1", server.port);
    const auto payload = random_bytes(300'000, 5);
    const auto back = client.exchange(payload, {.max_chunk = 20000, .seed = 3});
    CHECK(back.end == End::eof);
    CHECK(back.data == payload);
  }
  SUBCASE("half-close before reading anything") {
    auto client = Client::connect("127.0.0.1", server.port);
    const auto payload = random_bytes(100'000, 6);
    REQUIRE(client.send_all(payload));
    client.shutdown_send();
    const auto back = client.read_to_end();
    CHECK(back.end == End::eof);
    CHECK(back.data == payload);
  }
  SUBCASE("half-close with nothing sent") {
    auto client = Client::connect("127.0.0.1", server.port);
    client.shutdown_send();
    const auto back = client.read_to_end();
    CHECK(back.end == End::eof);
    CHECK(back.data.empty());
  }
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.stderr_text.find("closed by peer") != std::string::npos);
}

TEST_CASE("--max-conns: connections over the cap are closed at once and counted") {
  auto server = start_echo_server({"--max-conns", "3"});
  auto held = hold_served("127.0.0.1", server.port, 3);  // served, so counted
  std::uint64_t refused = 0;
  {
    auto over = Client::connect("127.0.0.1", server.port);
    over.send_all(bytes_of("let me in"));  // may fail already: the server closes at once
    const auto back = over.read_to_end(20s);
    CHECK(back.data.empty());
    CHECK(back.end != End::timeout);
    ++refused;
  }
  // The server goes on: with one connection closed, a new one is served. The server notices the
  // close asynchronously, so a connection may be refused while it does; each is counted.
  held.erase(held.begin());
  bool served = false;
  for (int attempt = 0; attempt < 200 && !served; ++attempt) {
    served = echoes("127.0.0.1", server.port, 10s);
    if (!served) {
      ++refused;
      std::this_thread::sleep_for(50ms);
    }
  }
  CHECK(served);
  // The held ones still work.
  for (auto& client : held) {
    const auto again = bytes_of("still here");
    REQUIRE(client.send_all(again));
    CHECK(client.read_exact(again.size()).data == again);
  }
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("refused") == refused);
  CHECK(stopped.count("served") == 4);
  CHECK(count_occurrences(stopped.stderr_text, "over --max-conns") == refused);
}

TEST_CASE("--idle-timeout: a silent client is disconnected") {
  auto server = start_echo_server({"--idle-timeout", "0.2"});
  auto client = Client::connect("127.0.0.1", server.port);
  const auto hello = bytes_of("hello");
  REQUIRE(client.send_all(hello));
  REQUIRE(client.read_exact(hello.size()).data == hello);
  const auto start = Clock::now();
  const auto back = client.read_to_end(30s);  // then silence
  CHECK(back.end == End::eof);
  CHECK(back.data.empty());
  CHECK(Clock::now() - start >= 150ms);  // it was the timeout, not an immediate close
  CHECK(echoes("::1", server.port));     // others are still served
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("timed_out") == 1);
  CHECK(stopped.stderr_text.find("idle timeout") != std::string::npos);
}

TEST_CASE("--idle-timeout: a client that sends megabytes but never reads is disconnected") {
  auto server = start_echo_server({"--idle-timeout", "0.2"});
  const auto idle = server.idle_footprint();
  auto client = Client::connect("127.0.0.1", server.port);
  REQUIRE(eventually([&] { return server.holds(idle, 1); }));
  const auto block = random_bytes(1 << 20, 9);
  // Keep sending, never read: the server's echo fills our receive buffer, it stops reading, our
  // sends stall; after 0.2 s without progress it must close. Bounded: 256 MiB or 60 s.
  const auto deadline = Clock::now() + 60s;
  std::uint64_t sent = 0;
  bool peer_gone = false;
  while (!peer_gone && Clock::now() < deadline && sent < (256ULL << 20)) {
    const auto wrote = client.send_some(block);
    if (!wrote) {
      peer_gone = true;
    } else if (*wrote == 0) {
      std::this_thread::sleep_for(20ms);
    }
    sent += wrote.value_or(0);
  }
  INFO("sent " << sent << " bytes");
  CHECK(peer_gone);
  CHECK(sent > 0);
  // Its socket (and thread) is gone too: it did not stay pinned.
  CHECK(eventually([&] { return server.holds(idle, 0); }));
  CHECK(echoes("127.0.0.1", server.port));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("timed_out") == 1);
}

TEST_CASE("--allow: peers outside every block are closed at once and counted") {
  SUBCASE("--allow 10.0.0.0/8 refuses 127.0.0.1 and ::1") {
    auto server = start_echo_server({"--allow", "10.0.0.0/8"});
    CHECK_FALSE(echoes("127.0.0.1", server.port));
    CHECK_FALSE(echoes("::1", server.port));
    const auto stopped = server.stop(SIGTERM);
    CHECK(stopped.exit_code == 0);
    CHECK(stopped.count("denied") == 2);
    CHECK(stopped.count("served") == 0);
    CHECK(stopped.stderr_text.find("refused 127.0.0.1:") != std::string::npos);
    CHECK(stopped.stderr_text.find("refused [::1]:") != std::string::npos);
  }
  SUBCASE("--allow 127.0.0.1 accepts it on the dual-stack default, not ::1") {
    auto server = start_echo_server({"--allow", "127.0.0.1"});
    CHECK(echoes("127.0.0.1", server.port));
    CHECK_FALSE(echoes("::1", server.port));
    const auto stopped = server.stop(SIGTERM);
    CHECK(stopped.count("denied") == 1);
    CHECK(stopped.count("served") == 1);
  }
  SUBCASE("--allow ::1 accepts IPv6 loopback, not 127.0.0.1") {
    auto server = start_echo_server({"--allow", "::1"});
    CHECK(echoes("::1", server.port));
    CHECK_FALSE(echoes("127.0.0.1", server.port));
    const auto stopped = server.stop(SIGTERM);
    CHECK(stopped.count("denied") == 1);
    CHECK(stopped.count("served") == 1);
  }
  SUBCASE("repeated --allow: any block admits") {
    auto server = start_echo_server(
        {"--allow", "10.0.0.0/8", "--allow", "127.0.0.0/8", "--allow", "::1/128"});
    CHECK(echoes("127.0.0.1", server.port));
    CHECK(echoes("::1", server.port));
    const auto stopped = server.stop(SIGTERM);
    CHECK(stopped.count("denied") == 0);
    CHECK(stopped.count("served") == 2);
  }
}

TEST_CASE("SIGTERM and SIGINT with clients connected: exit 0, summary, every thread joined") {
  for (const int signal : {SIGTERM, SIGINT}) {
    CAPTURE(signal);
    auto server = start_echo_server();
    const auto idle = server.idle_footprint();
    constexpr std::size_t kClients = 10;
    std::vector<Client> clients;
    for (std::size_t i = 0; i < kClients; ++i) {
      clients.push_back(Client::connect(i % 2 == 0 ? "127.0.0.1" : "::1", server.port));
      const auto hello = bytes_of("client " + std::to_string(i));
      REQUIRE(clients.back().send_all(hello));
      REQUIRE(clients.back().read_exact(hello.size()).data == hello);
    }
    // One socket per connection, and one thread each under the threads engine (no more, no
    // fewer) while the event-loop engines add none.
    CHECK(eventually([&] { return server.holds(idle, kClients); }));
    CHECK(server.holds(idle, kClients));
    const auto stopped = server.stop(signal, 30s);  // bounded: it did not hang
    REQUIRE(stopped.exit_code.has_value());
    CHECK(*stopped.exit_code == 0);
    CHECK(count_occurrences(stopped.stderr_text, "summary: ") == 1);
    CHECK(stopped.count("served") == kClients);
    CHECK(stopped.count("peak_active") == kClients);
    // Each client sees the server's end of the stream.
    for (auto& client : clients) {
      const auto end = client.read_to_end(20s);
      CHECK(end.end != End::timeout);
      CHECK(end.data.empty());
    }
  }
}

TEST_CASE("a port in use is one line on stderr and exit 1") {
  auto first = start_echo_server({"--bind", "127.0.0.1"});
  for (const std::string bind : {"127.0.0.1", "::"}) {
    CAPTURE(bind);
    const auto run = run_program(
        {program_path("echo-server"), "--bind", bind, "--port", std::to_string(first.port)});
    CHECK(run.exit_code == 1);
    CHECK(count_lines(run.stderr_text) == 1);
    CHECK(run.stderr_text.find("in use") != std::string::npos);
    CHECK(run.stdout_text.empty());
  }
  CHECK(echoes("127.0.0.1", first.port));  // the first one is untouched
}

TEST_CASE("bad options and values are one line on stderr and exit 2") {
  check_usage_error({"--port", "abc"});
  check_usage_error({"--port", "70000"});
  check_usage_error({"--port", "-1"});
  check_usage_error({"--port", "0x10"});
  check_usage_error({"--port", "a\nb"});  // still one line: control bytes are shown escaped
  check_usage_error({"--allow", "10.0.0.0/33"});
  check_usage_error({"--allow", "::1/129"});
  check_usage_error({"--allow", "nonsense"});
  check_usage_error({"--bind", "nonsense"});
  check_usage_error({"--bind", "localhost"});  // an address, not a name
  check_usage_error({"--frobnicate"});
  check_usage_error({"extra-argument"});
  check_usage_error({"--max-conns", "-3"});
  check_usage_error({"--max-conns", "abc"});
  check_usage_error({"--max-conns", "99999999999999999999999"});
  check_usage_error({"--idle-timeout", "0"});
  check_usage_error({"--idle-timeout", "-1"});
  check_usage_error({"--idle-timeout", "abc"});
  check_usage_error({"--idle-timeout", "nan"});
  check_usage_error({"--idle-timeout", "inf"});
  check_usage_error({"--idle-timeout", "1e300"});  // would overflow the microsecond count
  check_usage_error({"--stack-size", "1"});
  check_usage_error({"--quiet", "--verbose"});
  check_usage_error({"--port"});
}

TEST_CASE("--help prints usage and exits 0") {
  const auto run = run_program({program_path("echo-server"), "--help"});
  CHECK(run.exit_code == 0);
  CHECK(run.stdout_text.find("--port") != std::string::npos);
  CHECK(run.stdout_text.find("--max-conns") != std::string::npos);
  CHECK(run.stdout_text.find("--idle-timeout") != std::string::npos);
  CHECK(run.stdout_text.find("--allow") != std::string::npos);
  CHECK(run.stdout_text.find("--engine threads|async|uring") != std::string::npos);
  CHECK(run.stdout_text.find("--threads N") != std::string::npos);
}

TEST_CASE("--engine uring where the kernel refuses io_uring is one line on stderr and exit 1") {
  // refuse-io-uring makes io_uring_setup() fail with EPERM, as a seccomp policy or
  // kernel.io_uring_disabled does.
  const auto run = run_program({program_path("refuse-io-uring"), program_path("echo-server"),
                                "--engine", "uring", "--bind", "127.0.0.1", "--port", "0"});
  if (run.exit_code == 125) {
    MESSAGE("skipped: no seccomp filter can be installed here: " << run.stderr_text);
    return;
  }
  CHECK(run.exit_code == 1);
  CHECK(run.stderr_text.find("io_uring engine: the kernel refuses io_uring (use --engine async): "
                             "Operation not permitted") != std::string::npos);
  CHECK(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n') == 1);
  CHECK(run.stdout_text.find("listening on") == std::string::npos);
}

TEST_CASE("--verbose shows the data escaped, never raw control bytes") {
  auto server = start_echo_server({"--verbose"});
  auto client = Client::connect("127.0.0.1", server.port);
  const auto message = bytes_of("\x1b[31mred\n");
  REQUIRE(client.send_all(message));
  REQUIRE(client.read_exact(message.size()).data == message);
  std::string seen;
  CHECK(eventually([&] {
    seen = server.process->stderr_so_far();
    return seen.find("data #") != std::string::npos;
  }));
  CHECK(seen.find("\\x1b[31mred\\n") != std::string::npos);
  CHECK(seen.find('\x1b') == std::string::npos);
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.stderr_text.find('\x1b') == std::string::npos);
}
