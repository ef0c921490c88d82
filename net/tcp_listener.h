#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "base/waker.h"
#include "net/tcp_stream.h"

namespace net {

// What one accept() produced: a connection, a transient failure to report and retry after a
// pause (EMFILE, ENFILE, ENOBUFS, ENOMEM), or neither, which means the listener was stopped.
struct AcceptResult {
  std::optional<TcpStream> stream;
  std::error_code transient_error;
  bool stopped() const { return !stream && !transient_error; }
};

// A listening TCP socket. Binding "::" gives a dual-stack socket (IPv4 peers arrive mapped, see
// net::unmapped); SO_REUSEADDR is set so a restarted server can bind while old connections linger
// in TIME_WAIT (only this socket sets it; on UDP it would let another process share the port).
//
// Threading: accept() and wait_for_stop() from the owning thread only; stop() from any thread,
// and also from a signal handler (it wakes a base::Waker). A blocked accept() wakes at once: it
// polls the socket together with the waker, since closing an acceptor from another thread does
// not wake a blocked accept() on Linux (docs/design.md, "Blocking-socket traps").
class TcpListener {
 public:
  // Throws net::Error ("bind [::]:12000: Address already in use").
  TcpListener(const asio::ip::address& address, std::uint16_t port, int backlog = 4096);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // The bound address and the real port (useful after binding port 0).
  asio::ip::tcp::endpoint local_endpoint() const { return local_; }

  // Waits for the next connection, or until stop(). Non-transient errors throw net::Error.
  AcceptResult accept();

  // Sleeps up to `pause` unless stop() is called first; true when stopped. Owning thread.
  bool wait_for_stop(std::chrono::milliseconds pause);

  // Makes the current and every later accept() return "stopped". Any thread, async-signal-safe.
  void stop() noexcept;
  bool stop_requested() const noexcept { return stop_requested_.load(); }

  // Connections are created on this context; it needs no run() for the blocking streams.
  asio::io_context& context() { return io_; }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint local_;
  base::Waker waker_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace net
