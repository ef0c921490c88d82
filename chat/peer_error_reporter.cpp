#include "chat/peer_error_reporter.h"

#include <cerrno>

#include "net/endpoint.h"

namespace chat {

namespace {

constexpr auto kSecond = std::chrono::seconds(1);

}  // namespace

PeerErrorReporter::PeerErrorReporter(net::UdpSocket& socket, base::Diagnostics& diagnostics)
    : socket_(socket), diagnostics_(diagnostics) {
  socket_.enable_error_reports();
}

void PeerErrorReporter::remember_destination(const asio::ip::udp::endpoint& destination) {
  std::lock_guard lock(mutex_);
  destinations_.remember(destination);
}

bool PeerErrorReporter::take_line(Clock::time_point now) {
  if (lines_in_window_ == 0 || now - window_start_ >= kSecond) {
    window_start_ = now;
    lines_in_window_ = 0;
  }
  if (lines_in_window_ >= kLinesPerSecond) return false;
  ++lines_in_window_;
  return true;
}

void PeerErrorReporter::drain_at(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  // What the limit held back last second is said first, before anything newer.
  if (not_shown_unsaid_ > 0 && take_line(now)) {
    diagnostics_.print_error("{} more ICMP reports not shown", not_shown_unsaid_);
    not_shown_unsaid_ = 0;
  }
  reports_.clear();
  socket_.read_error_reports(reports_);  // bounded: at most 1,024 per drain
  for (const auto& report : reports_) {
    if (!destinations_.contains(report.destination)) {
      ++ignored_;
      continue;
    }
    if (report.destination == last_destination_ && report.error == last_error_ &&
        now - last_time_ < kSecond) {
      continue;
    }
    last_destination_ = report.destination;
    last_error_ = report.error;
    last_time_ = now;
    if (!take_line(now)) {
      ++not_shown_unsaid_;
      ++not_shown_;
      continue;
    }
    ++reported_;
    const auto peer = net::format_endpoint(report.destination);
    if (report.error.value() == ECONNREFUSED) {
      diagnostics_.print_error("{} is not listening (ICMP port unreachable); the chat goes on",
                               peer);
    } else {
      diagnostics_.print_error("sending to {} failed: {}; the chat goes on", peer,
                               report.error.message());
    }
  }
}

}  // namespace chat
