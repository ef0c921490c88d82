#include "load/payload_checker.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

namespace load {

namespace {

constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The eight bytes of word `word` of the message keyed by `key`, little-endian by definition (so
// the stream is the same on every machine).
std::array<std::byte, 8> word_bytes(std::uint64_t key, std::uint64_t word) noexcept {
  const std::uint64_t value = splitmix64(key ^ (word * 0xd1342543de82ef95ULL));
  std::array<std::byte, 8> bytes{};
  for (std::size_t i = 0; i < 8; ++i) bytes[i] = static_cast<std::byte>(value >> (8 * i));
  return bytes;
}

}  // namespace

void fill_payload(std::uint64_t connection, std::uint64_t sequence, std::size_t offset,
                  std::span<std::byte> out) noexcept {
  const std::uint64_t key = splitmix64(splitmix64(connection) ^ sequence);
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t position = offset + done;
    const auto bytes = word_bytes(key, position / 8);
    const std::size_t from = position % 8;
    const std::size_t n = std::min<std::size_t>(8 - from, out.size() - done);
    std::memcpy(out.data() + done, bytes.data() + from, n);
    done += n;
  }
}

PayloadChecker::PayloadChecker(std::uint64_t connection, std::size_t message_size)
    : connection_(connection), message_size_(message_size) {
  if (message_size == 0) throw std::invalid_argument("message size must be at least 1 byte");
}

std::size_t PayloadChecker::consume(std::span<const std::byte> data) noexcept {
  const std::size_t n = std::min(data.size(), message_size_ - offset_);
  // Expected bytes are made in chunks on the stack and compared with memcmp: no allocation.
  std::array<std::byte, 4096> expected;
  std::size_t done = 0;
  while (done < n && !current_bad_) {
    const std::size_t chunk = std::min(expected.size(), n - done);
    fill_payload(connection_, sequence_, offset_ + done, std::span(expected.data(), chunk));
    if (std::memcmp(expected.data(), data.data() + done, chunk) != 0) current_bad_ = true;
    done += chunk;
  }
  offset_ += n;  // a message already judged bad needs no more comparing, only its length
  return n;
}

void PayloadChecker::next_message() noexcept {
  ++sequence_;
  offset_ = 0;
  current_bad_ = false;
}

}  // namespace load
