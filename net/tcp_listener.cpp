#include "net/tcp_listener.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include <fmt/format.h>
#include <asio/ip/v6_only.hpp>

#include "net/error.h"

namespace net {

AcceptFailure classify_accept_error(std::error_code error) {
  error = to_system_error(error);
  if (error.category() != std::system_category()) return AcceptFailure::unexpected;
  switch (error.value()) {
    // Retry at once. Linux hands the pending network error of a new connection to accept()
    // itself; accept(2) says to treat those like EAGAIN, since they are about that one peer, not
    // the listener. Each takes its connection off the queue, so retrying at once cannot spin.
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case ECONNABORTED:
    case EINTR:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ETIMEDOUT:
      return AcceptFailure::retry_now;
    // The condition passes when connections close, so the server must pause and retry rather
    // than spin or exit.
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return AcceptFailure::out_of_resources;
    // About the listening socket, not a connection: no retry can succeed. accept(2) also lists
    // EOPNOTSUPP among the network errors of a new connection, but Linux's TCP no longer passes
    // it on from accept(); it comes from a socket that cannot accept at all. Retrying it at once
    // would spin, since it leaves the queue as it is.
    case EBADF:
    case EINVAL:
    case ENOTSOCK:
    case EFAULT:
    case EOPNOTSUPP:
      return AcceptFailure::listener_broken;
    default:
      return AcceptFailure::unexpected;
  }
}

TcpListener::TcpListener(const asio::ip::address& address, std::uint16_t port, Options options)
    : acceptor_(io_) {
  const asio::ip::tcp::endpoint wanted(address, port);
  const auto where = format_endpoint(wanted);
  std::error_code error;
  acceptor_.open(wanted.protocol(), error);
  if (error) throw_error(error, "socket for", where);
  if (address.is_v6()) {
    // Dual-stack unless the user asked for a specific IPv6 address; explicit so that a host's
    // net.ipv6.bindv6only=1 does not silently make "::" IPv6-only.
    acceptor_.set_option(asio::ip::v6_only(!address.is_unspecified()), error);
  }
  acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (options.reuse_port) {
    // Only at bind time does the kernel group sockets by SO_REUSEPORT; every process sharing the
    // port must set it, which is why a listener without it makes the others fail with EADDRINUSE.
    const int on = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
      throw_errno("SO_REUSEPORT for", where);
    }
  }
  acceptor_.bind(wanted, error);
  if (error) throw_error(error, "bind", where);
  acceptor_.listen(options.backlog, error);
  if (error) throw_error(error, "listen", where);
  acceptor_.non_blocking(true, error);  // accept only after poll says so; never block in it
  if (error) throw_error(error, "configure", where);
  local_ = acceptor_.local_endpoint();
}

TcpListener::TcpListener(Inherited inherited) : acceptor_(io_) {
  const int fd = inherited.fd;
  const auto where = fmt::format("fd {}", fd);
  int type = 0, listening = 0;
  socklen_t length = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    throw_errno("listening socket", where);
  }
  length = sizeof(listening);
  ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length);
  sockaddr_storage address{};
  length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const bool inet = address.ss_family == AF_INET || address.ss_family == AF_INET6;
  if (type != SOCK_STREAM || !inet || listening == 0) {
    // The systemd unit decides what the socket is; say what is wrong with it, not errno.
    throw_error(
        std::make_error_code(std::errc::invalid_argument),
        "listening socket " + where + " (expected a listening TCP socket over IPv4 or IPv6)");
  }
  const auto protocol = address.ss_family == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6();
  std::error_code error;
  acceptor_.assign(protocol, fd, error);
  if (error) throw_error(error, "listening socket", where);
  acceptor_.non_blocking(true, error);  // accept only after poll says so; never block in it
  if (error) throw_error(error, "configure", where);
  local_ = acceptor_.local_endpoint(error);
  if (error) throw_error(error, "listening socket", where);
}

TcpListener::~TcpListener() = default;

AcceptResult TcpListener::accept() {
  for (;;) {
    if (stop_requested_.load()) return {};
    const short ready = base::wait_for(acceptor_.native_handle(), POLLIN, waker_);
    if (ready == 0 || stop_requested_.load()) return {};  // woken by stop()
    std::error_code error;
    asio::ip::tcp::socket socket(io_);
    acceptor_.accept(socket, error);
    error = to_system_error(error);
    if (!error) return AcceptResult{TcpStream(std::move(socket)), {}};
    switch (classify_accept_error(error)) {
      case AcceptFailure::retry_now:
        continue;
      case AcceptFailure::out_of_resources:
      case AcceptFailure::unexpected:
        return AcceptResult{std::nullopt, error};
      case AcceptFailure::listener_broken:
        break;
    }
    throw_error(error, "accept on", format_endpoint(local_));
  }
}

bool TcpListener::wait_for_stop(std::chrono::milliseconds pause) {
  if (!stop_requested_.load()) {
    pollfd waiting{waker_.fd(), POLLIN, 0};
    ::poll(&waiting, 1, static_cast<int>(pause.count()));  // EINTR: a shorter pause, harmless
  }
  return stop_requested_.load();
}

void TcpListener::stop() noexcept {
  stop_requested_.store(true);
  waker_.wake();  // stays woken: every later accept() returns at once too
}

}  // namespace net
