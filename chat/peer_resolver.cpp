#include "chat/peer_resolver.h"

#include <utility>

namespace chat {

PeerResolver::~PeerResolver() {
  if (lookup_.joinable()) lookup_.join();
}

std::optional<std::vector<asio::ip::udp::endpoint>> PeerResolver::resolve(
    const net::HostPort& where, std::stop_token stop) {
  if (stop.stop_requested()) return std::nullopt;
  // The previous lookup answered (a stopped caller never asks again), so this join is at once.
  if (lookup_.joinable()) lookup_.join();
  {
    std::lock_guard lock(mutex_);
    running_ = true;
    endpoints_.clear();
    failure_ = nullptr;
  }
  try {
    start_lookup(where);
  } catch (...) {
    // No thread (std::system_error): nothing runs, so nothing may be waited for.
    std::lock_guard lock(mutex_);
    running_ = false;
    throw;
  }
  std::unique_lock lock(mutex_);
  if (!done_.wait(lock, stop, [this] { return !running_; })) return std::nullopt;
  auto endpoints = std::move(endpoints_);
  const auto failure = std::exchange(failure_, nullptr);
  lock.unlock();
  lookup_.join();  // it has answered; only its last instructions are left
  if (failure) std::rethrow_exception(failure);
  return endpoints;
}

void PeerResolver::start_lookup(const net::HostPort& where) {
  lookup_ = std::jthread([this, where] {
    std::vector<asio::ip::udp::endpoint> endpoints;
    std::exception_ptr failure;
    try {
      endpoints = net::resolve_udp(where);
    } catch (...) {
      failure = std::current_exception();  // handed to the caller; nothing escapes the thread
    }
    {
      std::lock_guard lock(mutex_);
      endpoints_ = std::move(endpoints);
      failure_ = failure;
      running_ = false;
    }
    done_.notify_all();
  });
}

bool PeerResolver::finished_within(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return done_.wait_for(lock, limit, [this] { return !running_; });
}

}  // namespace chat
