// The async engine's own paths (docs/design.md, "Engines"): echoes written partly at once and
// partly by async_write, and a stop that must reach every event loop.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "net/echo_engine.h"
#include "net/endpoint.h"
#include "net/tcp_listener.h"
#include "tests/support/eventually.h"

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

// A plain blocking client socket, so that one thread may send while another receives; every
// call gives up after 20 s of no progress (SO_RCVTIMEO/SO_SNDTIMEO), so no wait is unbounded.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    const timeval limit{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Sends all of `data`; false on an error or a 20 s stall. `sent` counts what went out.
  bool send_all(const std::vector<std::byte>& data, std::atomic<std::size_t>& sent) {
    while (sent < data.size()) {
      const auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Receives exactly `into.size()` bytes; false at eof, on an error or after a 20 s stall.
  bool receive_exact(std::vector<std::byte>& into) {
    for (std::size_t got = 0; got < into.size();) {
      const auto n = ::recv(fd_, into.data() + got, into.size() - got, 0);
      if (n <= 0) return false;
      got += static_cast<std::size_t>(n);
    }
    return true;
  }

  // True when the next receive sees the server's eof.
  bool sees_eof() {
    std::byte byte{};
    return ::recv(fd_, &byte, 1, 0) == 0;
  }

  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
};

std::vector<std::byte> pattern(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<std::byte>((i * 131 + i / 7) & 0xff);
  return bytes;
}

}  // namespace

TEST_CASE("8 MiB sent before reading come back whole and in order, with one or two loops") {
  for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
    CAPTURE(threads);
    net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
    CountingEvents events;
    auto engine = net::make_echo_engine(net::EngineKind::async, listener, {}, events,
                                        {.threads = threads, .on_data = {}, .on_running = {}});
    std::jthread runner([&] { engine->run(); });
    {
      RawClient client(listener.local_endpoint().port());
      const auto sent_data = pattern(8 << 20);
      std::atomic<std::size_t> sent{0};
      std::atomic<bool> send_ok{false};
      std::jthread sender([&] { send_ok = client.send_all(sent_data, sent); });
      // Read only once everything is sent, or the socket buffers are full: the server's echoes
      // then meet a full send buffer, and finish through async_write.
      (void)eventually([&] { return sent.load() == sent_data.size(); }, 3s);
      std::vector<std::byte> back(sent_data.size());
      CHECK(client.receive_exact(back));
      sender.join();
      CHECK(send_ok.load());
      CHECK(back == sent_data);
      client.shutdown_send();
      CHECK(client.sees_eof());
      CHECK(eventually([&] { return events.closed_count.load() == 1; }));
    }
    engine->stop();
    runner.join();
    const auto stats = engine->stats();
    CHECK(stats.bytes == (8u << 20));
    CHECK(stats.active == 0);
  }
}

TEST_CASE("stop with clients on every loop ends each session and run() returns") {
  net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
  CountingEvents events;
  auto engine = net::make_echo_engine(net::EngineKind::async, listener, {}, events,
                                      {.threads = 3, .on_data = {}, .on_running = {}});
  std::jthread runner([&] { engine->run(); });
  std::vector<std::unique_ptr<RawClient>> clients;
  const auto hello = pattern(100);
  for (int i = 0; i < 7; ++i) {
    clients.push_back(std::make_unique<RawClient>(listener.local_endpoint().port()));
    std::atomic<std::size_t> sent{0};
    REQUIRE(clients.back()->send_all(hello, sent));
    std::vector<std::byte> back(hello.size());
    REQUIRE(clients.back()->receive_exact(back));
    CHECK(back == hello);
  }
  CHECK(engine->stats().active == 7);
  engine->stop();
  runner.join();  // every loop's thread returned
  for (auto& client : clients) CHECK(client->sees_eof());
  CHECK(events.closed_count.load() == 7);
  const auto stats = engine->stats();
  CHECK(stats.served == 7);
  CHECK(stats.active == 0);
  CHECK(stats.bytes == 700);
}
