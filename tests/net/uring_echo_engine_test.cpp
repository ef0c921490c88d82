#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/endpoint.h"
#include "net/tcp_listener.h"
#include "net/uring_echo_engine.h"
#include "tests/support/eventually.h"

using namespace std::chrono_literals;
using testing_support::eventually;

TEST_CASE("a kernel that refuses io_uring is named as such, with the engine to use instead") {
  for (const int error : {EPERM, EACCES, ENOSYS}) {
    CAPTURE(error);
    CHECK(net::uring_setup_failure(error) ==
          "io_uring engine: the kernel refuses io_uring (use --engine async)");
  }
}

TEST_CASE("any other ring setup failure is not blamed on a refusing kernel") {
  const auto line = net::uring_setup_failure(ENOMEM);
  CHECK(line.find("refuses") == std::string::npos);
  CHECK(line.find("--engine async") != std::string::npos);
}

TEST_CASE("the idle tick is a quarter of the timeout, kept between 10 ms and 1 s") {
  CHECK(net::uring_idle_tick(2000ms) == 500ms);
  CHECK(net::uring_idle_tick(1ms) == 10ms);
  CHECK(net::uring_idle_tick(0ms) == 10ms);
  CHECK(net::uring_idle_tick(1h) == 1000ms);
}

namespace {

// Records how each connection ended. Threading: called on the engine's loop threads.
class EndRecorder : public net::ServerEvents {
 public:
  void closed(const net::ConnectionInfo&, const net::SessionEnd& end) override {
    std::lock_guard lock(mutex_);
    reasons_.push_back(end.reason);
  }
  std::vector<std::string> reasons() const {
    std::lock_guard lock(mutex_);
    return reasons_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> reasons_;
};

// A client socket that sends without ever reading, until the server's echo has filled both
// directions and its sends stall. Returns false if the peer went away first.
bool fill_without_reading(int fd) {
  const std::vector<char> block(1 << 16, 'x');
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  int stalled = 0;
  // Stalled for 50 tries of 20 ms in a row; at most 20,000 sends (1.3 GB) or 30 s.
  for (int round = 0; round < 20'000 && stalled < 50; ++round) {
    if (std::chrono::steady_clock::now() > deadline) break;
    const auto wrote = ::send(fd, block.data(), block.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (wrote < 0 && errno != EAGAIN) return false;
    if (wrote < 0) {
      ++stalled;
      std::this_thread::sleep_for(20ms);
    } else {
      stalled = 0;
    }
  }
  return stalled >= 50;
}

int connect_to(const net::TcpListener& listener) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(listener.local_endpoint().port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  return fd;
}

}  // namespace

TEST_CASE("the uring engine ends a peer that sends but never reads once idle, its send cancelled") {
  net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
  EndRecorder events;
  net::ServerLimits limits;
  limits.idle_timeout = std::chrono::milliseconds(200);
  net::UringEchoEngine engine(listener, limits, events,
                              {.threads = 1, .on_data = {}, .on_running = {}});
  std::jthread runner([&] { engine.run(); });
  const int fd = connect_to(listener);
  // The server's send is stuck on our full receive buffer: no progress either way, so the idle
  // tick must cancel it and close.
  fill_without_reading(fd);
  CHECK(eventually([&] { return events.reasons().size() == 1; }, 30s));
  CHECK(events.reasons() == std::vector<std::string>{"idle timeout"});
  CHECK(engine.stats().timed_out == 1);
  CHECK(engine.stats().active == 0);
  ::close(fd);
  engine.stop();
  runner.join();
}

TEST_CASE("stop() ends every connection, silent or stuck on a peer that never reads") {
  net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
  EndRecorder events;
  net::UringEchoEngine engine(listener, {}, events,
                              {.threads = 2, .on_data = {}, .on_running = {}});
  std::jthread runner([&] { engine.run(); });
  std::vector<int> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(connect_to(listener));
  CHECK(fill_without_reading(clients[0]));
  CHECK(fill_without_reading(clients[1]));
  REQUIRE(eventually([&] { return engine.stats().served == 4; }, 30s));
  engine.stop();
  runner.join();  // run() returned: every loop thread joined, every connection ended
  CHECK(events.reasons().size() == 4);
  CHECK(engine.stats().active == 0);
  for (const int fd : clients) ::close(fd);
}
