#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <asio/ip/udp.hpp>

namespace chat {

// Which numbered messages each peer already delivered (docs/protocol.md, "Duplicates"), so a
// message is shown and logged once however often it arrives. Per peer (its address and port): the
// sender's session, the highest number seen, and a 64-bit map of the 64 numbers below it. A number
// more than 63 below the highest is taken as a repeat: by then its sender gave up on it long ago.
// A new session (the peer restarted) starts the peer's window afresh.
//
// Memory is bounded whatever arrives: at most `max_peers` peers (the one heard from longest ago
// makes room for a new one), 24 bytes of window each; forged numbers only move a window.
//
// Threading: owning thread only (the receiver thread).
class DedupWindow {
 public:
  static constexpr std::size_t kWindow = 64;

  explicit DedupWindow(std::size_t max_peers = 256) : max_peers_(max_peers) {}

  // True the first time (peer, session, number) is seen; false for a repeat.
  bool accept(const asio::ip::udp::endpoint& peer, std::uint32_t session, std::uint32_t number);

  std::size_t peers() const { return peers_.size(); }
  std::size_t max_peers() const { return max_peers_; }

 private:
  struct Peer {
    asio::ip::udp::endpoint endpoint;
    std::uint32_t session = 0;
    std::uint32_t highest = 0;
    std::uint64_t seen = 0;  // bit i: highest - i was seen
    std::uint64_t used = 0;  // tick of the last datagram, for eviction
  };

  std::size_t max_peers_;
  std::vector<Peer> peers_;
  std::uint64_t tick_ = 0;
};

}  // namespace chat
