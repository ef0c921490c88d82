#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include <asio/ip/udp.hpp>

#include "base/diagnostics.h"
#include "chat/recent_destinations.h"
#include "net/udp_socket.h"

namespace chat {

// Tells the user when a peer did not take a message: "127.0.0.1:9 is not listening (ICMP port
// unreachable)". The socket (net::UdpSocket::read_error_reports) names the destination each ICMP
// error is about; this class only words the reports and keeps them from flooding stderr, since
// anyone who can reach the chat can forge ICMP errors:
//
// - Only reports about a destination the chat recently sent to are shown (the sender says where
//   it sends through remember_destination(); see RecentDestinations). The others are only counted
//   (ignored()).
// - A repeat of the same report (same destination and error) within a second is only counted, so
//   a stream of lines to a dead peer does not flood stderr.
// - At most kLinesPerSecond lines a second. The rest are counted, and said as one line,
//   "N more ICMP reports not shown", by the first drain after that second is over.
//
// Threading: thread-safe (the sender calls remember_destination() before a send and drain()
// after it, the receiver drain() when the socket reports an error); the counters from any thread.
class PeerErrorReporter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kLinesPerSecond = 5;

  // Turns on the socket's error queue. Construct before the socket is shared between threads.
  PeerErrorReporter(net::UdpSocket& socket, base::Diagnostics& diagnostics);

  // A datagram is about to go to `destination`: reports about it are the chat's to show. Call it
  // before sending, so a report cannot arrive before its destination is known.
  void remember_destination(const asio::ip::udp::endpoint& destination);

  // Reads every queued error report and shows it (within the limits above). Never blocks.
  void drain() { drain_at(Clock::now()); }
  // The same, as if it were `now`: tests hold the clock still to see the per-second limit.
  void drain_at(Clock::time_point now);

  std::uint64_t reported() const { return reported_.load(); }    // lines shown about a report
  std::uint64_t ignored() const { return ignored_.load(); }      // about destinations not sent to
  std::uint64_t not_shown() const { return not_shown_.load(); }  // over the per-second limit

 private:
  // One line of the per-second budget, if any is left at `now`. Called under mutex_.
  bool take_line(Clock::time_point now);

  net::UdpSocket& socket_;
  base::Diagnostics& diagnostics_;
  std::mutex mutex_;  // guards what follows and keeps drains one at a time
  RecentDestinations destinations_;
  std::vector<net::ErrorReport> reports_;
  asio::ip::udp::endpoint last_destination_;
  std::error_code last_error_;
  Clock::time_point last_time_;
  Clock::time_point window_start_;      // of the current second of the line budget
  int lines_in_window_ = 0;             // lines shown since window_start_
  std::uint64_t not_shown_unsaid_ = 0;  // over the limit, not yet said as "N more"
  std::atomic<std::uint64_t> reported_{0};
  std::atomic<std::uint64_t> ignored_{0};
  std::atomic<std::uint64_t> not_shown_{0};
};

}  // namespace chat
