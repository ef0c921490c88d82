#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include <asio/ip/tcp.hpp>

namespace net {

// Who a server's connection is: its number in this run and its peer.
// Threading: a plain value.
struct ConnectionInfo {
  std::uint64_t id = 0;
  asio::ip::tcp::endpoint peer;
};

// How a connection's session ended, for the close log line and the summary.
// Threading: a plain value.
struct SessionEnd {
  std::uint64_t bytes = 0;  // payload bytes the session moved (the echo server: bytes echoed)
  std::string reason;       // "closed by peer", "idle timeout", "reset", "error: ..."
  bool timed_out = false;
};

// The close reason of a connection that failed with `error`, in the same words for every engine:
// "reset" when the peer reset it (a one-way client such as `socat -u`, closing with our echo
// unread in its buffer, ends so: a normal way to end, said in one word), else "error: <message>".
// Thread-safe.
std::string failure_reason(std::error_code error);

// Calls an event callback (a log line, a counter of the owner). Events only report; one that
// throws, say because stderr's reader went away, must cost neither the connection nor the loop
// that serves it and with it the whole service, so its exception stops here: the event is lost,
// the server's own counters (stats()) still record what happened. Threading: the caller's.
template <typename Call>
void report_event(Call&& call) noexcept {
  try {
    std::forward<Call>(call)();
  } catch (...) {
  }
}

}  // namespace net
