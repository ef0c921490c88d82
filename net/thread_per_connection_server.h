#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/cidr.h"
#include "net/connection_info.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"

namespace net {

struct ServerLimits {
  std::size_t max_connections = 0;                  // 0: no cap
  std::optional<TcpStream::Duration> idle_timeout;  // per connection, no progress either way
  std::vector<Cidr> allow;                          // empty: everyone may connect
  std::chrono::milliseconds accept_pause{100};      // between accept retries after an error
};

// Whether `limits` lets a peer at `address` in: an empty allow-list admits everyone. Every engine
// checks this the same way. Thread-safe.
bool is_allowed(const ServerLimits& limits, const asio::ip::address& address);

class ServerEvents;

// Decides when an engine's accept loop says that it pauses and resumes after accept errors
// (docs/design.md, "Engines"): a pause is announced when it starts long after the last resume,
// or once it has lasted a second; a resume only when its pause was announced. Each engine's
// accept loop owns one and calls it from that loop only (not thread-safe).
class AcceptPauseReporter {
 public:
  explicit AcceptPauseReporter(std::chrono::milliseconds accept_pause);
  // accept failed with `error` and the loop pauses; may call events.notice once.
  void paused(std::error_code error, ServerEvents& events);
  // accept succeeded; may call events.notice once.
  void accepted(ServerEvents& events);

 private:
  using Clock = std::chrono::steady_clock;
  std::chrono::milliseconds accept_pause_;
  bool paused_ = false;
  bool announced_ = false;
  Clock::time_point paused_since_;
  Clock::time_point resumed_at_;
};

// Why a connection was closed at once. to_string() words it without naming any command-line
// option; a program that wants its flags named words it itself. Thread-safe.
enum class Refusal { over_capacity, not_allowed, no_thread, stopping };
std::string_view to_string(Refusal refusal);

// Counters of a server; a consistent snapshot from stats().
struct ServerStats {
  std::uint64_t served = 0;           // connections handed to a handler
  std::uint64_t refused = 0;          // closed at once: over the cap
  std::uint64_t denied = 0;           // closed at once: not in the allow-list
  std::uint64_t thread_failures = 0;  // closed at once: no thread could be started
  std::uint64_t timed_out = 0;        // sessions ended by the idle timeout
  std::uint64_t bytes = 0;            // sum of SessionEnd::bytes
  std::size_t active = 0;
  std::size_t peak_active = 0;
};

// What a server tells its owner. Callbacks run on the accept thread (refused, notice) or on a
// connection's own thread (opened, then closed), so implementations must be thread-safe.
// They only report: an exception from one is swallowed (a log line that cannot be written must
// not end a connection or the accept loop), so they should not count on throwing.
class ServerEvents {
 public:
  virtual ~ServerEvents() = default;
  virtual void opened(const ConnectionInfo&) {}
  virtual void closed(const ConnectionInfo&, const SessionEnd&) {}
  virtual void refused(const asio::ip::tcp::endpoint&, Refusal) {}
  // Rare conditions a person should know of, each said once: "out of file descriptors ...".
  virtual void notice(std::string_view) {}
};

// "summary: served=N refused=N bytes=N denied=N thread_failures=N timed_out=N peak_active=N", the
// echo server's last line (scripts read its key=value pairs). Thread-safe.
std::string summary_line(const ServerStats& stats);

// The admission rules of every engine, in one order: a peer outside the allow-list (counted in
// stats.denied), then a stopping server, then the cap over the `active` connections served now
// (counted in stats.refused). Returns why the peer is refused, or nullopt to serve it.
// Threading: call with the mutex that guards `stats` held.
std::optional<Refusal> admission_refusal(const ServerLimits& limits, const asio::ip::address& peer,
                                         bool stopping, std::size_t active, ServerStats& stats);
// Counts a connection now served; `active` includes it. Threading: as admission_refusal.
void count_served(ServerStats& stats, std::size_t active);

// Accepts connections and runs `handler` for each on a thread of its own (a std::jthread owned
// by the server). Enforces the cap, the allow-list and the idle timeout; survives running out of
// descriptors and other accept errors that leave the listener working (pauses accepting, says so
// once, resumes), and running out of threads (refuses the connection).
//
// Threading: run() once, on one thread (it is the accept loop and returns only after stop(), with
// every connection thread joined). stop() and stats() from any thread; stop() is idempotent. The
// handler runs on connection threads; it must return once its stream reports eof, which stop()
// causes by shutting every connection down.
class ThreadPerConnectionServer {
 public:
  using Handler = std::function<SessionEnd(TcpStream&, const ConnectionInfo&)>;

  ThreadPerConnectionServer(TcpListener& listener, ServerLimits limits, Handler handler,
                            ServerEvents& events);
  ~ThreadPerConnectionServer();
  ThreadPerConnectionServer(const ThreadPerConnectionServer&) = delete;
  ThreadPerConnectionServer& operator=(const ThreadPerConnectionServer&) = delete;

  void run();
  void stop() noexcept;
  ServerStats stats() const;

 private:
  struct Session {
    ConnectionInfo info;
    TcpStream stream;
    std::jthread thread;
  };

  void admit(TcpStream stream);
  void run_session(Session& session);
  void reap(std::stop_token stop);
  void shut_down_all_sessions();
  void join_all_sessions();

  TcpListener& listener_;
  const ServerLimits limits_;
  const Handler handler_;
  ServerEvents& events_;

  mutable std::mutex mutex_;
  std::condition_variable_any changed_;  // a session ended, or a thread awaits joining
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::vector<std::jthread> finished_threads_;  // ended sessions' threads, for the reaper to join
  bool stopping_ = false;
  std::uint64_t next_id_ = 1;
  ServerStats stats_;
  bool thread_failure_reported_ = false;
  std::jthread reaper_;
};

}  // namespace net
