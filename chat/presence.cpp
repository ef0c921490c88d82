#include "chat/presence.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <span>

#include <fmt/format.h>

#include "base/text_escape.h"
#include "net/endpoint.h"

namespace chat {

namespace {

constexpr std::size_t kMaxPeers = 256;

std::string where(const asio::ip::udp::endpoint& endpoint) {
  return net::format_endpoint(
      asio::ip::udp::endpoint(net::unmapped(endpoint.address()), endpoint.port()));
}

std::error_code send(net::UdpSocket& socket, const std::string& datagram,
                     const asio::ip::udp::endpoint& to) {
  return socket.send_to(std::as_bytes(std::span(datagram.data(), datagram.size())), to);
}

}  // namespace

asio::ip::udp::endpoint Presence::ipv4_group(std::uint16_t port) {
  return {asio::ip::make_address_v4("239.255.78.90"), port};
}

asio::ip::udp::endpoint Presence::ipv6_group(std::uint16_t port) {
  return {asio::ip::make_address_v6("ff02::7890"), port};
}

Presence::Presence(net::UdpSocket& socket, base::Diagnostics& diagnostics, std::string name,
                   std::uint32_t session, bool speaks_receipts, Say say, PresenceTiming timing)
    : socket_(socket),
      name_(sanitize_peer_name(name)),
      session_(session),
      flags_(speaks_receipts ? kSpeaksReceipts : 0),
      say_(std::move(say)),
      timing_(std::move(timing)) {
  const auto local = socket_.local_endpoint();
  const auto& bound = local.address();
  std::vector<asio::ip::udp::endpoint> wanted;
  // A dual-stack socket uses the IPv4 group alone: with both, every peer would be heard twice,
  // once by each address (docs/design.md, "Presence").
  if (bound.is_v4() || bound.is_unspecified()) {
    wanted.push_back(ipv4_group(local.port()));
  } else {
    wanted.push_back(ipv6_group(local.port()));
  }
  std::string failures;
  for (const auto& group : wanted) {
    if (const auto error = socket_.join_group(group.address())) {
      failures += fmt::format("{}{} ({})", failures.empty() ? "" : ", ",
                              net::format_address(group.address()), error.message());
    } else {
      groups_.push_back(group);
    }
  }
  if (groups_.empty()) {
    diagnostics.print_error("no peer discovery: cannot join {}; the chat goes on without it",
                            failures);
    return;
  }
  socket_.set_link_local_multicast();
  active_ = true;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Presence::~Presence() {
  stop();
}

void Presence::announce_to_groups(bool goodbye) {
  const auto datagram =
      goodbye ? encode_goodbye(session_, flags_, name_) : encode_announce(session_, flags_, name_);
  // A group without a route on this host fails here; the other group may still work.
  for (const auto& group : groups_) static_cast<void>(send(socket_, datagram, group));
}

void Presence::on_frame(const asio::ip::udp::endpoint& from, const Frame& frame) {
  const asio::ip::udp::endpoint peer(net::unmapped(from.address()), from.port());
  const auto now = Clock::now();
  std::string line;
  bool answer = false;
  {
    std::lock_guard lock(mutex_);
    const auto found = std::find_if(peers_.begin(), peers_.end(),
                                    [&](const Peer& known) { return known.endpoint == peer; });
    if (frame.kind == Frame::Kind::goodbye) {
      if (found == peers_.end()) return;
      line = fmt::format("left: {} at {}", found->name, where(peer));
      peers_.erase(found);
    } else if (frame.kind == Frame::Kind::announce) {
      const bool receipts = (frame.flags & kSpeaksReceipts) != 0;
      // A name has no control characters (parse_frame checks), but it is still a stranger's
      // text: escaped like a message, so a bidi override or an invisible character cannot
      // disguise a line or a name. /peer NAME takes it as shown.
      std::string name = base::escape_text(frame.text);
      if (found != peers_.end()) {
        found->name = std::move(name);
        found->session = frame.session;
        found->receipts = receipts;
        found->last_heard = now;
        return;
      }
      if (peers_.size() >= kMaxPeers) return;
      line = fmt::format("joined: {} at {}", name, where(peer));
      peers_.push_back(Peer{std::move(name), peer, frame.session, receipts, now});
      answer = true;
    } else {
      return;
    }
  }
  if (answer) static_cast<void>(send(socket_, encode_announce(session_, flags_, name_), peer));
  if (say_) say_(line);
}

void Presence::forget_silent(Clock::time_point now) {
  std::vector<std::string> lines;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(peers_, [&](const Peer& peer) {
      if (now - peer.last_heard < timing_.silence) return false;
      lines.push_back(fmt::format("left: {} at {}", peer.name, where(peer.endpoint)));
      return true;
    });
  }
  if (say_) {
    for (const auto& line : lines) say_(line);
  }
}

std::vector<std::string> Presence::who() const {
  const auto now = Clock::now();
  std::vector<Peer> peers;
  {
    std::lock_guard lock(mutex_);
    peers = peers_;
  }
  std::sort(peers.begin(), peers.end(),
            [](const Peer& a, const Peer& b) { return a.last_heard > b.last_heard; });
  std::vector<std::string> lines;
  for (const auto& peer : peers) {
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - peer.last_heard);
    lines.push_back(fmt::format("{} {} seen {}s ago{}", peer.name, where(peer.endpoint),
                                ago.count(), peer.receipts ? " receipts" : ""));
  }
  if (lines.empty()) lines.emplace_back("no peers seen");
  return lines;
}

std::optional<asio::ip::udp::endpoint> Presence::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const Peer* best = nullptr;
  for (const auto& peer : peers_) {
    if (peer.name == name && (best == nullptr || peer.last_heard > best->last_heard)) best = &peer;
  }
  if (best == nullptr) return std::nullopt;
  return best->endpoint;
}

void Presence::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  try {
    announce_to_groups(/*goodbye=*/true);
  } catch (const std::exception&) {
    // Out of memory at the stop: the peers notice the silence instead.
  }
}

void Presence::run(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;
  const auto start = Clock::now();
  std::size_t sent = 0;
  auto next = start;
  while (!stop.stop_requested()) {
    try {
      const auto now = Clock::now();
      if (now >= next) {
        announce_to_groups(/*goodbye=*/false);
        ++sent;
        next = sent < timing_.first.size() ? start + timing_.first[sent]
                                           : std::max(next + timing_.period, now);
      }
      forget_silent(now);
      // Wake at the next announcement, and at least every second to notice silent peers.
      const auto until = std::min(next, Clock::now() + std::chrono::seconds(1));
      std::unique_lock lock(mutex);
      wake.wait_until(lock, stop, until, [] { return false; });
    } catch (const std::exception&) {
      // Out of memory is the only plausible cause: skip this round.
      next = Clock::now() + timing_.period;
    }
  }
}

std::string default_peer_name() {
  std::string user;
  if (const char* from_environment = std::getenv("USER");
      from_environment != nullptr && *from_environment != '\0') {
    user = from_environment;
  } else {
    passwd entry{};
    passwd* found = nullptr;
    char buffer[4096];
    if (::getpwuid_r(::getuid(), &entry, buffer, sizeof(buffer), &found) == 0 && found) {
      user = found->pw_name;
    } else {
      user = std::to_string(::getuid());
    }
  }
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return sanitize_peer_name(user + "@" + (host[0] != '\0' ? host : "localhost"));
}

}  // namespace chat
