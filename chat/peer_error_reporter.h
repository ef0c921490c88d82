#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include <asio/ip/udp.hpp>

namespace chat {

// Tells the user when a peer did not take a message: "127.0.0.1:9 is not listening (ICMP port
// unreachable)". The chat socket is unconnected (DESIGN.md trap 6), and Linux reports ICMP errors
// to an unconnected UDP socket only with IP_RECVERR/IPV6_RECVERR, through the socket's error
// queue; this class turns those on and reads the queue (MSG_ERRQUEUE), which also names the
// destination the error is about. The queue must be drained: its entries count against the
// receive buffer.
//
// A repeat of the same report (same destination and error) within a second is only counted, so a
// stream of lines to a dead peer does not flood stderr.
//
// Threading: drain() is thread-safe (the sender calls it after a send, the receiver when the
// socket reports an error); reported() from any thread.
class PeerErrorReporter {
 public:
  // Enables the error queue on `fd` (a UDP socket of the given family). `errors` gets the lines.
  PeerErrorReporter(int fd, bool ipv6, std::string program = "udp-chat",
                    std::FILE* errors = stderr);

  // Reads every queued error report and shows it. Never blocks.
  void drain();

  std::uint64_t reported() const { return reported_.load(); }

 private:
  int fd_;
  std::string program_;
  std::FILE* errors_;
  std::mutex mutex_;  // guards the repeat filter below and keeps drains one at a time
  asio::ip::udp::endpoint last_destination_;
  int last_error_ = 0;
  std::chrono::steady_clock::time_point last_time_;
  std::atomic<std::uint64_t> reported_{0};
};

}  // namespace chat
