#include "net/tcp_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>

#include <asio/connect.hpp>

#include "net/error.h"

namespace net {

namespace {

std::error_code last_error() {
  return {errno, std::system_category()};
}

// True when the connection was reset: the kernel moved it to CLOSE without our close(). A
// stream we shut down ourselves is still in FIN_WAIT or CLOSING.
bool connection_reset(int fd) {
  tcp_info info{};
  socklen_t length = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return false;
  return info.tcpi_state == TCP_CLOSE;
}

timeval to_timeval(std::optional<TcpStream::Duration> timeout) {
  if (!timeout) return timeval{0, 0};  // zero means "no timeout" to the kernel
  auto micros = timeout->count();
  if (micros <= 0) micros = 1;  // a zero timeout would mean "forever": use the shortest instead
  return timeval{static_cast<time_t>(micros / 1'000'000),
                 static_cast<suseconds_t>(micros % 1'000'000)};
}

// Non-blocking connect with a bounded wait, then back to blocking mode.
void connect_with_timeout(asio::ip::tcp::socket& socket, const asio::ip::tcp::endpoint& where,
                          std::optional<TcpStream::Duration> timeout) {
  std::error_code error;
  socket.open(where.protocol(), error);
  if (error) throw_error(error, "socket for", format_endpoint(where));
  if (!timeout) {
    socket.connect(where, error);
    if (error) throw_error(error, "connect", format_endpoint(where));
    return;
  }
  socket.non_blocking(true);
  socket.connect(where, error);
  error = to_system_error(error);
  if (error == std::errc::operation_in_progress || error == std::errc::operation_would_block) {
    pollfd waiting{socket.native_handle(), POLLOUT, 0};
    const auto millis = std::chrono::ceil<std::chrono::milliseconds>(*timeout).count();
    int ready = 0;
    do {
      ready = ::poll(&waiting, 1, static_cast<int>(millis));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      throw_error(std::make_error_code(std::errc::timed_out), "connect", format_endpoint(where));
    }
    int socket_error = 0;
    socklen_t length = sizeof(socket_error);
    ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &socket_error, &length);
    error = std::error_code(socket_error, std::system_category());
  }
  if (error) throw_error(error, "connect", format_endpoint(where));
  socket.non_blocking(false);
}

}  // namespace

TcpStream::TcpStream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  std::error_code error;
  socket_.non_blocking(false, error);
  remote_ = socket_.remote_endpoint(error);  // empty if the peer already left; harmless
}

TcpStream TcpStream::connect(asio::io_context& io, const HostPort& where,
                             std::optional<Duration> timeout) {
  const auto endpoints = resolve_tcp(where);
  for (std::size_t i = 0;; ++i) {
    try {
      return connect(io, endpoints[i], timeout);
    } catch (const Error&) {
      if (i + 1 == endpoints.size()) throw;  // report the last endpoint's failure
    }
  }
}

TcpStream TcpStream::connect(asio::io_context& io, const asio::ip::tcp::endpoint& where,
                             std::optional<Duration> timeout) {
  asio::ip::tcp::socket socket(io);
  connect_with_timeout(socket, where, timeout);
  return TcpStream(std::move(socket));
}

void TcpStream::apply_timeout(int option, std::optional<Duration> timeout) {
  const timeval value = to_timeval(timeout);
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, option, &value, sizeof(value));
}

void TcpStream::set_timeout(std::optional<Duration> timeout) {
  if (timeout == timeout_) return;  // a setsockopt pair per call would cost the hot path
  timeout_ = timeout;
  apply_timeout(SO_RCVTIMEO, timeout);
  apply_timeout(SO_SNDTIMEO, timeout);
}

void TcpStream::set_no_delay(bool enabled) {
  std::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(enabled), ignored);
}

IoResult TcpStream::read_some(std::span<std::byte> buffer) {
  if (buffer.empty()) return {};
  for (;;) {
    const ssize_t got = ::recv(socket_.native_handle(), buffer.data(), buffer.size(), 0);
    if (got > 0) return {static_cast<std::size_t>(got), IoStatus::ok, {}};
    if (got == 0) return {0, IoStatus::eof, {}};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, IoStatus::timed_out, {}};
    // A RST after the peer's FIN (it half-closed, then closed with data unread, as `socat -u
    // ...,shut-down` does) is reported as EPIPE rather than ECONNRESET: the same reset.
    if (errno == EPIPE)
      return {0, IoStatus::failed, std::make_error_code(std::errc::connection_reset)};
    return {0, IoStatus::failed, last_error()};
  }
}

IoResult TcpStream::read_exact(std::span<std::byte> buffer) {
  IoResult total;
  while (total.bytes < buffer.size()) {
    const auto part = read_some(buffer.subspan(total.bytes));
    total.bytes += part.bytes;
    if (part.status != IoStatus::ok) {
      total.status = part.status;
      total.error = part.error;
      return total;
    }
  }
  return total;
}

IoResult TcpStream::write_all(std::span<const std::byte> data) {
  IoResult total;
  while (total.bytes < data.size()) {
    // MSG_NOSIGNAL: a peer that went away must give EPIPE, not kill the process with SIGPIPE.
    const ssize_t sent = ::send(socket_.native_handle(), data.data() + total.bytes,
                                data.size() - total.bytes, MSG_NOSIGNAL);
    if (sent > 0) {
      total.bytes += static_cast<std::size_t>(sent);
      continue;  // progress restarts the inactivity limit
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      total.status = IoStatus::timed_out;
    } else if (sent < 0 && errno == EPIPE && !connection_reset(socket_.native_handle())) {
      total.status = IoStatus::eof;  // we shut the stream down (shutdown_both on a stop)
    } else if (sent < 0 && errno == EPIPE) {
      // The peer's RST came after its FIN, or an earlier call was told of it: the send says only
      // EPIPE. Name the real cause.
      total.status = IoStatus::failed;
      total.error = std::make_error_code(std::errc::connection_reset);
    } else {
      total.status = IoStatus::failed;
      total.error = last_error();
    }
    return total;
  }
  return total;
}

void TcpStream::shutdown_send() noexcept {
  ::shutdown(socket_.native_handle(), SHUT_WR);
}

void TcpStream::shutdown_both() noexcept {
  // The raw call only reads the descriptor, so it is safe next to a blocked recv/send in the
  // owning thread, unlike close() (asio#779). Errors (ENOTCONN after the peer left) are moot.
  ::shutdown(socket_.native_handle(), SHUT_RDWR);
}

void TcpStream::close(bool reset) noexcept {
  std::error_code ignored;
  if (reset && socket_.is_open()) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
}

asio::ip::tcp::endpoint TcpStream::local_endpoint() const {
  std::error_code ignored;
  return socket_.local_endpoint(ignored);
}

}  // namespace net
