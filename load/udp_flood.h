#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "net/endpoint.h"

namespace load {

// Numbered datagrams, so a receiver (the chat, its log, a test) can tell which ones arrived.
// Format of datagram number N (N = 0, 1, ..., COUNT-1), S bytes (S ≥ 10), all printable ASCII:
//   bytes 0-9   N in decimal, zero-padded to 10 digits ("0000000042")
//   byte 10     ' ' (if S > 10)
//   bytes 11..  lowercase letters, byte i = 'a' + (N + i) % 26
// e.g. S = 16, N = 42: "0000000042 ydefg" — find N as the first 10 characters of the text.
inline constexpr std::size_t kSequenceDigits = 10;
inline constexpr std::size_t kMinDatagramSize = kSequenceDigits;
inline constexpr std::size_t kMaxDatagramSize = 65507;  // largest UDP payload over IPv4

// The most datagrams one flood sends: 10^kSequenceDigits, numbered 0 to 9,999,999,999, so no two
// datagrams of a flood carry the same number (datagram 10^10 would read as 0 again).
inline constexpr std::uint64_t kMaxDatagramCount = [] {
  std::uint64_t count = 1;
  for (std::size_t digit = 0; digit < kSequenceDigits; ++digit) count *= 10;
  return count;
}();

// The slowest paced flood: one datagram a day (see kLongestPacedWaitSeconds for TCP, same reason).
inline constexpr double kLongestDatagramIntervalSeconds = 24 * 3600;

// Fills `out` (size ≥ kMinDatagramSize) as datagram `sequence`. Thread-safe (pure).
void fill_datagram(std::uint64_t sequence, std::span<std::byte> out) noexcept;
// The number at the start of a datagram (or a chat log's text), if it has one. Thread-safe.
std::optional<std::uint64_t> datagram_sequence(std::span<const std::byte> datagram) noexcept;

// Threading: plain values.
struct UdpFloodConfig {
  net::HostPort target;
  std::uint64_t count = 1000;  // datagrams to send, at most kMaxDatagramCount
  double rate = 0;             // datagrams/s; 0 = as fast as the socket takes them, or ≥ 1/86400
  std::size_t size = 64;       // bytes per datagram
};

struct UdpFloodResult {
  std::uint64_t sent = 0;         // datagrams the kernel accepted
  std::uint64_t send_errors = 0;  // datagrams it refused (ENOBUFS, ECONNREFUSED, ...)
  double elapsed_s = 0;
  bool stopped_early = false;
  std::string first_error;

  double messages_per_s() const {
    return elapsed_s > 0 ? static_cast<double>(sent) / elapsed_s : 0;
  }
};

// Sends `count` numbered datagrams from an unconnected UDP socket (sendmmsg batches), paced to
// `rate` if given. The datagrams are sent, not checked: the receiver counts what arrived.
//
// Threading: run() from one thread, once; stop() from any thread to end it early. The progress
// callback (datagrams sent so far) is called on run()'s thread once a second (a Ticker).
class UdpFlood {
 public:
  using Progress = std::function<void(std::uint64_t sent, std::uint64_t errors, double elapsed_s)>;

  // Throws ConfigError for a size outside [10, 65507], a count above kMaxDatagramCount, or a
  // rate that is negative or slower than one datagram a day.
  explicit UdpFlood(UdpFloodConfig config);
  UdpFlood(const UdpFlood&) = delete;
  UdpFlood& operator=(const UdpFlood&) = delete;

  // Resolves and sends; throws net::Error if the target does not resolve or no socket opens.
  UdpFloodResult run(const Progress& progress = {});
  void stop() noexcept { stop_requested_.store(true); }

 private:
  UdpFloodConfig config_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace load
