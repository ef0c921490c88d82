#include "chat/chat_session.h"

#include <fmt/format.h>

namespace chat {

namespace {

std::unique_ptr<ChatLog> open_log(const ChatSettings& settings, base::Diagnostics& diagnostics) {
  if (!settings.log_path) return nullptr;
  return std::make_unique<ChatLog>(*settings.log_path, diagnostics);
}

Sender::Options sender_options(const ChatSettings& settings) {
  Sender::Options options;
  options.menu = settings.menu;
  options.encoding = settings.encoding;
  options.linger = settings.linger;
  options.peer = settings.peer;
  return options;
}

}  // namespace

ChatSession::ChatSession(net::UdpSocket& socket, base::Diagnostics& diagnostics,
                         ChatSettings settings, std::function<void()> finished)
    : terminal_(settings.output_fd, diagnostics),
      log_(open_log(settings, diagnostics)),
      peer_errors_(socket, diagnostics),
      receiver_(socket, terminal_, log_.get(), peer_errors_, diagnostics, settings.encoding),
      sender_(socket, terminal_, log_.get(), peer_errors_, diagnostics, settings.input_fd,
              sender_options(settings), std::move(finished)) {}

ChatSession::~ChatSession() {
  stop();
}

void ChatSession::stop() {
  // close() first wakes the keyboard if it waits for a stalled stdout; the receiver is woken and
  // joined only once nothing sends any more; the log drains after both producers are gone.
  terminal_.close();
  sender_.stop();
  receiver_.stop();
  if (log_) log_->stop();
  terminal_.stop();
}

std::string ChatSession::summary() const {
  return fmt::format(
      "summary: sent={} received={} logged={} kernel_drops={} send_errors={} log_errors={} "
      "not_shown={} receive_errors={}",
      sender_.sent(), receiver_.received(), log_ ? log_->logged() : 0, receiver_.kernel_drops(),
      sender_.send_errors(), log_ ? log_->failed() : 0, terminal_.not_shown(),
      receiver_.receive_errors());
}

}  // namespace chat
