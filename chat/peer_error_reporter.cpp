#include "chat/peer_error_reporter.h"

#include <cerrno>

#include "net/endpoint.h"

namespace chat {

PeerErrorReporter::PeerErrorReporter(net::UdpSocket& socket, base::Diagnostics& diagnostics)
    : socket_(socket), diagnostics_(diagnostics) {
  socket_.enable_error_reports();
}

void PeerErrorReporter::drain() {
  std::lock_guard lock(mutex_);
  reports_.clear();
  socket_.read_error_reports(reports_);  // bounded: at most 1,024 per drain
  for (const auto& report : reports_) {
    const auto now = std::chrono::steady_clock::now();
    if (report.destination == last_destination_ && report.error == last_error_ &&
        now - last_time_ < std::chrono::seconds(1)) {
      continue;
    }
    last_destination_ = report.destination;
    last_error_ = report.error;
    last_time_ = now;
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
