// Integration: how the real echo-server names the end of a connection in its close line. A
// client that closes with the echo still unread in its receive buffer makes its kernel send RST;
// the server must say "reset", whichever call (recv or send) learns of it.
#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>

#include <string>
#include <thread>

#include "tests/support/bytes.h"
#include "tests/support/echo_server_process.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/tcp_client.h"

using namespace std::chrono_literals;
using namespace testing_support;

namespace {

// Bytes waiting unread in the client's receive buffer.
int unread_bytes(const Client& client) {
  int pending = 0;
  if (::ioctl(client.fd(), FIONREAD, &pending) != 0) return -1;
  return pending;
}

// Waits (bounded) until the server has logged the close of its only connection; returns that line.
std::string close_line(EchoServerProcess& server) {
  std::string line;
  eventually(
      [&] {
        const auto text = server.process->stderr_so_far();
        const auto at = text.find("close #");
        if (at == std::string::npos) return false;
        const auto end = text.find('\n', at);
        if (end == std::string::npos) return false;
        line = text.substr(at, end - at);
        return true;
      },
      60s);
  return line;
}

}  // namespace

TEST_CASE("a client that closes with its echo unread is logged as reset, not closed") {
  auto server = start_echo_server({"--bind", "127.0.0.1"});
  auto client = Client::connect("127.0.0.1", server.port);
  const auto payload = random_bytes(100, 3);
  REQUIRE(client.send_all(payload));
  // The whole echo is in the client's buffer, unread: close() now sends RST, not FIN.
  REQUIRE(eventually([&] { return unread_bytes(client) == 100; }, 30s));
  const auto local = client.local_endpoint();
  client.close();
  const auto line = close_line(server);
  CHECK(line == "close #1 " + local + " bytes=100 (reset)");
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("bytes") == 100);
}

TEST_CASE("a one-way sender that never reads its echo is logged as reset") {
  // What `socat -u FILE:... TCP:...,shut-down` does: send, half-close, never read, exit. Here the
  // client sends until nothing moves, so the echo fills its buffers and the server is blocked in
  // send when the client's close resets the connection.
  auto server = start_echo_server({"--bind", "127.0.0.1"});
  auto client = Client::connect("127.0.0.1", server.port);
  const auto chunk = random_bytes(64 * 1024, 5);
  int stuck = 0;
  for (int round = 0; round < 4000 && stuck < 50; ++round) {  // at most 256 MiB, about 40 s
    const auto sent = client.send_some(chunk);
    REQUIRE(sent.has_value());
    if (*sent > 0) {
      stuck = 0;
    } else {
      ++stuck;
      std::this_thread::sleep_for(10ms);
    }
  }
  client.shutdown_send();
  REQUIRE(eventually([&] { return unread_bytes(client) > 0; }, 30s));
  client.close();
  const auto line = close_line(server);
  CHECK(line.starts_with("close #1 127.0.0.1:"));
  CHECK(line.ends_with("(reset)"));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
}
