#include "chat/recent_destinations.h"

#include <algorithm>

#include "net/endpoint.h"

namespace chat {

namespace {

asio::ip::udp::endpoint normalised(const asio::ip::udp::endpoint& destination) {
  return {net::unmapped(destination.address()), destination.port()};
}

}  // namespace

void RecentDestinations::remember(const asio::ip::udp::endpoint& destination) {
  const auto key = normalised(destination);
  // The chat mostly sends to one peer: then it is the last entry already, and nothing moves.
  if (!destinations_.empty() && destinations_.back() == key) return;
  const auto known = std::find(destinations_.begin(), destinations_.end(), key);
  if (known != destinations_.end()) {
    destinations_.erase(known);
  } else if (destinations_.size() >= kCapacity) {
    destinations_.erase(destinations_.begin());
  }
  destinations_.push_back(key);
}

bool RecentDestinations::contains(const asio::ip::udp::endpoint& destination) const {
  return std::find(destinations_.begin(), destinations_.end(), normalised(destination)) !=
         destinations_.end();
}

}  // namespace chat
