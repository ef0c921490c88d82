#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "net/echo_engine.h"
#include "net/endpoint.h"
#include "net/error.h"
#include "net/tcp_listener.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_stats.h"

using namespace std::chrono_literals;
using testing_support::eventually;

namespace {

class CountingEvents : public net::ServerEvents {
 public:
  void opened(const net::ConnectionInfo&) override { ++opened_count; }
  void closed(const net::ConnectionInfo&, const net::SessionEnd&) override { ++closed_count; }
  std::atomic<int> opened_count{0};
  std::atomic<int> closed_count{0};
};

// Serves one connection through the engine `kind`, then stops it; returns its counters.
net::ServerStats echo_once_through(net::EngineKind kind, std::size_t threads) {
  net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
  CountingEvents events;
  auto engine = net::make_echo_engine(kind, listener, {}, events,
                                      {.threads = threads, .on_data = {}, .on_running = {}});
  REQUIRE(engine != nullptr);
  std::jthread runner([&] { engine->run(); });
  asio::io_context io;
  {
    auto client = net::TcpStream::connect(io, listener.local_endpoint(), 10s);
    client.set_timeout(10s);
    const std::string hello = "hello";
    std::vector<std::byte> sent(hello.size());
    std::memcpy(sent.data(), hello.data(), hello.size());
    REQUIRE(client.write_all(sent).status == net::IoStatus::ok);
    std::vector<std::byte> back(sent.size());
    REQUIRE(client.read_exact(back).status == net::IoStatus::ok);
    CHECK(back == sent);
    client.shutdown_send();
    CHECK(eventually([&] { return events.closed_count.load() == 1; }));
  }
  engine->stop();
  engine->stop();  // idempotent
  runner.join();   // run() returned: every engine thread joined
  CHECK(events.opened_count.load() == 1);
  return engine->stats();
}

}  // namespace

TEST_CASE("engine names parse both ways and nothing else parses") {
  for (const auto kind :
       {net::EngineKind::threads, net::EngineKind::async, net::EngineKind::uring}) {
    CHECK(net::parse_engine_kind(net::to_string(kind)) == kind);
  }
  CHECK_FALSE(net::parse_engine_kind("epoll").has_value());
  CHECK_FALSE(net::parse_engine_kind("").has_value());
}

TEST_CASE("the threads engine from the factory echoes, counts and stops") {
  const auto stats = echo_once_through(net::EngineKind::threads, 0);
  CHECK(stats.served == 1);
  CHECK(stats.bytes == 5);
  CHECK(stats.active == 0);
}

TEST_CASE("the async engine from the factory echoes, counts and stops with one or four threads") {
  for (const std::size_t threads : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(threads);
    const auto stats = echo_once_through(net::EngineKind::async, threads);
    CHECK(stats.served == 1);
    CHECK(stats.bytes == 5);
    CHECK(stats.active == 0);
  }
}

TEST_CASE("the uring engine from the factory echoes, counts and stops with one or four threads") {
  for (const std::size_t threads : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(threads);
    const auto stats = echo_once_through(net::EngineKind::uring, threads);
    CHECK(stats.served == 1);
    CHECK(stats.bytes == 5);
    CHECK(stats.active == 0);
  }
}

TEST_CASE("on_running is called once, with every thread of the engine already started") {
  for (const auto kind : {net::EngineKind::threads, net::EngineKind::async}) {
    CAPTURE(net::to_string(kind));
    net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
    CountingEvents events;
    std::atomic<int> calls{0};
    std::atomic<std::size_t> threads_then{0};
    const auto threads_before = testing_support::count_threads(::getpid());
    auto engine = net::make_echo_engine(
        kind, listener, {}, events, {.threads = 3, .on_data = {}, .on_running = [&] {
                                       ++calls;
                                       threads_then = testing_support::count_threads(::getpid());
                                     }});
    std::jthread runner([&] { engine->run(); });
    REQUIRE(eventually([&] { return calls.load() == 1; }));
    // The runner, and besides it the reaper (threads) or two more event loops (async).
    const std::size_t engine_threads = kind == net::EngineKind::threads ? 2 : 3;
    CHECK(threads_then.load() >= threads_before + engine_threads);
    engine->stop();
    runner.join();
    CHECK(calls.load() == 1);
  }
}
