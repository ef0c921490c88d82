#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <asio/ip/udp.hpp>

namespace chat {

// The chat's line format, owned here and nowhere else (docs/design.md, "The chat's lines"):
//   on the screen:  >>>(192.0.2.7, 7890):TEXT
//   in chat.txt:    2026-11-22T10:15:30.123+08:00 <<<(192.0.2.7, 7890):TEXT
// ">>>" is a message received, "<<<" one sent. TEXT is always escaped (base::escape_text or
// chat::append_decoded), so a line holds exactly one message.
enum class Direction { sent, received };

// "<<<(192.0.2.7, 7890):" or ">>>(::1, 7890):" (IPv4-mapped shown as IPv4). Thread-safe.
std::string message_prefix(Direction direction, const asio::ip::udp::endpoint& peer);

// Stamps chat-log lines with local time, milliseconds and the UTC offset,
// "2026-11-22T10:15:30.123+08:00". The date, time and offset of the current second are cached,
// so a flood costs a localtime_r call per second, not per line.
// Threading: one instance per thread (it keeps its cache); use from the owning thread only.
class LogLineFormatter {
 public:
  // Appends each line of `lines` ('\n'-separated; a last line without one gets one) to `out`,
  // after the stamp of `time` and a space. Returns how many lines it appended.
  std::size_t append(std::string& out, std::chrono::system_clock::time_point time,
                     std::string_view lines);

  // The stamp alone.
  std::string timestamp(std::chrono::system_clock::time_point time) {
    std::string out;
    append_timestamp(out, time);
    return out;
  }

 private:
  void append_timestamp(std::string& out, std::chrono::system_clock::time_point time);

  std::int64_t cached_second_ = INT64_MIN;
  std::string date_time_;  // "2026-11-22T10:15:30."
  std::string offset_;     // "+08:00"
};

}  // namespace chat
