// The epoll yardstick (load/bench/epoll_echo_server.cpp) as its users see it: a real process on
// loopback, real sockets. It must echo every byte exactly, also when the peer half-closes and
// when a write is partial because the peer does not read, or the load test's figures for it
// would measure a server that drops data.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "tests/support/bytes.h"
#include "tests/support/process.h"
#include "tests/support/tcp_client.h"

using namespace std::chrono_literals;
using testing_support::Bytes;
using testing_support::ChildProcess;
using testing_support::Client;
using testing_support::End;
using testing_support::program_path;
using testing_support::random_bytes;

namespace {

// The yardstick on a port the kernel chooses; the port is read from its first line.
struct Yardstick {
  ChildProcess process{{program_path("epoll-echo-server"), "0"}};
  std::uint16_t port = 0;

  Yardstick() {
    const auto line = process.wait_for_stdout("listening on 127.0.0.1:", 60s);
    REQUIRE(line.has_value());
    port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
    REQUIRE(port != 0);
  }
};

}  // namespace

TEST_CASE("epoll-echo-server echoes binary data exactly and closes after a half-close") {
  Yardstick server;
  auto client = Client::connect("127.0.0.1", server.port);
  const auto payload = random_bytes(3 << 20, 41);  // every byte value, in random-sized pieces
  testing_support::ExchangeOptions options;
  options.max_chunk = 70000;
  options.seed = 7;
  const auto echoed = client.exchange(payload, options);  // half-closes, then reads to the end
  CHECK(echoed.end == End::eof);
  CHECK(echoed.data.size() == payload.size());
  CHECK(echoed.data == payload);
}

TEST_CASE("epoll-echo-server sends what a partial write left once the peer reads again") {
  Yardstick server;
  auto client = Client::connect("127.0.0.1", server.port);
  // The client reads nothing at first, so its receive buffer stays small (the kernel grows it
  // only as the application reads) and the server's send buffer (a few MiB at most) fills long
  // before 8 MiB came back: the server's writes must go partial.
  const auto stream = random_bytes(8 << 20, 42);
  std::size_t sent = 0;
  // First only write, never read: the echo fills the client's receive buffer, the server's
  // writes go partial and it must keep the rest instead of dropping it. Stops at 8 MiB or after
  // 50 writes in a row that found no room (bounded in count and time).
  for (int idle = 0, rounds = 0; sent < stream.size() && idle < 50 && rounds < 100000; ++rounds) {
    const auto wrote = client.send_some(std::span(stream).subspan(sent));
    REQUIRE(wrote.has_value());
    sent += *wrote;
    idle = *wrote == 0 ? idle + 1 : 0;
    if (*wrote == 0) std::this_thread::sleep_for(10ms);
  }
  MESSAGE("written before the first read: " << sent << " bytes");
  // Then read everything back while writing the rest.
  Bytes back;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  bool ended = false;
  for (int rounds = 0; back.size() < stream.size() && !ended && rounds < 1000000 &&
                       std::chrono::steady_clock::now() < deadline;
       ++rounds) {
    if (sent < stream.size()) {
      const auto wrote = client.send_some(std::span(stream).subspan(sent));
      if (wrote) sent += *wrote;
    }
    const auto got = client.read_available(back);
    ended = !got.has_value();
    if (got && *got == 0) std::this_thread::sleep_for(1ms);
  }
  REQUIRE(back.size() == stream.size());
  CHECK(std::equal(back.begin(), back.end(), stream.begin()));
  client.shutdown_send();
  const auto rest = client.read_to_end(30s);
  CHECK(rest.end == End::eof);
  CHECK(rest.data.empty());
}

TEST_CASE("epoll-echo-server exits 0 on SIGTERM and 2 with one line on a bad port") {
  {
    Yardstick server;
    server.process.signal(SIGTERM);
    CHECK(server.process.wait(30s) == std::optional<int>(0));
  }
  const auto run = testing_support::run_program({program_path("epoll-echo-server"), "99999"});
  CHECK(run.exit_code == std::optional<int>(2));
  CHECK(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n') == 1);
  CHECK(run.stderr_text.find("(try --help)") != std::string::npos);
}
