#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include <asio/ip/udp.hpp>

#include "base/diagnostics.h"
#include "net/udp_socket.h"

namespace chat {

// Tells the user when a peer did not take a message: "127.0.0.1:9 is not listening (ICMP port
// unreachable)". The socket (net::UdpSocket::read_error_reports) names the destination each ICMP
// error is about; this class only words the reports and keeps them from flooding stderr.
//
// A repeat of the same report (same destination and error) within a second is only counted, so a
// stream of lines to a dead peer does not flood stderr.
//
// Threading: drain() is thread-safe (the sender calls it after a send, the receiver when the
// socket reports an error); reported() from any thread.
class PeerErrorReporter {
 public:
  // Turns on the socket's error queue. Construct before the socket is shared between threads.
  PeerErrorReporter(net::UdpSocket& socket, base::Diagnostics& diagnostics);

  // Reads every queued error report and shows it. Never blocks.
  void drain();

  std::uint64_t reported() const { return reported_.load(); }

 private:
  net::UdpSocket& socket_;
  base::Diagnostics& diagnostics_;
  std::mutex mutex_;  // guards what follows and keeps drains one at a time
  std::vector<net::ErrorReport> reports_;
  asio::ip::udp::endpoint last_destination_;
  std::error_code last_error_;
  std::chrono::steady_clock::time_point last_time_;
  std::atomic<std::uint64_t> reported_{0};
};

}  // namespace chat
