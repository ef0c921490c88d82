// Integration: echo-server started the way systemd's socket activation starts it, without
// systemd: a listening socket as fd 3, LISTEN_FDS=1 and LISTEN_PID set to the server's own pid
// by a shell that then execs the server (so the pid stays the same). The server re-executes
// itself early in main; the passed socket and the variables must survive that.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/echo_server_process.h"
#include "tests/support/proc_stats.h"
#include "tests/support/process.h"
#include "tests/support/tcp_client.h"

using namespace std::chrono_literals;
using namespace testing_support;

namespace {

// A socket of `type` bound to 127.0.0.1 on a kernel-chosen port (listening if TCP), inheritable
// by the next child (no close-on-exec). Closed by the destructor.
struct PassedSocket {
  int fd = -1;
  std::uint16_t port = 0;
  explicit PassedSocket(int type) {
    fd = ::socket(AF_INET, type, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        (type == SOCK_STREAM && ::listen(fd, 16) != 0) ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("bind/listen failed");
    }
    port = ntohs(address.sin_port);
  }
  ~PassedSocket() { ::close(fd); }
  PassedSocket(const PassedSocket&) = delete;
  PassedSocket& operator=(const PassedSocket&) = delete;
};

// bash moves `fd` to 3, sets LISTEN_FDS=1 and LISTEN_PID (`pid_word`: "$$" is the shell, which
// the exec turns into the server; "$PPID" is the test), then execs the server with its options.
std::vector<std::string> activate(int fd, const std::string& pid_word) {
  const auto n = std::to_string(fd);
  // Already 3 when the test process had fd 3 free: then there is nothing to move.
  const std::string move = fd == 3 ? "" : "exec 3<&" + n + " " + n + "<&-; ";
  return {"/bin/bash", "-c", move + "export LISTEN_FDS=1 LISTEN_PID=" + pid_word + "; exec \"$@\"",
          "activate"};
}

}  // namespace

TEST_CASE("a listening socket passed as fd 3 with LISTEN_PID and LISTEN_FDS is served") {
  PassedSocket passed(SOCK_STREAM);
  auto server = start_echo_server({}, activate(passed.fd, "$$"));
  ::close(passed.fd);  // the server's copy is the only one now
  passed.fd = -1;
  CHECK(server.listening_line == "listening on 127.0.0.1:" + std::to_string(passed.port));
  CHECK(server.port == passed.port);
  CHECK(echoes("127.0.0.1", passed.port));
  // It did re-execute itself (the lean thread memory settings), and the socket survived that.
  const auto environment = start_environment(server.pid());
  CHECK(std::any_of(environment.begin(), environment.end(), [](const std::string& variable) {
    return variable.starts_with("GLIBC_TUNABLES=");
  }));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == 1);
}

TEST_CASE("LISTEN_PID naming another process is ignored and the server binds its own port") {
  PassedSocket passed(SOCK_STREAM);
  auto server = start_echo_server({"--bind", "127.0.0.1"}, activate(passed.fd, "$PPID"));
  CHECK(server.port != passed.port);
  CHECK(server.listening_line == "listening on 127.0.0.1:" + std::to_string(server.port));
  CHECK(echoes("127.0.0.1", server.port));
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
}

TEST_CASE("a passed socket that is not a listening TCP socket is one line and exit 1") {
  PassedSocket passed(SOCK_DGRAM);
  std::vector<std::string> argv = activate(passed.fd, "$$");
  argv.push_back(program_path("echo-server"));
  argv.push_back("--port");  // were the socket ignored, no fixed port would be bound
  argv.push_back("0");
  ChildProcess server(argv);
  const auto code = server.wait(60s);
  const auto error = server.read_all_stderr(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  CHECK(error.starts_with("echo-server: listening socket fd 3"));
  CHECK(std::count(error.begin(), error.end(), '\n') == 1);
}
