// Every program's stderr goes through one diagnostics sink: a stderr that fails or that nobody
// reads costs lines, never the service, the exit code or the stop.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support/process.h"

using namespace std::chrono_literals;
using testing_support::ChildProcess;
using testing_support::program_path;

namespace {

// Runs `program args...` through sh with stderr redirected as `redirect` says ("2>/dev/full").
std::unique_ptr<ChildProcess> start_with_stderr(const std::string& program, const std::string& args,
                                                const std::string& redirect) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{
      "/bin/sh", "-c", "exec \"$0\" " + args + " " + redirect, program_path(program)});
}

// A loopback TCP client with bounded waits: sends `payload`, reads as many bytes back.
bool round_trip(std::uint16_t port, const std::string& payload) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval limit{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
  std::string echoed;
  std::size_t sent = 0;
  // Interleaved in pieces, so a large payload never fills both directions' buffers at once.
  while (ok && echoed.size() < payload.size()) {
    if (sent < payload.size()) {
      const auto piece = std::min<std::size_t>(16384, payload.size() - sent);
      const ssize_t wrote = ::send(fd, payload.data() + sent, piece, MSG_NOSIGNAL);
      ok = wrote > 0;
      sent += wrote > 0 ? static_cast<std::size_t>(wrote) : 0;
    }
    char chunk[65536];
    const ssize_t got = ok ? ::recv(fd, chunk, sizeof(chunk), 0) : -1;
    ok = got > 0;
    if (ok) echoed.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return ok && echoed == payload;
}

// A TCP port on 127.0.0.1 where nothing listens: bound (so nobody else takes it), never listening.
struct RefusingPort {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::uint16_t port = 0;
  RefusingPort() {
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof(at)) == 0);
    socklen_t size = sizeof(at);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &size) == 0);
    port = ntohs(at.sin_port);
  }
  ~RefusingPort() { ::close(fd); }
};

}  // namespace

TEST_CASE("udp-chat with stderr on /dev/full still ends cleanly at the end of input (exit 0)") {
  auto chat = start_with_stderr("udp-chat", "--port 0 --no-log --bind 127.0.0.1", "2>/dev/full");
  REQUIRE(chat->wait_for_stdout("listening on", 20s));
  chat->close_stdin();
  CHECK(chat->wait(30s) == 0);
}

TEST_CASE("udp-chat and echo-server with stderr on /dev/full keep the usage-error exit code 2") {
  auto chat = start_with_stderr("udp-chat", "--port nonsense", "2>/dev/full");
  CHECK(chat->wait(30s) == 2);
  auto server = start_with_stderr("echo-server", "--frobnicate", "2>/dev/full");
  CHECK(server->wait(30s) == 2);
}

TEST_CASE("loadgen with stderr on /dev/full and nothing listening exits 1") {
  RefusingPort refusing;
  auto loadgen = start_with_stderr(
      "loadgen", "tcp 127.0.0.1:" + std::to_string(refusing.port) + " -c 2 -d 1", "2>/dev/full");
  CHECK(loadgen->wait(60s) == 1);
}

TEST_CASE("echo-server whose stderr is a FIFO nobody reads still echoes and stops on SIGTERM") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("stalled-stderr-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto fifo = (dir / "stderr.fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Opened for reading and writing by the shell, so the open does not wait for a reader; nobody
  // ever reads it. --verbose: every byte echoed is also a diagnostic line, which fills the FIFO.
  auto server =
      start_with_stderr("echo-server", "--port 0 --bind 127.0.0.1 --verbose", "2<>'" + fifo + "'");
  const auto listening = server->wait_for_stdout("listening on", 20s);
  REQUIRE(listening);
  const auto port =
      static_cast<std::uint16_t>(std::stoi(listening->substr(listening->rfind(':') + 1)));
  // 256 KiB of 0xFF: about 1 MB of escaped data lines, far more than a FIFO holds.
  CHECK(round_trip(port, std::string(256 * 1024, '\xff')));
  for (int i = 0; i < 20; ++i) {
    INFO("client " << i);
    CHECK(round_trip(port, "hello " + std::to_string(i) + "\n"));
  }
  server->signal(SIGTERM);
  // The stop gives up on the stalled stderr after its grace period: well within 5 s.
  CHECK(server->wait(5s) == 0);
  std::filesystem::remove_all(dir);
}
