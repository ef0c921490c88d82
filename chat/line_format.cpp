#include "chat/line_format.h"

#include <ctime>

#include <fmt/format.h>

#include "net/endpoint.h"

namespace chat {

std::string message_prefix(Direction direction, const asio::ip::udp::endpoint& peer) {
  return fmt::format("{}({}, {}):", direction == Direction::sent ? "<<<" : ">>>",
                     net::format_address(peer.address()), peer.port());
}

std::size_t LogLineFormatter::append(std::string& out, std::chrono::system_clock::time_point time,
                                     std::string_view lines) {
  if (lines.empty()) return 0;
  std::string stamp;
  append_timestamp(stamp, time);
  stamp += ' ';
  std::size_t count = 0;
  while (!lines.empty()) {
    const auto end = lines.find('\n');
    const auto line = lines.substr(0, end == std::string_view::npos ? lines.size() : end + 1);
    out += stamp;
    out += line;
    if (line.back() != '\n') out += '\n';
    ++count;
    lines.remove_prefix(line.size());
  }
  return count;
}

void LogLineFormatter::append_timestamp(std::string& out,
                                        std::chrono::system_clock::time_point time) {
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
    date_time_ =
        fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", local.tm_year + 1900, local.tm_mon + 1,
                    local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec);
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
