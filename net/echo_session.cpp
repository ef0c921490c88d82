#include "net/echo_session.h"

#include <memory>

#include <fmt/format.h>

namespace net {

namespace {

SessionEnd ended(std::uint64_t bytes, const IoResult& io) {
  switch (io.status) {
    case IoStatus::eof:
      return {bytes, "closed", false};
    case IoStatus::timed_out:
      return {bytes, "idle timeout", true};
    case IoStatus::failed:
      return {bytes, failure_reason(io.error), false};
    case IoStatus::ok:
      break;
  }
  return {bytes, "closed", false};
}

// The echo loop; `next_buffer(last_read)` gives the buffer for each read.
template <typename NextBuffer>
SessionEnd echo_loop(TcpStream& stream, NextBuffer&& next_buffer, const DataObserver& observer) {
  stream.set_no_delay(true);
  std::uint64_t echoed = 0;
  std::size_t last_read = 0;
  for (;;) {
    const std::span<std::byte> buffer = next_buffer(last_read);
    const IoResult read = stream.read_some(buffer);
    last_read = read.bytes;
    if (read.status == IoStatus::eof) {
      // Everything read has been written back already: now the peer may see our eof too.
      stream.shutdown_send();
      return {echoed, "closed by peer", false};
    }
    if (read.status != IoStatus::ok) return ended(echoed, read);
    const auto chunk = buffer.first(read.bytes);
    if (observer) observer(chunk);
    const IoResult written = stream.write_all(chunk);
    echoed += written.bytes;
    if (written.status != IoStatus::ok) return ended(echoed, written);
  }
}

}  // namespace

SessionEnd echo_session(TcpStream& stream, std::span<std::byte> buffer,
                        const DataObserver& observer) {
  return echo_loop(
      stream, [buffer](std::size_t) { return buffer; }, observer);
}

SessionEnd echo_session(TcpStream& stream, const DataObserver& observer) {
  std::byte small[kSmallReadBytes];
  std::unique_ptr<std::byte[]> large;
  auto next_buffer = [&](std::size_t last_read) -> std::span<std::byte> {
    if (!large && last_read == kSmallReadBytes) {
      large = std::make_unique_for_overwrite<std::byte[]>(kLargeReadBytes);
    }
    if (large) return {large.get(), kLargeReadBytes};
    return small;
  };
  return echo_loop(stream, next_buffer, observer);
}

}  // namespace net
