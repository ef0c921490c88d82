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

// What the accept loop does after accept(2) failed with `error`.
enum class AcceptFailure {
  // The error was about the one connection being taken, which is gone now (ECONNABORTED, EPROTO
  // and the other network errors accept(2) passes on), or a signal interrupted the call (EINTR),
  // or no connection was waiting after all (EAGAIN): accept again at once.
  retry_now,
  // Out of descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): pause, and retry
  // after the pause; connections that close free what is missing.
  out_of_resources,
  // Anything else that does not mean the listener is broken, such as EPERM or EACCES from a
  // security module or a seccomp filter: pause and retry the same way. Ending the server on an
  // error accept(2) does not list would let one refused connection stop the service.
  unexpected,
  // The listening socket itself is broken (EBADF, EINVAL, ENOTSOCK, EFAULT, EOPNOTSUPP):
  // retrying can never succeed, so the error is thrown.
  listener_broken,
};

// Which kind of failure `error` (any category; Asio's are mapped to errno) is. Thread-safe.
AcceptFailure classify_accept_error(std::error_code error);

// What one accept() produced: a connection, an error to report and retry after a pause
// (AcceptFailure::out_of_resources or unexpected), or neither, which means the listener was
// stopped.
struct AcceptResult {
  std::optional<TcpStream> stream;
  std::error_code pause_error;
  bool stopped() const { return !stream && !pause_error; }
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
  // How a bound listener shares its port.
  struct Options {
    int backlog = 4096;
    // SO_REUSEPORT before bind: several processes (each with this set) listen on one port and the
    // kernel spreads new connections over them (docs/design.md, "Scaling out").
    bool reuse_port = false;
  };
  // Throws net::Error ("bind [::]:12000: Address already in use").
  TcpListener(const asio::ip::address& address, std::uint16_t port, Options options);
  TcpListener(const asio::ip::address& address, std::uint16_t port)
      : TcpListener(address, port, Options{}) {}
  // Takes over `fd`, a socket already bound and listening (one a service manager passed, see
  // net::take_listen_fds), and owns it from now on. Its options are the service manager's
  // (ReusePort= in the .socket unit); Options does not apply to it. Throws net::Error when `fd` is
  // not a listening TCP socket over IPv4 or IPv6 ("listening socket fd 3: not a TCP socket").
  struct Inherited {
    int fd;
  };
  explicit TcpListener(Inherited inherited);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // The bound address and the real port (useful after binding port 0).
  asio::ip::tcp::endpoint local_endpoint() const { return local_; }

  // Waits for the next connection, or until stop(). Retries at once or returns a pause_error as
  // classify_accept_error says; throws net::Error when the listener is broken.
  AcceptResult accept();

  // Sleeps up to `pause` unless stop() is called first; true when stopped. Owning thread.
  bool wait_for_stop(std::chrono::milliseconds pause);

  // Makes the current and every later accept() return "stopped". Any thread, async-signal-safe.
  void stop() noexcept;
  bool stop_requested() const noexcept { return stop_requested_.load(); }

  // Connections are created on this context; it needs no run() for the blocking streams.
  asio::io_context& context() { return io_; }

  // The listening socket's descriptor, still owned by this listener: an event-loop engine dup()s
  // it into an acceptor of its own context (docs/design.md, "Engines"). Any thread.
  int native_handle() { return acceptor_.native_handle(); }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint local_;
  base::Waker waker_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace net
