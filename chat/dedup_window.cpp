#include "chat/dedup_window.h"

#include <algorithm>

namespace chat {

bool DedupWindow::accept(const asio::ip::udp::endpoint& peer, std::uint32_t session,
                         std::uint32_t number) {
  ++tick_;
  auto found = std::find_if(peers_.begin(), peers_.end(),
                            [&](const Peer& known) { return known.endpoint == peer; });
  if (found == peers_.end()) {
    if (max_peers_ == 0) return true;
    if (peers_.size() >= max_peers_) {
      found = std::min_element(peers_.begin(), peers_.end(),
                               [](const Peer& a, const Peer& b) { return a.used < b.used; });
    } else {
      found = peers_.emplace(peers_.end());
    }
    *found = Peer{peer, session, number, 1, tick_};
    return true;
  }
  Peer& known = *found;
  known.used = tick_;
  if (known.session != session) {
    known.session = session;
    known.highest = number;
    known.seen = 1;
    return true;
  }
  if (number > known.highest) {
    const std::uint32_t shift = number - known.highest;
    known.seen = shift >= kWindow ? 0 : known.seen << shift;
    known.seen |= 1;
    known.highest = number;
    return true;
  }
  const std::uint32_t below = known.highest - number;
  if (below >= kWindow) return false;
  const std::uint64_t bit = std::uint64_t{1} << below;
  if ((known.seen & bit) != 0) return false;
  known.seen |= bit;
  return true;
}

}  // namespace chat
