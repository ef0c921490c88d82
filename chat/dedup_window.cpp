#include "chat/dedup_window.h"

#include <algorithm>

namespace chat {

DedupWindow::Verdict DedupWindow::accept(const asio::ip::udp::endpoint& peer, std::uint32_t session,
                                         std::uint32_t number) {
  ++tick_;
  auto found = std::find_if(peers_.begin(), peers_.end(),
                            [&](const Peer& known) { return known.endpoint == peer; });
  if (found == peers_.end()) {
    if (max_peers_ == 0) return Verdict::first;
    if (peers_.size() >= max_peers_) {
      found = std::min_element(peers_.begin(), peers_.end(),
                               [](const Peer& a, const Peer& b) { return a.used < b.used; });
    } else {
      found = peers_.emplace(peers_.end());
    }
    *found = Peer{peer, session, number, {1}, tick_};
    return Verdict::first;
  }
  Peer& known = *found;
  known.used = tick_;
  if (known.session != session) {
    known.session = session;
    known.highest = number;
    known.seen = 1;
    return Verdict::first;
  }
  if (number > known.highest) {
    const std::uint32_t shift = number - known.highest;
    if (shift >= kWindow) {
      known.seen.reset();
    } else {
      known.seen <<= shift;
    }
    known.seen.set(0);
    known.highest = number;
    return Verdict::first;
  }
  const std::uint32_t below = known.highest - number;
  if (below >= kWindow) return Verdict::too_old;
  if (known.seen.test(below)) return Verdict::repeat;
  known.seen.set(below);
  return Verdict::first;
}

}  // namespace chat
