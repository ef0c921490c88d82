#include "net/echo_engine.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "net/async_echo_engine.h"
#include "net/echo_session.h"

namespace net {

namespace {

// The thread-per-connection server behind the engine interface, unchanged.
class ThreadsEchoEngine final : public EchoEngine {
 public:
  ThreadsEchoEngine(TcpListener& listener, ServerLimits limits, ServerEvents& events,
                    EngineOptions options)
      : server_(listener, std::move(limits), make_handler(std::move(options.on_data)), events),
        on_running_(std::move(options.on_running)) {}

  void run() override {
    if (on_running_) on_running_();  // the reaper runs since construction; run() accepts
    server_.run();
  }
  void stop() noexcept override { server_.stop(); }
  ServerStats stats() const override { return server_.stats(); }

 private:
  static ThreadPerConnectionServer::Handler make_handler(ConnectionDataObserver on_data) {
    return [on_data = std::move(on_data)](TcpStream& stream, const ConnectionInfo& info) {
      if (!on_data) return echo_session(stream);
      return echo_session(stream, [&](std::span<const std::byte> data) { on_data(info, data); });
    };
  }

  ThreadPerConnectionServer server_;
  std::function<void()> on_running_;
};

}  // namespace

std::string_view to_string(EngineKind kind) {
  switch (kind) {
    case EngineKind::threads:
      return "threads";
    case EngineKind::async:
      return "async";
    case EngineKind::uring:
      return "uring";
  }
  return "threads";
}

std::optional<EngineKind> parse_engine_kind(std::string_view text) {
  for (const auto kind : {EngineKind::threads, EngineKind::async, EngineKind::uring}) {
    if (text == to_string(kind)) return kind;
  }
  return std::nullopt;
}

std::unique_ptr<EchoEngine> make_echo_engine(EngineKind kind, TcpListener& listener,
                                             ServerLimits limits, ServerEvents& events,
                                             EngineOptions options) {
  if (options.threads == 0) options.threads = std::max(1u, std::thread::hardware_concurrency());
  switch (kind) {
    case EngineKind::threads:
      return std::make_unique<ThreadsEchoEngine>(listener, std::move(limits), events,
                                                 std::move(options));
    case EngineKind::async:
      return std::make_unique<AsyncEchoEngine>(listener, std::move(limits), events,
                                               std::move(options));
    case EngineKind::uring:
      return make_uring_echo_engine(listener, limits, events, options);
  }
  return nullptr;
}

}  // namespace net
