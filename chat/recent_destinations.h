#pragma once

#include <cstddef>
#include <vector>

#include <asio/ip/udp.hpp>

namespace chat {

// The last few destinations the chat sent datagrams to, most recent last. An ICMP error report
// names the destination it is about, and anyone on the path can forge one; a report about a
// destination that is not here was not caused by this chat, so it is not shown to the user.
// IPv4-mapped addresses count as the IPv4 address they map, since a dual-stack socket reports
// IPv4 destinations either way.
//
// Bounded: it holds at most kCapacity destinations; remembering one more forgets the one sent to
// least recently.
//
// Threading: not synchronised; the owner guards it (PeerErrorReporter holds it under its mutex).
class RecentDestinations {
 public:
  static constexpr std::size_t kCapacity = 64;

  // A datagram is about to go to `destination`: it becomes the most recent one.
  void remember(const asio::ip::udp::endpoint& destination);

  bool contains(const asio::ip::udp::endpoint& destination) const;
  std::size_t size() const { return destinations_.size(); }

 private:
  std::vector<asio::ip::udp::endpoint> destinations_;  // least recent first; unmapped
};

}  // namespace chat
