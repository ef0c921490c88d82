#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "net/echo_engine.h"

namespace net {

// The `async` engine (docs/design.md, "Engines"): `options.threads` event loops, each an
// asio::io_context run by one thread of its own (the caller of run() runs the first). The first
// loop accepts; each connection is bound to one loop, round-robin, for its whole life, so all of
// its handlers run on that loop's thread and need no strand. Every connection is a non-blocking
// socket with one idle timer; the listener's socket is dup()ed into an acceptor of the first
// loop, so an inherited (systemd) socket works the same.
// Keeps every contract of the threads engine: the cap, the allow-list, the idle timeout in both
// directions, half-close, pausing on accept errors (said once), and graceful stop.
//
// Threading: as EchoEngine. Events are called on event-loop threads, never two at once for one
// connection (its loop's thread); `listener` and `events` must outlive the engine.
class AsyncEchoEngine final : public EchoEngine {
 public:
  // Throws net::Error when the listener's socket cannot be taken over.
  AsyncEchoEngine(TcpListener& listener, ServerLimits limits, ServerEvents& events,
                  EngineOptions options);
  ~AsyncEchoEngine() override;
  AsyncEchoEngine(const AsyncEchoEngine&) = delete;
  AsyncEchoEngine& operator=(const AsyncEchoEngine&) = delete;

  void run() override;
  void stop() noexcept override;
  ServerStats stats() const override;

 private:
  class Session;
  // One event loop: its context, run by one thread, and the work guard that keeps run() from
  // returning while the loop has no connection; stop() releases it on the loop's own thread.
  struct Loop {
    Loop();
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work;
  };

  static std::vector<std::unique_ptr<Loop>> make_loops(std::size_t threads);
  void accept();
  void on_accept(std::error_code error, asio::ip::tcp::socket socket);
  void admit(asio::ip::tcp::socket socket);
  void session_ended(std::uint64_t id, const SessionEnd& end);
  void run_loop(Loop& loop) noexcept;

  TcpListener& listener_;
  const ServerLimits limits_;
  ServerEvents& events_;
  const EngineOptions options_;

  std::vector<std::unique_ptr<Loop>> loops_;  // at least one; the first accepts
  asio::ip::tcp::acceptor acceptor_;          // first loop's thread only, as the two below
  asio::steady_timer pause_timer_;
  AcceptPauseReporter pauses_;
  std::size_t next_loop_ = 0;  // round-robin: the loop the next connection is bound to

  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::uint64_t next_id_ = 1;
  ServerStats stats_;
  std::exception_ptr failure_;  // the first error that ended run(), rethrown by it
};

}  // namespace net
