#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <asio/ip/udp.hpp>

#include "base/diagnostics.h"
#include "chat/protocol.h"
#include "net/udp_socket.h"

namespace chat {

// When presence announces and when it takes a peer as gone (docs/design.md, "Presence").
// Threading: a plain value.
struct PresenceTiming {
  std::vector<std::chrono::milliseconds> first{
      std::chrono::milliseconds(0), std::chrono::milliseconds(330), std::chrono::milliseconds(660)};
  std::chrono::milliseconds period{2000};
  std::chrono::milliseconds silence{10000};  // 5 missed periods
};

// LAN presence (docs/design.md, "Presence"; docs/protocol.md): announces this chat's name on
// link-local multicast (239.255.78.90, or ff02::7890 for a chat bound to an IPv6 address; on
// the chat's own port), three times in
// the first second and then every 2 s, says goodbye at the stop, and keeps the directory of
// peers heard: "joined: NAME at IP:PORT" when one is first heard (again), "left: NAME at IP:PORT"
// on its goodbye or after 10 s of silence. An announcement from a peer not yet known is
// answered at once, to it alone, with ours. At most 256 peers are kept; announcements from
// further ones are ignored until one leaves.
//
// Threading: constructed and stopped by the owning thread; its own thread sends the
// announcements and notices silent peers; on_frame() from the receiver thread; who(), find()
// from any thread (the directory is under a mutex). `say` runs on the presence thread or the
// receiver thread and must not block for long.
class Presence {
 public:
  using Say = std::function<void(const std::string& line)>;

  // Joins the groups on `socket`; if no group can be joined, says one notice through
  // `diagnostics` and stays inactive (no thread, nothing sent).
  Presence(net::UdpSocket& socket, base::Diagnostics& diagnostics, std::string name,
           std::uint32_t session, bool speaks_receipts, Say say, PresenceTiming timing = {});
  ~Presence();
  Presence(const Presence&) = delete;
  Presence& operator=(const Presence&) = delete;

  bool active() const { return active_; }

  // An announce or goodbye frame from `from`. Thread-safe.
  void on_frame(const asio::ip::udp::endpoint& from, const Frame& frame);

  // "NAME IP:PORT seen 3s ago[ receipts]" per known peer, most recently heard first; "no peers
  // seen" when none. Thread-safe.
  std::vector<std::string> who() const;

  // The most recently heard peer announced as `name`. Thread-safe.
  std::optional<asio::ip::udp::endpoint> find(std::string_view name) const;

  // Says goodbye to the groups and ends the thread. Owning thread; idempotent. Call while the
  // socket can still send.
  void stop();

  // The groups on `port`. Thread-safe (pure).
  static asio::ip::udp::endpoint ipv4_group(std::uint16_t port);
  static asio::ip::udp::endpoint ipv6_group(std::uint16_t port);

 private:
  using Clock = std::chrono::steady_clock;
  struct Peer {
    std::string name;
    asio::ip::udp::endpoint endpoint;
    std::uint32_t session = 0;
    bool receipts = false;
    Clock::time_point last_heard;
  };

  void run(std::stop_token stop);
  void announce_to_groups(bool goodbye);
  void forget_silent(Clock::time_point now);

  net::UdpSocket& socket_;
  const std::string name_;
  const std::uint32_t session_;
  const std::uint8_t flags_;
  Say say_;
  const PresenceTiming timing_;
  std::vector<asio::ip::udp::endpoint> groups_;  // joined; constant once the thread runs
  bool active_ = false;
  mutable std::mutex mutex_;
  std::vector<Peer> peers_;  // guarded by mutex_
  std::jthread thread_;
};

// udp-chat's default name: "$USER@host" (the user from $USER, else the password database).
// Thread-safe.
std::string default_peer_name();

}  // namespace chat
