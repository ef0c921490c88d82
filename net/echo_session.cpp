#include "net/echo_session.h"

#include <fmt/format.h>

namespace net {

namespace {

SessionEnd ended(std::uint64_t bytes, const IoResult& io) {
  switch (io.status) {
    case IoStatus::eof: return {bytes, "closed", false};
    case IoStatus::timed_out: return {bytes, "idle timeout", true};
    case IoStatus::failed: return {bytes, fmt::format("error: {}", io.error.message()), false};
    case IoStatus::ok: break;
  }
  return {bytes, "closed", false};
}

}  // namespace

SessionEnd echo_session(TcpStream& stream, std::span<std::byte> buffer,
                        const DataObserver& observer) {
  stream.set_no_delay(true);
  std::uint64_t echoed = 0;
  for (;;) {
    const IoResult read = stream.read_some(buffer);
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

}  // namespace net
