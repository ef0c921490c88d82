#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "net/echo_session.h"
#include "net/tcp_listener.h"
#include "net/thread_per_connection_server.h"
#include "tests/support/eventually.h"

using namespace std::chrono_literals;
using net::IoStatus;
using testing_support::eventually;

namespace {

class RecordingEvents : public net::ServerEvents {
 public:
  void opened(const net::ConnectionInfo&) override { ++opened_count; }
  void closed(const net::ConnectionInfo&, const net::SessionEnd& end) override {
    std::lock_guard lock(mutex);
    reasons.push_back(end.reason);
  }
  void refused(const asio::ip::tcp::endpoint&, net::Refusal why) override {
    std::lock_guard lock(mutex);
    refusals.push_back(why);
  }
  std::atomic<int> opened_count{0};
  std::mutex mutex;
  std::vector<std::string> reasons;
  std::vector<net::Refusal> refusals;
};

net::SessionEnd echo(net::TcpStream& stream, const net::ConnectionInfo&) {
  std::vector<std::byte> buffer(4096);
  return net::echo_session(stream, buffer);
}

struct RunningServer {
  net::TcpListener listener{net::parse_address("127.0.0.1"), 0};
  RecordingEvents events;
  net::ThreadPerConnectionServer server;
  std::jthread runner;
  asio::io_context io;

  explicit RunningServer(net::ServerLimits limits = {})
      : server(listener, std::move(limits), echo, events), runner([this] { server.run(); }) {}
  ~RunningServer() { server.stop(); }
  net::TcpStream connect() { return net::TcpStream::connect(io, listener.local_endpoint(), 5s); }
};

}  // namespace

TEST_CASE("each connection is echoed on its own thread, and stop() joins them all") {
  RunningServer running;
  std::vector<net::TcpStream> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(running.connect());
  for (std::size_t i = 0; i < clients.size(); ++i) {
    std::vector<std::byte> message(100, std::byte(i));
    REQUIRE(clients[i].write_all(message).status == IoStatus::ok);
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    std::vector<std::byte> back(100);
    clients[i].set_timeout(10s);
    REQUIRE(clients[i].read_exact(back).status == IoStatus::ok);
    CHECK(back == std::vector<std::byte>(100, std::byte(i)));
  }
  CHECK(eventually([&] { return running.server.stats().active == 8; }));
  running.server.stop();
  running.runner.join();  // returns only with every connection thread joined
  const auto stats = running.server.stats();
  CHECK(stats.active == 0);
  CHECK(stats.served == 8);
  CHECK(stats.bytes == 800);
  // The clients see the server's eof.
  for (auto& client : clients) {
    std::byte byte[1];
    client.set_timeout(10s);
    CHECK(client.read_some(byte).status != IoStatus::ok);
  }
}

TEST_CASE("connections over the cap are closed at once and counted, and the server goes on") {
  net::ServerLimits limits;
  limits.max_connections = 2;
  RunningServer running(limits);
  auto first = running.connect();
  auto second = running.connect();
  REQUIRE(eventually([&] { return running.server.stats().active == 2; }));
  auto third = running.connect();
  third.set_timeout(10s);
  std::byte byte[1];
  CHECK(third.read_some(byte).status != IoStatus::ok);  // closed by the server
  CHECK(eventually([&] { return running.server.stats().refused == 1; }));
  first.close();
  REQUIRE(eventually([&] { return running.server.stats().active == 1; }));
  auto fourth = running.connect();
  const std::byte ping[] = {std::byte{'x'}};
  REQUIRE(fourth.write_all(ping).status == IoStatus::ok);
  fourth.set_timeout(10s);
  CHECK(fourth.read_some(byte).status == IoStatus::ok);
}

TEST_CASE("the idle timeout closes a silent connection and counts it") {
  net::ServerLimits limits;
  limits.idle_timeout = 100ms;
  RunningServer running(limits);
  auto client = running.connect();
  client.set_timeout(10s);
  std::byte byte[1];
  CHECK(client.read_some(byte).status != IoStatus::ok);
  CHECK(eventually([&] { return running.server.stats().timed_out == 1; }));
}

TEST_CASE("peers outside the allow-list are closed at once") {
  net::ServerLimits limits;
  limits.allow.push_back(net::Cidr::parse("10.0.0.0/8"));
  RunningServer running(limits);
  auto client = running.connect();
  client.set_timeout(10s);
  std::byte byte[1];
  CHECK(client.read_some(byte).status != IoStatus::ok);
  CHECK(eventually([&] { return running.server.stats().denied == 1; }));
  CHECK(running.server.stats().served == 0);
}

TEST_CASE("a handler that throws costs its connection only") {
  net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
  RecordingEvents events;
  std::atomic<int> calls{0};
  net::ThreadPerConnectionServer server(
      listener, {},
      [&](net::TcpStream& stream, const net::ConnectionInfo& info) -> net::SessionEnd {
        if (calls++ == 0) throw std::runtime_error("boom");
        return echo(stream, info);
      },
      events);
  std::jthread runner([&] { server.run(); });
  asio::io_context io;
  auto doomed = net::TcpStream::connect(io, listener.local_endpoint(), 5s);
  REQUIRE(eventually([&] {
    std::lock_guard lock(events.mutex);
    return !events.reasons.empty();
  }));
  {
    std::lock_guard lock(events.mutex);
    CHECK(events.reasons[0] == "handler failed: boom");
  }
  auto fine = net::TcpStream::connect(io, listener.local_endpoint(), 5s);
  const std::byte ping[] = {std::byte{'y'}};
  REQUIRE(fine.write_all(ping).status == IoStatus::ok);
  std::byte back[1];
  fine.set_timeout(10s);
  CHECK(fine.read_some(back).status == IoStatus::ok);
  server.stop();
}

TEST_CASE("admission refuses in one order for every engine: allow-list, stopping, then the cap") {
  net::ServerLimits limits;
  limits.max_connections = 2;
  limits.allow = {net::Cidr::parse("127.0.0.0/8")};
  const auto inside = asio::ip::make_address("127.0.0.5");
  const auto outside = asio::ip::make_address("10.0.0.1");
  net::ServerStats stats;
  // Outside the allow-list is denied even while stopping or full, and counted as denied only.
  CHECK(net::admission_refusal(limits, outside, true, 2, stats) == net::Refusal::not_allowed);
  CHECK(stats.denied == 1);
  // A stopping server refuses without counting a refusal against the cap.
  CHECK(net::admission_refusal(limits, inside, true, 2, stats) == net::Refusal::stopping);
  CHECK(stats.refused == 0);
  CHECK(net::admission_refusal(limits, inside, false, 2, stats) == net::Refusal::over_capacity);
  CHECK(stats.refused == 1);
  CHECK_FALSE(net::admission_refusal(limits, inside, false, 1, stats).has_value());
  net::count_served(stats, 2);
  net::count_served(stats, 1);
  CHECK(stats.served == 2);
  CHECK(stats.peak_active == 2);
  // No cap and no allow-list: everyone is served.
  CHECK_FALSE(net::admission_refusal({}, outside, false, 100'000, stats).has_value());
  CHECK(stats.denied == 1);
  CHECK(stats.refused == 1);
}
