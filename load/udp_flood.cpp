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
#include "load/ticker.h"
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
  if (config_.count > kMaxDatagramCount) {
    throw ConfigError("count", fmt::format("must be at most {} ({} digits of sequence number)",
                                           kMaxDatagramCount, kSequenceDigits));
  }
  if (config_.rate < 0) throw ConfigError("rate", "must not be negative");
  if (config_.rate > 0 && 1 / config_.rate > kLongestDatagramIntervalSeconds) {
    throw ConfigError("rate", fmt::format("must be 0 (as fast as possible) or at least 1/{:.0f}: "
                                          "one datagram a day",
                                          kLongestDatagramIntervalSeconds));
  }
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

// kBatch datagrams of `size` bytes in `storage`, each to `to`: the headers sendmmsg takes.
struct Batch {
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> messages{};
};

void address_batch(Batch& batch, std::span<std::byte> storage, std::size_t size,
                   const asio::ip::udp::endpoint& to) {
  for (std::size_t i = 0; i < kBatch; ++i) {
    batch.iov[i].iov_base = storage.data() + i * size;
    batch.iov[i].iov_len = size;
    batch.messages[i].msg_hdr.msg_iov = &batch.iov[i];
    batch.messages[i].msg_hdr.msg_iovlen = 1;
    // sendmmsg only reads the address; the cast is what its C signature asks for.
    batch.messages[i].msg_hdr.msg_name = const_cast<void*>(static_cast<const void*>(to.data()));
    batch.messages[i].msg_hdr.msg_namelen = static_cast<socklen_t>(to.size());
  }
}

// How many datagrams are due `elapsed_s` into the flood: all of them, unless paced.
std::uint64_t due_by(const UdpFloodConfig& config, double elapsed_s) {
  if (config.rate <= 0) return config.count;
  return std::min(config.count, static_cast<std::uint64_t>(elapsed_s * config.rate) + 1);
}

// When datagram `sequence` is due (paced floods only). A slow flood of many datagrams can be due
// later than the clock's nanoseconds reach (10^10 datagrams at one a day); the caller never sleeps
// past its next tick anyway, so a due time beyond a year is only said to be a year away.
Clock::time_point due_at(const UdpFloodConfig& config, Clock::time_point start,
                         std::uint64_t sequence) {
  constexpr double kYear_s = 365.0 * 24 * 3600;
  const double due_s = std::min(static_cast<double>(sequence) / config.rate, kYear_s);
  return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(due_s));
}

// Numbers datagrams [first, first + n) in place and sends them with one sendmmsg; returns how
// far the flood moved on: the datagrams sent, or 1 when the kernel refused the first one
// (counted, with the first such error kept in `result`).
std::uint64_t send_batch(int socket, Batch& batch, std::span<std::byte> storage, std::size_t size,
                         std::uint64_t first, std::size_t n, const asio::ip::udp::endpoint& to,
                         UdpFloodResult& result) {
  for (std::size_t i = 0; i < n; ++i) {
    fill_datagram(first + i, storage.subspan(i * size, size));
  }
  const int sent =
      ::sendmmsg(socket, batch.messages.data(), static_cast<unsigned>(n), MSG_NOSIGNAL);
  if (sent < 0) {
    const int error = errno;  // before anything else can change it
    if (result.first_error.empty()) {
      result.first_error =
          fmt::format("send to {}: {}", net::format_endpoint(to), std::strerror(error));
    }
    ++result.send_errors;
    return 1;
  }
  result.sent += static_cast<std::uint64_t>(sent);
  return static_cast<std::uint64_t>(sent);
}

}  // namespace

UdpFloodResult UdpFlood::run(const Progress& progress) {
  const auto endpoints = net::resolve_udp(config_.target);
  const auto& to = endpoints.front();
  Fd socket(::socket(to.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (socket.get() < 0) net::throw_errno("socket", net::format_endpoint(to));

  // kBatch datagrams, each numbered in place before each sendmmsg.
  std::vector<std::byte> storage(kBatch * config_.size);
  Batch batch;
  address_batch(batch, storage, config_.size, to);

  UdpFloodResult result;
  const auto start = Clock::now();
  Ticker ticker(start);    // the progress line's beat
  std::uint64_t next = 0;  // the next sequence number to send
  while (next < config_.count && !stop_requested_.load()) {
    const auto now = Clock::now();
    const double elapsed_s = std::chrono::duration<double>(now - start).count();
    if (ticker.take(now) && progress) progress(result.sent, result.send_errors, elapsed_s);
    const std::uint64_t due = due_by(config_, elapsed_s);
    if (due <= next) {
      // Sleep until datagram `next` is due (bounded: at most 1 s, so progress and stop() are seen).
      std::this_thread::sleep_until(std::min(due_at(config_, start, next), ticker.next()));
      continue;
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, due - next));
    next += send_batch(socket.get(), batch, storage, config_.size, next, n, to, result);
  }
  result.stopped_early = next < config_.count;
  result.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace load
