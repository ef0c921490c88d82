#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/diagnostics.h"
#include "net/thread_per_connection_server.h"

namespace net {

// The echo server's lines on stderr, through the program's diagnostics sink (which never blocks
// a connection or the accept loop on a slow stderr):
//   open #7 127.0.0.1:50412
//   close #7 127.0.0.1:50412 bytes=12 (closed by peer)
//   refused 127.0.0.1:50413 (over the connection cap)
//   data #7 hello\n                      (verbose only: what the peer sent, escaped)
// and notices ("echo-server: accept: Too many open files; pausing ..."), said at every verbosity.
//
// Threading: called from the accept thread and connection threads at once; it holds only
// immutable settings, and the sink is thread-safe.
class ServerLog : public ServerEvents {
 public:
  enum class Verbosity { quiet, normal, verbose };
  // Words a refusal for the log; the program may name its own options ("over --max-conns").
  using RefusalWords = std::function<std::string(Refusal)>;

  ServerLog(base::Diagnostics& sink, Verbosity verbosity, RefusalWords words = {});

  void opened(const ConnectionInfo& info) override;
  void closed(const ConnectionInfo& info, const SessionEnd& end) override;
  void refused(const asio::ip::tcp::endpoint& peer, Refusal why) override;
  void notice(std::string_view text) override;

  // A chunk of a connection's data, escaped; said only when verbose.
  void data(const ConnectionInfo& info, std::span<const std::byte> bytes);
  bool verbose() const { return verbosity_ == Verbosity::verbose; }

 private:
  base::Diagnostics& sink_;
  const Verbosity verbosity_;
  const RefusalWords words_;
};

}  // namespace net
