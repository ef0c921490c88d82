#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "net/connection_info.h"
#include "net/tcp_listener.h"
#include "net/thread_per_connection_server.h"

namespace net {

// How the echo server serves its connections (docs/design.md, "Engines"):
//   threads  one thread per connection, blocking sockets (net::ThreadPerConnectionServer)
//   async    Asio's io_context run by a few event-loop threads, non-blocking sockets
//   uring    io_uring event loops, one ring per thread (net::UringEchoEngine, Linux 5.19)
enum class EngineKind { threads, async, uring };

std::string_view to_string(EngineKind kind);
// "threads", "async" or "uring"; nullopt for anything else. Thread-safe.
std::optional<EngineKind> parse_engine_kind(std::string_view text);

// Called with each chunk a connection's peer sent, before it is echoed (--verbose).
using ConnectionDataObserver =
    std::function<void(const ConnectionInfo&, std::span<const std::byte>)>;

struct EngineOptions {
  // Event-loop threads (async, uring); 0: one per core. The threads engine ignores it.
  std::size_t threads = 0;
  // Empty: no data lines. Called on the connection's thread (threads) or an event-loop thread.
  ConnectionDataObserver on_data;
  // Called once by run(), on its thread, when every thread the engine runs on has been started
  // and before it serves: the moment to say "ready" (echo-server's `listening on` line), so that
  // whoever reads it sees the server's threads all there. Empty: nothing is called.
  std::function<void()> on_running;
};

// One echo server engine: serves `listener` under `limits`, reports through `events` the same
// way whatever the engine (the same open/close/refused lines and notices, the same counters).
//
// Threading: run() once, on one thread; it serves until stop() and returns with every thread the
// engine started joined (it throws net::Error if the listener breaks). stop() from any thread
// (not from a signal handler), idempotent, noexcept. stats() from any thread.
class EchoEngine {
 public:
  virtual ~EchoEngine() = default;
  virtual void run() = 0;
  virtual void stop() noexcept = 0;
  virtual ServerStats stats() const = 0;
};

// Makes the engine `kind`; `listener` and `events` must outlive it. Throws net::Error when the
// engine cannot be made here ("io_uring engine: the kernel refuses io_uring (use --engine
// async): Operation not permitted"). Thread-safe.
std::unique_ptr<EchoEngine> make_echo_engine(EngineKind kind, TcpListener& listener,
                                             ServerLimits limits, ServerEvents& events,
                                             EngineOptions options);

// The io_uring engine's factory (net/uring_echo_engine.cpp).
std::unique_ptr<EchoEngine> make_uring_echo_engine(TcpListener& listener,
                                                   const ServerLimits& limits, ServerEvents& events,
                                                   const EngineOptions& options);

}  // namespace net
