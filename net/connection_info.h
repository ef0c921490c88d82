#pragma once

#include <cstdint>
#include <string>

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

}  // namespace net
