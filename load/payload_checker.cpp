#include "load/payload_checker.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace load {

namespace {

constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Every message is a window into one table of pseudo-random bytes, starting at a place chosen by
// hashing (connection, sequence): generating is a copy and checking a memcmp, so loadgen checks
// bulk echoes at memory speed (hashing each word ran at ~270 MB/s, below what the server echoes).
// The table's length is a prime, so windows of consecutive messages do not line up.
constexpr std::size_t kTableBytes = 1'048'573;

const std::byte* table() noexcept {
  static const std::vector<std::byte> bytes = [] {
    std::vector<std::byte> out(kTableBytes);
    for (std::size_t i = 0; i < kTableBytes; ++i) {
      out[i] = static_cast<std::byte>(splitmix64(i / 8) >> (8 * (i % 8)));
    }
    return out;
  }();
  return bytes.data();
}

std::size_t window_start(std::uint64_t connection, std::uint64_t sequence) noexcept {
  return static_cast<std::size_t>(splitmix64(splitmix64(connection) ^ sequence) % kTableBytes);
}

// Calls visit(table_piece, length) for the table bytes [offset, offset + length) of the window
// starting at `start`, in pieces split where the window wraps around the table's end.
template <typename Visit>
void for_each_piece(std::size_t start, std::size_t offset, std::size_t length, Visit&& visit) {
  std::size_t at = (start + offset % kTableBytes) % kTableBytes;
  std::size_t done = 0;
  while (done < length) {
    const std::size_t n = std::min(length - done, kTableBytes - at);
    if (!visit(table() + at, done, n)) return;
    done += n;
    at = 0;
  }
}

}  // namespace

void fill_payload(std::uint64_t connection, std::uint64_t sequence, std::size_t offset,
                  std::span<std::byte> out) noexcept {
  for_each_piece(window_start(connection, sequence), offset, out.size(),
                 [&](const std::byte* piece, std::size_t at, std::size_t n) {
                   std::memcpy(out.data() + at, piece, n);
                   return true;
                 });
}

PayloadChecker::PayloadChecker(std::uint64_t connection, std::size_t message_size)
    : connection_(connection), message_size_(message_size) {
  if (message_size == 0) throw std::invalid_argument("message size must be at least 1 byte");
}

std::size_t PayloadChecker::consume(std::span<const std::byte> data) noexcept {
  const std::size_t n = std::min(data.size(), message_size_ - offset_);
  if (!current_bad_) {
    for_each_piece(window_start(connection_, sequence_), offset_, n,
                   [&](const std::byte* piece, std::size_t at, std::size_t length) {
                     if (std::memcmp(piece, data.data() + at, length) == 0) return true;
                     current_bad_ = true;
                     return false;
                   });
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
