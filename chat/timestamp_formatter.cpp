#include "chat/timestamp_formatter.h"

#include <ctime>

#include <fmt/format.h>

namespace chat {

void TimestampFormatter::append(std::string& out, std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto since_epoch = duration_cast<milliseconds>(time.time_since_epoch()).count();
  // Floor division, so times before 1970 (a wrong clock) still format sanely.
  std::int64_t second = since_epoch / 1000;
  std::int64_t millisecond = since_epoch % 1000;
  if (millisecond < 0) {
    millisecond += 1000;
    second -= 1;
  }
  if (second != cached_second_) {
    const auto seconds = static_cast<std::time_t>(second);
    std::tm local{};
    ::localtime_r(&seconds, &local);
    date_time_ = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", local.tm_year + 1900,
                             local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min,
                             local.tm_sec);
    const long offset = local.tm_gmtoff;  // seconds east of UTC
    const long minutes = (offset < 0 ? -offset : offset) / 60;
    offset_ = fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', minutes / 60, minutes % 60);
    cached_second_ = second;
  }
  out += date_time_;
  out += static_cast<char>('0' + millisecond / 100);
  out += static_cast<char>('0' + millisecond / 10 % 10);
  out += static_cast<char>('0' + millisecond % 10);
  out += offset_;
}

}  // namespace chat
