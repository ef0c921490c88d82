#include "load/udp_flood.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "load/config_error.h"
#include "net/error.h"

namespace load {

using Clock = std::chrono::steady_clock;

void fill_datagram(std::uint64_t sequence, std::span<std::byte> out) noexcept {
  std::uint64_t n = sequence;
  for (std::size_t i = kSequenceDigits; i-- > 0;) {
    if (i < out.size()) out[i] = static_cast<std::byte>('0' + n % 10);
    n /= 10;
  }
  if (out.size() > kSequenceDigits) out[kSequenceDigits] = static_cast<std::byte>(' ');
  for (std::size_t i = kSequenceDigits + 1; i < out.size(); ++i) {
    out[i] = static_cast<std::byte>('a' + (sequence + i) % 26);
  }
}

std::optional<std::uint64_t> datagram_sequence(std::span<const std::byte> datagram) noexcept {
  if (datagram.size() < kSequenceDigits) return std::nullopt;
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kSequenceDigits; ++i) {
    const auto c = static_cast<char>(datagram[i]);
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

UdpFlood::UdpFlood(UdpFloodConfig config) : config_(std::move(config)) {
  if (config_.size < kMinDatagramSize || config_.size > kMaxDatagramSize) {
    throw ConfigError("size", "must be from 10 to 65507 bytes (10 digits of sequence number)");
  }
  if (config_.rate < 0) throw ConfigError("rate", "must not be negative");
}

namespace {

// The socket, closed on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

constexpr std::size_t kBatch = 64;

}  // namespace

UdpFloodResult UdpFlood::run(const Progress& progress) {
  const auto endpoints = net::resolve_udp(config_.target);
  const auto& to = endpoints.front();
  Fd socket(::socket(to.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (socket.get() < 0) net::throw_errno("socket", net::format_endpoint(to));

  // kBatch datagrams, each numbered in place before each sendmmsg.
  std::vector<std::byte> storage(kBatch * config_.size);
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> messages{};
  for (std::size_t i = 0; i < kBatch; ++i) {
    iov[i].iov_base = storage.data() + i * config_.size;
    iov[i].iov_len = config_.size;
    messages[i].msg_hdr.msg_iov = &iov[i];
    messages[i].msg_hdr.msg_iovlen = 1;
    // sendmmsg only reads the address; the cast is what its C signature asks for.
    messages[i].msg_hdr.msg_name = const_cast<void*>(static_cast<const void*>(to.data()));
    messages[i].msg_hdr.msg_namelen = static_cast<socklen_t>(to.size());
  }

  UdpFloodResult result;
  const auto start = Clock::now();
  auto next_progress = start + std::chrono::seconds(1);
  std::uint64_t next = 0;  // the next sequence number to send
  while (next < config_.count && !stop_requested_.load()) {
    const auto now = Clock::now();
    if (progress && now >= next_progress) {
      progress(result.sent, result.send_errors, std::chrono::duration<double>(now - start).count());
      next_progress += std::chrono::seconds(1);
    }
    std::uint64_t due = config_.count;
    if (config_.rate > 0) {
      const double elapsed = std::chrono::duration<double>(now - start).count();
      due = std::min(config_.count, static_cast<std::uint64_t>(elapsed * config_.rate) + 1);
    }
    if (due <= next) {
      // Sleep until datagram `next` is due (bounded: at most 1 s, so progress and stop() are seen).
      const auto at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                  static_cast<double>(next) / config_.rate));
      std::this_thread::sleep_until(std::min(at, next_progress));
      continue;
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, due - next));
    for (std::size_t i = 0; i < n; ++i) {
      fill_datagram(next + i, std::span(storage.data() + i * config_.size, config_.size));
    }
    const int sent = ::sendmmsg(socket.get(), messages.data(), static_cast<unsigned>(n), 0);
    if (sent < 0) {
      // The first datagram of the batch was refused: count it and go on with the next.
      if (result.first_error.empty()) {
        result.first_error = fmt::format("send to {}: {}", net::format_endpoint(to),
                                         std::strerror(errno));
      }
      ++result.send_errors;
      ++next;
      continue;
    }
    result.sent += static_cast<std::uint64_t>(sent);
    next += static_cast<std::uint64_t>(sent);
  }
  result.stopped_early = next < config_.count;
  result.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace load
