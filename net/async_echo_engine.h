#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include "net/echo_engine.h"

namespace net {

// The `async` engine (docs/design.md, "Engines"): one asio::io_context run by
// `options.threads` event-loop threads (the caller of run() is one of them). Every connection is
// a non-blocking socket on a strand of its own with one idle timer; the listener's socket is
// dup()ed into an acceptor of this context, so an inherited (systemd) socket works the same.
// Keeps every contract of the threads engine: the cap, the allow-list, the idle timeout in both
// directions, half-close, pausing on accept errors (said once), and graceful stop.
//
// Threading: as EchoEngine. Events are called on event-loop threads, never two at once for one
// connection (its strand); `listener` and `events` must outlive the engine.
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
  using Strand = asio::strand<asio::io_context::executor_type>;

  void accept();
  void on_accept(std::error_code error, asio::ip::tcp::socket socket);
  void admit(asio::ip::tcp::socket socket);
  void session_ended(std::uint64_t id, const SessionEnd& end);
  void run_loop() noexcept;

  TcpListener& listener_;
  const ServerLimits limits_;
  ServerEvents& events_;
  const EngineOptions options_;

  asio::io_context io_;
  Strand accept_strand_;  // the acceptor and the pause timer
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer pause_timer_;
  AcceptPauseReporter pauses_;  // accept strand only

  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::uint64_t next_id_ = 1;
  ServerStats stats_;
  std::exception_ptr failure_;  // the first error that ended run(), rethrown by it
};

}  // namespace net
