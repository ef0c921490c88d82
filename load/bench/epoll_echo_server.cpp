// epoll-echo-server: the yardstick echo-server's engines are measured against. Minimal on
// purpose, and not a product: one thread, one level-triggered epoll loop, non-blocking accept and
// sockets, one 64 KiB buffer shared by every connection, read -> write back, TCP_NODELAY. What a
// write leaves unsent is kept for that connection, which then waits for EPOLLOUT instead of
// reading more; no limits, no timeouts, no logging (docs/design.md, "Engines in the load test").
//
//   epoll-echo-server PORT
//
// Listens on 127.0.0.1:PORT (0 = a port the kernel chooses), prints "listening on
// 127.0.0.1:PORT" once ready, echoes until SIGTERM or SIGINT, then exits 0. Not installed: a
// benchmark helper for scripts/load_test.sh --compare epoll.
// Threading: single-threaded; the signal handler only sets an atomic flag, seen once epoll_wait
// returns (EINTR) or after its 200 ms timeout at the latest.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
  stop_requested = 1;
}

// Bytes read but not yet written back, per connection that had a partial write.
using Pending = std::unordered_map<int, std::string>;

int fail(const char* what) {
  std::fprintf(stderr, "epoll-echo-server: %s: %s\n", what, std::strerror(errno));
  return 1;
}

void close_connection(int epoll, int fd, Pending& pending) {
  ::epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  pending.erase(fd);
}

// Waits for `events` on fd (EPOLLIN to read, EPOLLOUT while a write is pending).
void watch(int epoll, int fd, std::uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  ::epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event);
}

// Writes what is pending; true when the connection stays open.
bool flush(int epoll, int fd, Pending& pending) {
  auto& rest = pending[fd];
  while (!rest.empty()) {
    const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    rest.erase(0, static_cast<std::size_t>(n));
  }
  pending.erase(fd);
  watch(epoll, fd, EPOLLIN);
  return true;
}

// Reads once and echoes it; true when the connection stays open.
bool echo(int epoll, int fd, Pending& pending, std::array<char, 64 * 1024>& buffer) {
  const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  if (n == 0) return false;  // the peer half-closed: everything it sent was echoed already
  std::size_t done = 0;
  while (done < static_cast<std::size_t>(n)) {
    const ssize_t w =
        ::send(fd, buffer.data() + done, static_cast<std::size_t>(n) - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pending[fd].assign(buffer.data() + done, static_cast<std::size_t>(n) - done);
      watch(epoll, fd, EPOLLOUT);
      return true;
    }
    if (w <= 0) return false;
    done += static_cast<std::size_t>(w);
  }
  return true;
}

void accept_all(int epoll, int listener) {
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: all taken; anything else: try again on the next event
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) ::close(fd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  char* end = nullptr;
  const long port = argc == 2 ? std::strtol(argv[1], &end, 10) : -1;
  if (argc != 2 || *argv[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
    std::fprintf(stderr, "usage: epoll-echo-server PORT (try --help)\n");
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) return fail("socket");
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return fail("bind 127.0.0.1");
  }
  if (::listen(listener, SOMAXCONN) != 0) return fail("listen");
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);

  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) return fail("epoll_create1");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listener;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
  std::printf("listening on 127.0.0.1:%u\n", ntohs(address.sin_port));
  std::fflush(stdout);

  static std::array<char, 64 * 1024> buffer;
  Pending pending;
  std::vector<epoll_event> events(256);
  while (stop_requested == 0) {
    const int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 200);
    if (n < 0 && errno != EINTR) return fail("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const auto what = events[static_cast<std::size_t>(i)].events;
      if (fd == listener) {
        accept_all(epoll, listener);
        continue;
      }
      // A connection with a write pending waits for EPOLLOUT only (an error or hang-up shows as
      // a failed send); reading more before the rest is out would reorder the echo.
      const bool open = pending.contains(fd) ? flush(epoll, fd, pending)
                        : (what & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0
                            ? echo(epoll, fd, pending, buffer)
                            : true;
      if (!open) close_connection(epoll, fd, pending);
    }
  }
  return 0;
}
