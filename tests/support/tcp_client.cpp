#include "tests/support/tcp_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>

namespace testing_support {

namespace {

// Waits for `events` on fd until the deadline; the revents, or 0 on timeout.
short wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd waiting{fd, events, 0};
    const int ready = ::poll(&waiting, 1, milliseconds_left(deadline));
    if (ready > 0) return waiting.revents;
    if (ready == 0) return 0;
    if (errno != EINTR) return POLLERR;
  }
}

}  // namespace

const char* to_string(End end) {
  switch (end) {
    case End::complete: return "complete";
    case End::eof: return "eof";
    case End::reset: return "reset";
    case End::timeout: return "timeout";
  }
  return "?";
}

std::optional<Client> Client::try_connect(const std::string& host, std::uint16_t port,
                                          std::chrono::milliseconds timeout) {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_INET;
  if (host.find(':') != std::string::npos) {
    family = AF_INET6;
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) != 1) return std::nullopt;
    length = sizeof(v6);
  } else {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) != 1) return std::nullopt;
    length = sizeof(v4);
  }
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  Client client(fd);
  const auto deadline = Clock::now() + timeout;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) return std::nullopt;
    if ((wait_for(fd, POLLOUT, deadline) & (POLLOUT | POLLERR | POLLHUP)) == 0) {
      return std::nullopt;
    }
    int error = 0;
    socklen_t error_length = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_length);
    if (error != 0) return std::nullopt;
  }
  return client;
}

Client Client::connect(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout) {
  auto client = try_connect(host, port, timeout);
  if (!client) {
    throw std::runtime_error("connect " + host + " port " + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
  return std::move(*client);
}

Client::Client(Client&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Client::~Client() { close(); }

std::string Client::local_endpoint() const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6.sin6_port));
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
  ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
  return std::string(text) + ":" + std::to_string(ntohs(v4.sin_port));
}

std::optional<std::size_t> Client::send_some(std::span<const std::byte> data) {
  for (;;) {
    const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return std::nullopt;
  }
}

bool Client::send_all(std::span<const std::byte> data, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::size_t done = 0;
  while (done < data.size()) {
    const auto sent = send_some(data.subspan(done));
    if (!sent) return false;
    done += *sent;
    if (*sent == 0 && (wait_for(fd_, POLLOUT, deadline) & (POLLOUT | POLLERR | POLLHUP)) == 0) {
      return false;
    }
  }
  return true;
}

std::optional<std::size_t> Client::read_available(Bytes& into) {
  std::array<std::byte, 65536> chunk;
  std::size_t total = 0;
  for (;;) {
    const ssize_t got = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (got > 0) {
      into.insert(into.end(), chunk.begin(), chunk.begin() + got);
      total += static_cast<std::size_t>(got);
      continue;
    }
    if (got == 0) return std::nullopt;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return total;
    return std::nullopt;
  }
}

Received Client::read_exact(std::size_t size, std::chrono::milliseconds timeout,
                            std::size_t max_chunk, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<std::size_t> chunk_size(1, std::max<std::size_t>(1, max_chunk));
  return read_until(size, Clock::now() + timeout, [&] { return chunk_size(generator); });
}

Received Client::read_to_end(std::chrono::milliseconds timeout) {
  return read_until(std::numeric_limits<std::size_t>::max(), Clock::now() + timeout,
                    [] { return std::size_t{65536}; });
}

template <typename NextChunk>
Received Client::read_until(std::size_t size, Clock::time_point deadline, NextChunk next_chunk) {
  Received received;
  std::array<std::byte, 65536> chunk;
  while (received.data.size() < size) {
    const auto want = std::min({next_chunk(), size - received.data.size(), chunk.size()});
    const ssize_t got = ::recv(fd_, chunk.data(), want, 0);
    if (got > 0) {
      received.data.insert(received.data.end(), chunk.begin(), chunk.begin() + got);
      continue;
    }
    if (got == 0) {
      received.end = End::eof;
      return received;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      received.end = End::reset;
      return received;
    }
    if (wait_for(fd_, POLLIN, deadline) == 0) {
      received.end = End::timeout;
      return received;
    }
  }
  received.end = End::complete;
  return received;
}

Received Client::exchange(std::span<const std::byte> data, const ExchangeOptions& options) {
  std::mt19937_64 generator(options.seed);
  std::uniform_int_distribution<std::size_t> chunk_size(
      1, std::max<std::size_t>(1, options.max_chunk));
  const auto deadline = Clock::now() + options.timeout;
  Received received;
  received.data.reserve(data.size());
  std::array<std::byte, 65536> chunk;
  std::size_t sent = 0;
  bool half_closed = false;
  for (;;) {
    if (sent == data.size() && options.half_close_after_send && !half_closed) {
      shutdown_send();
      half_closed = true;
    }
    const bool have_all = received.data.size() >= data.size();
    if (have_all && !options.read_to_end) {
      received.end = End::complete;
      return received;
    }
    // Read what is there, in random-sized pieces.
    const auto want = std::min(chunk_size(generator), chunk.size());
    const ssize_t got = ::recv(fd_, chunk.data(), want, 0);
    if (got > 0) {
      received.data.insert(received.data.end(), chunk.begin(), chunk.begin() + got);
      continue;
    }
    if (got == 0) {
      received.end = End::eof;  // the caller compares the data with what it sent
      return received;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      received.end = End::reset;
      return received;
    }
    // Send the next random-sized piece, if any is left.
    bool progressed = false;
    if (sent < data.size()) {
      const auto piece = std::min(chunk_size(generator), data.size() - sent);
      const auto wrote = send_some(data.subspan(sent, piece));
      if (!wrote) {
        received.end = End::reset;
        return received;
      }
      sent += *wrote;
      progressed = *wrote > 0;
    }
    if (progressed) continue;
    const short events = sent < data.size() ? POLLIN | POLLOUT : POLLIN;
    if (wait_for(fd_, events, deadline) == 0) {
      received.end = End::timeout;
      return received;
    }
  }
}

void Client::shutdown_send() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Client::close_with_reset() {
  if (fd_ < 0) return;
  const linger abort_on_close{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  close();
}

}  // namespace testing_support
