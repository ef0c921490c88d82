#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include <asio/ip/udp.hpp>

#include "net/endpoint.h"

namespace chat {

// Looks up a peer's name (getaddrinfo, through net::resolve_udp) on a thread of its own, so the
// keyboard thread that asked can stop at once. getaddrinfo cannot be cancelled: with a name
// server that does not answer it waits its timeout for every try (5 s each by default), and a
// thread inside it would hold up the chat's stop for that long.
//
// resolve() starts the lookup thread and waits for its answer or for a stop, whichever comes
// first. After a stop the lookup goes on by itself until getaddrinfo returns; nothing waits for
// it until the destructor, which joins it. A program that must not wait that long asks
// finished_within() first (see docs/design.md, "Stopping a blocked thread").
//
// Threading: resolve() from the owning thread (the keyboard thread); finished_within() from any
// thread; destroy from the owning thread. At most one lookup runs at a time.
class PeerResolver {
 public:
  PeerResolver() = default;
  // Joins the lookup thread, so it may wait until a lookup given up on ends.
  ~PeerResolver();
  PeerResolver(const PeerResolver&) = delete;
  PeerResolver& operator=(const PeerResolver&) = delete;

  // The endpoints of `where`, in resolver order; nullopt if `stop` was requested before the
  // answer came. Throws what net::resolve_udp throws (net::Error "resolve NAME: cause"), and
  // std::system_error if no thread can be started for the lookup.
  std::optional<std::vector<asio::ip::udp::endpoint>> resolve(const net::HostPort& where,
                                                              std::stop_token stop);

  // Waits up to `limit` for a lookup that is still running to end; true if none runs any more
  // (the destructor then joins at once). Thread-safe.
  bool finished_within(std::chrono::milliseconds limit);

 private:
  // Starts the thread that runs the lookup and hands its answer over. Throws std::system_error if
  // no thread can be started.
  void start_lookup(const net::HostPort& where);

  std::mutex mutex_;  // guards what follows
  std::condition_variable_any done_;
  bool running_ = false;
  std::vector<asio::ip::udp::endpoint> endpoints_;
  std::exception_ptr failure_;
  std::jthread lookup_;  // last: joined before the members it uses are destroyed
};

}  // namespace chat
