#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace load {

// The bytes of TCP load messages. Message `sequence` (0, 1, 2, ... per connection) on connection
// `connection` is `size` bytes; byte i of it is a pure function of (connection, sequence, i):
// byte (start + i) mod T of a fixed table of T = 1,048,573 pseudo-random bytes (splitmix64),
// where start = splitmix64(splitmix64(connection) ^ sequence) mod T. So the client never stores
// what it sent, yet checks every echoed byte with memcmp, however the echo is split across reads,
// and a byte echoed on the wrong connection or in the wrong order fails the check (unless two
// windows start at the same place: a chance of 1 in ~10^6 per message pair).
//
// Fills `out` with bytes [offset, offset + out.size()) of that message. Thread-safe (pure).
void fill_payload(std::uint64_t connection, std::uint64_t sequence, std::size_t offset,
                  std::span<std::byte> out) noexcept;

// Checks the byte stream echoed on one connection against the messages 0, 1, 2, ... that were
// sent on it, in any split into reads. Each message is judged when its last byte arrives: intact
// or mismatched (one mismatch per message however many bytes differ). Framing is by length, so
// after a mismatched message the next one is checked from its own first byte.
//
// Threading: a plain value; use from the connection's thread only.
class PayloadChecker {
 public:
  PayloadChecker(std::uint64_t connection, std::size_t message_size);

  // Checks `data`, the next bytes echoed. Calls on_message(bool intact) once per message completed
  // by this data, in order. Returns how many messages were completed.
  template <typename OnMessage>
  std::size_t feed(std::span<const std::byte> data, OnMessage&& on_message) {
    std::size_t completed = 0;
    while (!data.empty()) {
      const std::size_t taken = consume(data);
      data = data.subspan(taken);
      if (offset_ == message_size_) {
        on_message(!current_bad_);
        ++completed;
        next_message();
      }
    }
    return completed;
  }

  std::uint64_t next_sequence() const noexcept { return sequence_; }  // the message being read
  std::size_t offset() const noexcept { return offset_; }  // bytes of it already read
  std::size_t message_size() const noexcept { return message_size_; }

 private:
  // Compares the start of `data` up to the end of the current message; returns the bytes used.
  std::size_t consume(std::span<const std::byte> data) noexcept;
  void next_message() noexcept;

  std::uint64_t connection_;
  std::size_t message_size_;
  std::uint64_t sequence_ = 0;
  std::size_t offset_ = 0;
  bool current_bad_ = false;
};

}  // namespace load
