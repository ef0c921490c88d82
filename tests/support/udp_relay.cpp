// udp_relay: a UDP relay between two endpoints for tests, which duplicates and reorders some of
// the datagrams it forwards (this kernel has no sch_netem to do it). See docs/design.md,
// "Testing on two hosts".
//
//   udp_relay --a HOST:PORT --b HOST:PORT [--bind ADDR] [--a-port N] [--b-port N]
//             [--duplicate F] [--reorder F] [--hold-ms MS] [--seed S] [--queue N]
//
// A datagram that arrives on the A port (--a-port) is sent from the B port to --b; one that
// arrives on the B port is sent from the A port to --a. So side A talks to relay:A-PORT and sees
// the answers come from there, and side B talks to relay:B-PORT likewise. With --duplicate F a
// fraction F of the datagrams is sent twice; with --reorder F a fraction F is held back and sent
// after the next datagram in the same direction, or after --hold-ms (default 50) when none comes.
// At most --queue (default 64) datagrams are held per direction: a full queue sends its oldest
// first. The choices come from a generator seeded by --seed (one per direction), so the same
// seed makes the same choices for the same datagrams whatever the timing.
//
// Prints `relay ready a-port=N b-port=N` on stdout once both sockets are bound (port 0 gives
// kernel-chosen ports). SIGTERM or SIGINT stops it: it prints `summary: forwarded=N duplicated=N
// reordered=N failed=N` on stderr and exits 0. Usage errors: one line on stderr, exit 2; a
// socket that cannot be made or bound: one line, exit 1.
//
// One thread: a poll() loop over the two sockets and a signalfd.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
};

// "1.2.3.4:P" or "[::1]:P"; the address is taken literally (no name lookup).
std::optional<Endpoint> parse_endpoint(const std::string& text, std::uint16_t port_override,
                                       bool port_given) {
  std::string host;
  std::string port;
  if (text.starts_with("[")) {
    const auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (port_given) {
    host = text;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned long number = port_override;
  if (!port_given) {
    char* end = nullptr;
    number = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || number > 65535) return std::nullopt;
  }
  Endpoint endpoint;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&endpoint.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&endpoint.address);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(number));
    endpoint.length = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(number));
    endpoint.length = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  return endpoint;
}

std::uint16_t port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
}

// splitmix64: a generator whose sequence is fixed by its seed on every platform (the standard
// distributions are not), so a seed names one run of choices.
class Choices {
 public:
  explicit Choices(std::uint64_t seed) : state_(seed) {}
  // True with probability `fraction`.
  bool happens(double fraction) {
    if (fraction <= 0) return false;
    return static_cast<double>(next() >> 11) * 0x1.0p-53 < fraction;
  }

 private:
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

struct Options {
  std::string bind = "0.0.0.0";
  std::uint16_t a_port = 0;
  std::uint16_t b_port = 0;
  std::optional<Endpoint> a;
  std::optional<Endpoint> b;
  double duplicate = 0;
  double reorder = 0;
  int hold_ms = 50;
  std::uint64_t seed = 1;
  std::size_t queue = 64;
};

double parse_fraction(const std::string& name, const std::string& value) {
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(number >= 0 && number <= 1)) {
    throw UsageError(name + ": '" + value + "' is not a fraction from 0 to 1");
  }
  return number;
}

unsigned long long parse_number(const std::string& name, const std::string& value,
                                unsigned long long most) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long number = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || value[0] == '-' || *end != '\0' || errno != 0 || number > most) {
    throw UsageError(name + ": '" + value + "' is not a number up to " + std::to_string(most));
  }
  return number;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help") {
      std::printf(
          "usage: udp_relay --a HOST:PORT --b HOST:PORT [--bind ADDR] [--a-port N] [--b-port N]\n"
          "                 [--duplicate F] [--reorder F] [--hold-ms MS] [--seed S] [--queue N]\n");
      std::exit(0);
    }
    if (i + 1 >= argc) throw UsageError(name + " needs a value");
    const std::string value = argv[++i];
    if (name == "--bind") {
      options.bind = value;
    } else if (name == "--a-port") {
      options.a_port = static_cast<std::uint16_t>(parse_number(name, value, 65535));
    } else if (name == "--b-port") {
      options.b_port = static_cast<std::uint16_t>(parse_number(name, value, 65535));
    } else if (name == "--a" || name == "--b") {
      const auto endpoint = parse_endpoint(value, 0, false);
      if (!endpoint) throw UsageError(name + ": '" + value + "' is not IP:PORT or [IPv6]:PORT");
      (name == "--a" ? options.a : options.b) = endpoint;
    } else if (name == "--duplicate") {
      options.duplicate = parse_fraction(name, value);
    } else if (name == "--reorder") {
      options.reorder = parse_fraction(name, value);
    } else if (name == "--hold-ms") {
      options.hold_ms = static_cast<int>(parse_number(name, value, 60'000));
    } else if (name == "--seed") {
      options.seed = parse_number(name, value, UINT64_MAX);
    } else if (name == "--queue") {
      options.queue = parse_number(name, value, 100'000);
      if (options.queue == 0) throw UsageError("--queue: must be at least 1");
    } else {
      throw UsageError("unknown option " + name);
    }
  }
  if (!options.a || !options.b) throw UsageError("--a and --b are required");
  return options;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "udp_relay: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

int bound_socket(const std::string& address, std::uint16_t port) {
  const auto local = parse_endpoint(address, port, true);
  if (!local) throw UsageError("--bind: '" + address + "' is not an IP address");
  const int fd = ::socket(local->address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  // Room for a burst while the other side is being written to.
  const int buffer = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local->address), local->length) != 0) {
    fail("bind " + address + " port " + std::to_string(port));
  }
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) fail("getsockname");
  return port_of(address);
}

struct Counts {
  unsigned long long forwarded = 0;
  unsigned long long duplicated = 0;
  unsigned long long reordered = 0;
  unsigned long long failed = 0;
};

// One direction: datagrams read from `from` are sent out of `out` to `to`.
struct Direction {
  int from = -1;
  int out = -1;
  Endpoint to;
  Choices choices;
  struct Held {
    std::string bytes;
    Clock::time_point release;
  };
  std::deque<Held> held;

  void send(const std::string& bytes, Counts& counts) const {
    const auto sent = ::sendto(out, bytes.data(), bytes.size(), MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&to.address), to.length);
    if (sent < 0) {
      ++counts.failed;
    } else {
      ++counts.forwarded;
    }
  }
  void release_all(Counts& counts) {
    for (const auto& datagram : held) send(datagram.bytes, counts);
    held.clear();
  }
  void release_due(Clock::time_point now, Counts& counts) {
    while (!held.empty() && held.front().release <= now) {
      send(held.front().bytes, counts);
      held.pop_front();
    }
  }
};

int run(const Options& options) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  const int signals = ::signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (signals < 0) fail("signalfd");

  const int a_socket = bound_socket(options.bind, options.a_port);
  const int b_socket = bound_socket(options.bind, options.b_port);
  std::printf("relay ready a-port=%u b-port=%u\n", bound_port(a_socket), bound_port(b_socket));
  std::fflush(stdout);

  Direction directions[2] = {{a_socket, b_socket, *options.b, Choices(options.seed), {}},
                             {b_socket, a_socket, *options.a, Choices(options.seed + 1), {}}};
  Counts counts;
  std::string buffer(65536, '\0');
  const auto hold = std::chrono::milliseconds(options.hold_ms);
  for (;;) {
    int timeout = -1;
    const auto now = Clock::now();
    for (const auto& direction : directions) {
      if (direction.held.empty()) continue;
      const auto wait =
          std::chrono::ceil<std::chrono::milliseconds>(direction.held.front().release - now);
      const int ms = static_cast<int>(std::max<long long>(0, wait.count()));
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
    pollfd fds[3] = {{signals, POLLIN, 0}, {a_socket, POLLIN, 0}, {b_socket, POLLIN, 0}};
    if (::poll(fds, 3, timeout) < 0) {
      if (errno == EINTR) continue;
      fail("poll");
    }
    if (fds[0].revents != 0) break;
    for (int i = 0; i < 2; ++i) {
      auto& direction = directions[i];
      if (fds[i + 1].revents == 0) continue;
      // Bounded: at most 64 datagrams per wake-up, so one busy side cannot starve the other.
      for (int n = 0; n < 64; ++n) {
        const auto got = ::recv(direction.from, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (got < 0) break;
        std::string bytes(buffer.data(), static_cast<std::size_t>(got));
        const bool twice = direction.choices.happens(options.duplicate);
        const bool later = direction.choices.happens(options.reorder);
        if (twice) ++counts.duplicated;
        if (later) {
          ++counts.reordered;
          if (direction.held.size() >= options.queue) {
            direction.send(direction.held.front().bytes, counts);
            direction.held.pop_front();
          }
          // A duplicate goes now and its copy waits: both faults at once, the queue bound kept.
          if (twice) direction.send(bytes, counts);
          direction.held.push_back({std::move(bytes), Clock::now() + hold});
          continue;
        }
        direction.send(bytes, counts);
        if (twice) direction.send(bytes, counts);
        direction.release_all(counts);
      }
    }
    for (auto& direction : directions) direction.release_due(Clock::now(), counts);
  }
  for (auto& direction : directions) direction.release_all(counts);
  std::fprintf(stderr, "summary: forwarded=%llu duplicated=%llu reordered=%llu failed=%llu\n",
               counts.forwarded, counts.duplicated, counts.reordered, counts.failed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const UsageError& error) {
    std::fprintf(stderr, "udp_relay: %s (try --help)\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "udp_relay: %s\n", error.what());
    return 1;
  }
}
