#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "net/endpoint.h"

namespace net {

enum class IoStatus {
  ok,         // the whole request was done (write) or some bytes arrived (read)
  eof,        // the peer closed its sending side, or shutdown_both() was called on us
  timed_out,  // no progress for the stream's timeout
  failed,     // a socket error such as a reset; see IoResult::error
};

// What a read or write did. `bytes` counts what was transferred even when the call then stopped.
struct IoResult {
  std::size_t bytes = 0;
  IoStatus status = IoStatus::ok;
  std::error_code error;  // set when status == failed
};

// A connected TCP socket in blocking mode, read and written with one system call per operation
// (the echo server's hot path). Timeouts are inactivity limits set with set_timeout(): they are
// applied with SO_RCVTIMEO/SO_SNDTIMEO, which work here because we call recv/send on the native
// handle ourselves (Asio's own sync ops ignore them: asio#281).
//
// Per-I/O failures are reported in IoResult rather than thrown: for a server a reset peer is
// business as usual. Setting up (connect) throws net::Error.
//
// Threading: one owning thread does everything, except shutdown_both(), which another thread may
// call while the owner is blocked in read_some/write_all, to wake it (it then sees eof or failed).
// The caller must make sure the stream is not destroyed meanwhile (ThreadPerConnectionServer
// holds its registry lock). Never close() from another thread: that races with the read (asio#779).
class TcpStream {
 public:
  using Duration = std::chrono::microseconds;

  // Adopts a connected socket and puts it in blocking mode.
  explicit TcpStream(asio::ip::tcp::socket socket);

  // Connects to the first endpoint of `where` that answers, each attempt bounded by `timeout`.
  // Throws net::Error ("connect 127.0.0.1:9: Connection refused"). Blocking.
  static TcpStream connect(asio::io_context& io, const HostPort& where,
                           std::optional<Duration> timeout = std::nullopt);
  static TcpStream connect(asio::io_context& io, const asio::ip::tcp::endpoint& where,
                           std::optional<Duration> timeout = std::nullopt);

  TcpStream(TcpStream&&) noexcept = default;
  TcpStream& operator=(TcpStream&&) noexcept = default;
  ~TcpStream() = default;

  // Inactivity limit of each later read_some/write_all; nullopt (the default) waits forever.
  void set_timeout(std::optional<Duration> timeout);
  void set_no_delay(bool enabled);

  // Waits until at least one byte arrives, then returns what is there (up to buffer.size()).
  IoResult read_some(std::span<std::byte> buffer);
  // Reads until `buffer` is full, eof, a timeout or an error.
  IoResult read_exact(std::span<std::byte> buffer);
  // Writes all of `data` unless the peer stops reading for the timeout, or an error happens.
  IoResult write_all(std::span<const std::byte> data);

  // Half-close: the peer reads eof after everything written so far. Owning thread.
  void shutdown_send() noexcept;
  // Wakes a blocked read/write on the owning thread. Any thread; idempotent; never throws.
  void shutdown_both() noexcept;
  // Closes the socket; sends RST instead of FIN when `reset` (SO_LINGER 0). Owning thread.
  void close(bool reset = false) noexcept;

  bool is_open() const { return socket_.is_open(); }
  int native_handle() { return socket_.native_handle(); }
  const asio::ip::tcp::endpoint& remote_endpoint() const { return remote_; }
  asio::ip::tcp::endpoint local_endpoint() const;

 private:
  void apply_timeout(int option, std::optional<Duration> timeout);

  asio::ip::tcp::socket socket_;
  asio::ip::tcp::endpoint remote_;
  std::optional<Duration> timeout_;
};

}  // namespace net
