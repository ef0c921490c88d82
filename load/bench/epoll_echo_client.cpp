// epoll-echo-client: the yardstick for loadgen's own speed. A simple closed-loop echo client as
// people write it by hand: non-blocking sockets, one epoll loop per thread, one message in flight
// per connection, the echo compared with what was sent (memcmp), no latency histogram.
//
//   epoll-echo-client HOST:PORT CONNECTIONS SIZE SECONDS [THREADS=1]
//
// Prints "msgs=N msgs_per_s=X MB_per_s=X mismatches=N errors=N". HOST is a literal IPv4 or IPv6
// address ("127.0.0.1", "[::1]"). Not installed: a benchmark helper (scripts/load_test.sh --bench).
// Threading: each thread owns its connections and its epoll descriptor; they share only the
// atomic totals and the stop time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Totals {
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> mismatches{0};
  std::atomic<std::uint64_t> errors{0};
};

struct Conn {
  int fd = -1;
  std::size_t sent = 0;      // bytes of the current message written
  std::size_t received = 0;  // bytes of its echo read
  bool mismatch = false;
};

bool parse_target(const std::string& text, sockaddr_storage& address, socklen_t& length) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = text.substr(0, colon);
  const int port = std::atoi(text.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::memset(&address, 0, sizeof address);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof(sockaddr_in);
    return true;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// One thread's loop over its connections until `end`.
void run_loop(const sockaddr_storage& address, socklen_t length, std::size_t connections,
              std::size_t size, Clock::time_point end, Totals& totals) {
  const std::vector<char> message(size, 'x');
  std::vector<char> buffer(64 * 1024);
  std::vector<Conn> conns(connections);
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  std::uint64_t done = 0;
  for (std::size_t i = 0; i < connections; ++i) {
    Conn& c = conns[i];
    c.fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
      totals.errors.fetch_add(1);
      if (c.fd >= 0) ::close(c.fd);
      c.fd = -1;
      continue;
    }
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // The first message goes out blocking (it fits the socket buffer), then everything is driven
    // by EPOLLIN: a reply completes, the next message is written.
    if (::send(c.fd, message.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) {
      totals.errors.fetch_add(1);
      ::close(c.fd);
      c.fd = -1;
      continue;
    }
    c.sent = size;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &event);
  }
  std::vector<epoll_event> events(256);
  while (Clock::now() < end) {
    const int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[static_cast<std::size_t>(e)].data.u64];
      if (c.fd < 0) continue;
      const ssize_t got =
          ::recv(c.fd, buffer.data(), std::min(buffer.size(), size - c.received), MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        totals.errors.fetch_add(1);
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      if (std::memcmp(buffer.data(), message.data() + c.received, static_cast<std::size_t>(got))) {
        c.mismatch = true;
      }
      c.received += static_cast<std::size_t>(got);
      if (c.received < size) continue;
      if (c.mismatch) totals.mismatches.fetch_add(1);
      ++done;
      c.received = 0;
      c.mismatch = false;
      // Blocking-style send of a small message into an empty socket buffer; a partial send of a
      // big one is finished in a short bounded loop (the peer is reading).
      std::size_t sent = 0;
      for (int tries = 0; tries < 1'000'000 && sent < size; ++tries) {
        const ssize_t w = ::send(c.fd, message.data() + sent, size - sent, MSG_NOSIGNAL);
        if (w > 0)
          sent += static_cast<std::size_t>(w);
        else if (errno != EAGAIN && errno != EINTR)
          break;
      }
      if (sent < size) {
        totals.errors.fetch_add(1);
        ::close(c.fd);
        c.fd = -1;
      }
    }
  }
  totals.messages.fetch_add(done);
  for (auto& c : conns) {
    if (c.fd >= 0) ::close(c.fd);
  }
  ::close(epoll);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::fprintf(stderr, "usage: epoll-echo-client HOST:PORT CONNECTIONS SIZE SECONDS [THREADS]\n");
    return 2;
  }
  sockaddr_storage address{};
  socklen_t length = 0;
  const long connections = std::atol(argv[2]);
  const long size = std::atol(argv[3]);
  const double seconds = std::atof(argv[4]);
  const long threads = argc == 6 ? std::atol(argv[5]) : 1;
  if (!parse_target(argv[1], address, length) || connections < 1 || size < 1 || seconds <= 0 ||
      threads < 1 || threads > connections) {
    std::fprintf(stderr, "epoll-echo-client: bad arguments\n");
    return 2;
  }
  Totals totals;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  {
    std::vector<std::jthread> workers;
    for (long t = 0; t < threads; ++t) {
      const auto share =
          static_cast<std::size_t>(connections / threads + (t < connections % threads));
      workers.emplace_back(run_loop, std::cref(address), length, share,
                           static_cast<std::size_t>(size), end, std::ref(totals));
    }
  }  // joined
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double rate = static_cast<double>(totals.messages.load()) / elapsed;
  std::printf("msgs=%llu msgs_per_s=%.1f MB_per_s=%.3f mismatches=%llu errors=%llu\n",
              static_cast<unsigned long long>(totals.messages.load()), rate,
              rate * static_cast<double>(size) / 1e6,
              static_cast<unsigned long long>(totals.mismatches.load()),
              static_cast<unsigned long long>(totals.errors.load()));
  return 0;
}
