#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace chat {

// Formats chat-log timestamps: local time with milliseconds and the UTC offset,
// "2026-11-22T10:15:30.123+08:00" (DESIGN.md). The date, time and offset of the current second
// are cached, so a flood costs a localtime_r call per second, not per line.
// Threading: one instance per thread (it keeps its cache); use from the owning thread only.
class TimestampFormatter {
 public:
  void append(std::string& out, std::chrono::system_clock::time_point time);
  std::string format(std::chrono::system_clock::time_point time) {
    std::string out;
    append(out, time);
    return out;
  }

 private:
  std::int64_t cached_second_ = INT64_MIN;
  std::string date_time_;  // "2026-11-22T10:15:30."
  std::string offset_;     // "+08:00"
};

}  // namespace chat
