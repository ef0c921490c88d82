#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "load/payload_checker.h"
#include "load/udp_flood.h"

namespace {

std::vector<std::byte> stream_of(std::uint64_t connection, std::size_t size, std::size_t messages) {
  std::vector<std::byte> out(size * messages);
  for (std::size_t m = 0; m < messages; ++m) {
    load::fill_payload(connection, m, 0, std::span(out.data() + m * size, size));
  }
  return out;
}

// Feeds `data` in pieces of `piece` bytes; returns the verdict of each message, in order.
std::vector<bool> check(load::PayloadChecker& checker, std::span<const std::byte> data,
                        std::size_t piece) {
  std::vector<bool> verdicts;
  while (!data.empty()) {
    const auto n = std::min(piece, data.size());
    checker.feed(data.first(n), [&](bool intact) { verdicts.push_back(intact); });
    data = data.subspan(n);
  }
  return verdicts;
}

}  // namespace

TEST_CASE("payload: bytes are a pure function of connection, sequence and offset") {
  std::vector<std::byte> whole(1000), part(333);
  load::fill_payload(5, 9, 0, whole);
  load::fill_payload(5, 9, 101, part);  // an unaligned slice equals the same bytes of the whole
  CHECK(std::equal(part.begin(), part.end(), whole.begin() + 101));
  std::vector<std::byte> other_seq(1000), other_conn(1000);
  load::fill_payload(5, 10, 0, other_seq);
  load::fill_payload(6, 9, 0, other_conn);
  CHECK(whole != other_seq);
  CHECK(whole != other_conn);
}

TEST_CASE("payload checker: an intact echo passes however it is split into reads") {
  for (std::size_t size : {1, 7, 64, 1000, 16384}) {
    const auto data = stream_of(3, size, 5);
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, size, size + 1, data.size()}) {
      load::PayloadChecker checker(3, size);
      const auto verdicts = check(checker, data, piece);
      CAPTURE(size);
      CAPTURE(piece);
      REQUIRE(verdicts.size() == 5);
      for (bool intact : verdicts) CHECK(intact);
      CHECK(checker.next_sequence() == 5);
      CHECK(checker.offset() == 0);
    }
  }
}

TEST_CASE("payload checker: one flipped byte fails exactly its own message") {
  const std::size_t size = 100;
  for (std::size_t position : {0, 57, 99, 100, 250, 499}) {
    auto data = stream_of(1, size, 5);
    data[position] ^= std::byte{0x01};
    load::PayloadChecker checker(1, size);
    const auto verdicts = check(checker, data, 13);
    REQUIRE(verdicts.size() == 5);
    for (std::size_t m = 0; m < 5; ++m) CHECK(verdicts[m] == (m != position / size));
  }
}

TEST_CASE("payload checker: another connection's bytes, or swapped messages, are mismatches") {
  const auto other = stream_of(2, 64, 2);
  load::PayloadChecker checker(1, 64);
  const auto verdicts = check(checker, other, 64);
  REQUIRE(verdicts.size() == 2);
  CHECK_FALSE(verdicts[0]);
  CHECK_FALSE(verdicts[1]);

  auto data = stream_of(1, 64, 2);
  std::swap_ranges(data.begin(), data.begin() + 64, data.begin() + 64);
  load::PayloadChecker swapped(1, 64);
  const auto swapped_verdicts = check(swapped, data, 64);
  CHECK_FALSE(swapped_verdicts[0]);
  CHECK_FALSE(swapped_verdicts[1]);
}

TEST_CASE("payload checker: a short echo leaves a message open (the caller sees the gap)") {
  const auto data = stream_of(4, 100, 2);
  load::PayloadChecker checker(4, 100);
  const auto verdicts = check(checker, std::span(data).first(150), 64);
  CHECK(verdicts.size() == 1);
  CHECK(checker.next_sequence() == 1);
  CHECK(checker.offset() == 50);
}

TEST_CASE("udp datagrams: a fixed-width decimal number first, printable text after") {
  std::vector<std::byte> d(16);
  load::fill_datagram(42, d);
  std::string text;
  for (auto b : d) text += static_cast<char>(b);
  CHECK(text.substr(0, 11) == "0000000042 ");
  for (char c : text.substr(11)) CHECK((c >= 'a' && c <= 'z'));
  CHECK(load::datagram_sequence(d) == 42);

  std::vector<std::byte> minimal(10);
  load::fill_datagram(9'999'999'999ULL, minimal);
  CHECK(load::datagram_sequence(minimal) == 9'999'999'999ULL);
  CHECK_FALSE(load::datagram_sequence(std::span(minimal).first(9)).has_value());
  minimal[3] = std::byte{'x'};
  CHECK_FALSE(load::datagram_sequence(minimal).has_value());
}
