#include "net/server_log.h"

#include "base/text_escape.h"
#include "net/endpoint.h"

namespace net {

ServerLog::ServerLog(base::Diagnostics& sink, Verbosity verbosity, RefusalWords words)
    : sink_(sink), verbosity_(verbosity), words_(std::move(words)) {}

void ServerLog::opened(const ConnectionInfo& info) {
  if (verbosity_ == Verbosity::quiet) return;
  sink_.print("open #{} {}", info.id, format_endpoint(info.peer));
}

void ServerLog::closed(const ConnectionInfo& info, const SessionEnd& end) {
  if (verbosity_ == Verbosity::quiet) return;
  sink_.print("close #{} {} bytes={} ({})", info.id, format_endpoint(info.peer), end.bytes,
              end.reason);
}

void ServerLog::refused(const asio::ip::tcp::endpoint& peer, Refusal why) {
  if (verbosity_ == Verbosity::quiet) return;
  sink_.print("refused {} ({})", format_endpoint(peer),
              words_ ? words_(why) : std::string(to_string(why)));
}

void ServerLog::notice(std::string_view text) {
  sink_.error(text);
}

void ServerLog::data(const ConnectionInfo& info, std::span<const std::byte> bytes) {
  if (verbosity_ != Verbosity::verbose) return;
  sink_.print("data #{} {}", info.id, base::escape_text(bytes));
}

}  // namespace net
