#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/echo_engine.h"

namespace net {

// The `uring` engine (docs/design.md, "Engines"): `options.threads` event loops, each a
// std::jthread with an io_uring of its own (the caller of run() runs the first), each owning the
// connections it was given, so the data path takes no lock. The first loop keeps a multishot
// accept on the listener's descriptor and hands admitted connections out round-robin. Each
// connection has at most one operation in flight: a recv that picks a buffer from its loop's
// provided-buffer ring, then sends of those bytes until all are written back, then the buffer
// goes back to the ring and the next recv is posted. Keeps every contract of the other engines:
// the cap, the allow-list, the idle timeout in both directions, half-close, pausing on accept
// errors (said once), and graceful stop.
//
// Threading: as EchoEngine. Events are called on event-loop threads, never two at once for one
// connection (a connection lives on one loop); `listener` and `events` must outlive the engine.
class UringEchoEngine final : public EchoEngine {
 public:
  // Sets up every loop's ring and buffers. Throws net::Error with one line for a person when the
  // kernel refuses io_uring or lacks what the engine needs (provided-buffer rings, Linux 5.19).
  UringEchoEngine(TcpListener& listener, ServerLimits limits, ServerEvents& events,
                  EngineOptions options);
  ~UringEchoEngine() override;
  UringEchoEngine(const UringEchoEngine&) = delete;
  UringEchoEngine& operator=(const UringEchoEngine&) = delete;

  void run() override;
  void stop() noexcept override;
  ServerStats stats() const override;

 private:
  struct Connection;
  struct Loop;

  void run_loop(Loop& loop) noexcept;
  void serve(Loop& loop);
  void handle_accept(Loop& loop, int result, unsigned flags);
  void rearm_accept(Loop& loop);
  void admit(Loop& loop, int fd);
  void start(Loop& loop, int fd, ConnectionInfo info);
  void on_recv(Loop& loop, Connection& connection, int result, unsigned flags);
  void on_send(Loop& loop, Connection& connection, int result);
  void failed(Loop& loop, Connection& connection, int error);
  void post_recv(Loop& loop, Connection& connection);
  void post_send(Loop& loop, Connection& connection);
  void give_back(Loop& loop, Connection& connection);
  void end(Loop& loop, Connection& connection, SessionEnd how);
  void release(Loop& loop, Connection& connection);
  void on_tick(Loop& loop);
  void on_wake(Loop& loop);
  void wake(Loop& loop) noexcept;
  bool finished(Loop& loop);
  void fail(std::exception_ptr error) noexcept;

  TcpListener& listener_;
  const ServerLimits limits_;
  ServerEvents& events_;
  const EngineOptions options_;
  std::vector<std::unique_ptr<Loop>> loops_;
  AcceptPauseReporter pauses_;  // the first loop only
  std::size_t next_loop_ = 0;   // round-robin; the first loop only

  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;  // the counters, every loop's inbox, failure_
  std::size_t active_ = 0;
  std::uint64_t next_id_ = 1;
  ServerStats stats_;
  std::exception_ptr failure_;  // the first error that ended run(), rethrown by it
};

// The context of the net::Error the factory throws when io_uring_queue_init() failed with
// `error` (a positive errno; what() adds its message): the kernel refusing io_uring (ENOSYS,
// EPERM, EACCES) says so; either way it names --engine async. Thread-safe.
std::string uring_setup_failure(int error);

// How often a loop looks for idle connections: a quarter of the timeout, from 10 ms to 1 s, so a
// connection ends at most a quarter later than its timeout. Thread-safe.
std::chrono::milliseconds uring_idle_tick(std::chrono::milliseconds idle_timeout);

}  // namespace net
