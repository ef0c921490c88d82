#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <asio/ip/udp.hpp>

namespace chat {

// Which numbered messages each peer already delivered (docs/protocol.md, "Duplicates"), so a
// message is shown and logged once however often it arrives. Per peer (its address and port): the
// sender's session, the highest number seen, and a map of the kWindow numbers below it.
//
// A number kWindow or more below the highest is too old to tell: it may have been shown or not.
// The receiver then neither shows nor acks it, so its sender reports it not delivered rather
// than a message being acked and never shown. A sender keeps at most 1024 messages waiting for
// an ack (chat::PendingMessages), numbered in sequence, so a retry of a message still waiting is
// never that far below: a retry typed fast after (50 lines a second for 1.75 s) stays inside.
// A new session (the peer restarted) starts the peer's window afresh.
//
// Memory is bounded whatever arrives: at most `max_peers` peers (the one heard from longest ago
// makes room for a new one), 160 bytes of window each; forged numbers only move a window.
//
// Threading: owning thread only (the receiver thread).
class DedupWindow {
 public:
  static constexpr std::size_t kWindow = 1024;

  enum class Verdict {
    first,    // not seen before: show it (and ack it)
    repeat,   // seen before: ack it again (the first ack may be lost), do not show it
    too_old,  // below the window: neither show nor ack it
  };

  explicit DedupWindow(std::size_t max_peers = 256) : max_peers_(max_peers) {}

  // What to do with (peer, session, number): first the first time it is seen.
  Verdict accept(const asio::ip::udp::endpoint& peer, std::uint32_t session, std::uint32_t number);

  std::size_t peers() const { return peers_.size(); }
  std::size_t max_peers() const { return max_peers_; }

 private:
  struct Peer {
    asio::ip::udp::endpoint endpoint;
    std::uint32_t session = 0;
    std::uint32_t highest = 0;
    std::bitset<kWindow> seen;  // bit i: highest - i was seen
    std::uint64_t used = 0;     // tick of the last datagram, for eviction
  };

  std::size_t max_peers_;
  std::vector<Peer> peers_;
  std::uint64_t tick_ = 0;
};

}  // namespace chat
