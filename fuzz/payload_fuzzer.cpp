// Fuzzes load::PayloadChecker, the part of loadgen that decides whether an echo was right. The
// input chooses the message size, the connection, how the echoed stream is split into reads, and
// optionally one byte to corrupt. Properties: a faithful echo is judged intact however it is
// split; a corrupted byte makes exactly the message that holds it mismatched and no other; the
// number of completed messages is exact.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "load/payload_checker.h"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

// Reads fuzz bytes in order, yielding 0 when they run out.
struct Input {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t used = 0;
  std::uint8_t byte() { return used < size ? data[used++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | (byte() << 8)); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input input{data, size};
  const std::size_t message_size = 1 + input.u16() % 2048;
  const std::size_t messages = 1 + input.byte() % 8;
  const std::uint64_t connection = input.u16();
  const bool corrupt = (input.byte() & 1) != 0;
  const std::size_t total = message_size * messages;
  const std::size_t corrupt_at =
      (static_cast<std::size_t>(input.u16()) << 8 | input.byte()) % total;

  std::vector<std::byte> stream(total);
  for (std::size_t m = 0; m < messages; ++m) {
    load::fill_payload(connection, m, 0, std::span(stream).subspan(m * message_size, message_size));
  }
  // The generator is consistent with itself at any offset.
  if (message_size > 3) {
    std::byte tail[3];
    load::fill_payload(connection, 0, message_size - 3, tail);
    for (int i = 0; i < 3; ++i)
      require(tail[i] == stream[message_size - 3 + static_cast<std::size_t>(i)]);
  }
  if (corrupt) stream[corrupt_at] ^= std::byte{0x01};

  load::PayloadChecker checker(connection, message_size);
  std::size_t offset = 0, completed = 0, intact = 0, mismatched_index = SIZE_MAX, mismatches = 0;
  while (offset < total) {
    const std::size_t chunk = std::min<std::size_t>(total - offset, 1 + input.u16() % 3000);
    completed +=
        checker.feed(std::span<const std::byte>(stream).subspan(offset, chunk), [&](bool ok) {
          if (ok) {
            ++intact;
          } else {
            ++mismatches;
            mismatched_index = intact + mismatches - 1;
          }
        });
    offset += chunk;
  }
  require(completed == messages);
  require(checker.offset() == 0 && checker.next_sequence() == messages);
  if (corrupt) {
    require(mismatches == 1 && mismatched_index == corrupt_at / message_size);
  } else {
    require(mismatches == 0 && intact == messages);
  }
  return 0;
}
