#include "chat/chat_session.h"

#include <random>

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

// A random number for this run, so a peer tells its numbers from those of an earlier run.
std::uint32_t new_session() {
  std::random_device random;
  return static_cast<std::uint32_t>(random());
}

}  // namespace

ChatSession::ChatSession(net::UdpSocket& socket, base::Diagnostics& diagnostics,
                         ChatSettings settings, std::function<void()> finished)
    : terminal_(settings.output_fd, diagnostics),
      log_(open_log(settings, diagnostics)),
      peer_errors_(socket, diagnostics),
      receipts_(
          socket, settings.receipts, new_session(),
          [this](const ReceiptOutcome& outcome) { report(outcome); }, settings.schedule),
      presence_(settings.discovery ? std::make_unique<Presence>(
                                         socket, diagnostics, settings.name, receipts_.session(),
                                         /*speaks_receipts=*/true,
                                         [this](const std::string& line) { say_now(line); })
                                   : nullptr),
      receiver_(socket, terminal_, log_.get(), peer_errors_, diagnostics, settings.encoding,
                receipts_, presence_ && presence_->active() ? presence_.get() : nullptr),
      sender_(socket, terminal_, log_.get(), peer_errors_, diagnostics, settings.input_fd,
              sender_options(settings), std::move(finished), receipts_,
              presence_ && presence_->active() ? presence_.get() : nullptr) {}

void ChatSession::say_now(const std::string& line) {
  terminal_.show(line + "\n", 1, /*may_drop=*/true);
}

void ChatSession::report(const ReceiptOutcome& outcome) {
  // The log first, as for received lines: what the screen shows is already queued there.
  if (log_) log_->add(MessageBatch{{}, outcome_log_line(outcome) + "\n", 1});
  say_now(outcome_screen_line(outcome));
}

ChatSession::~ChatSession() {
  if (!stop().all_joined) {
    // The log's writer is stuck in the kernel and still uses the log: leave the log alive rather
    // than wait for that thread for ever (the program ends with std::_Exit before this runs).
    static_cast<void>(log_.release());
  }
}

ChatSession::StopOutcome ChatSession::stop() {
  if (stopped_) return *stopped_;
  // close() first wakes the keyboard if it waits for a stalled stdout. The log's grace period
  // starts before the producers are joined: a keyboard or receiver waiting for room in a log
  // that never drains is refused once it is over, so they can always be joined. The receiver is
  // woken and joined only once nothing sends any more; the log drains after both producers are
  // gone.
  // Messages still waiting for an ack are given up and said while the screen still takes lines
  // (after the log's grace period started, so a log that never drains cannot hold this up);
  // goodbye goes out while the socket can still send.
  if (log_) log_->begin_stop();
  receipts_.stop();
  if (presence_) presence_->stop();
  terminal_.close();
  sender_.stop();
  receiver_.stop();
  StopOutcome outcome;
  if (log_) {
    const auto log_outcome = log_->stop();
    outcome.log_drained = log_outcome.not_written == 0;
    outcome.all_joined = !log_outcome.writer_stuck;
  }
  terminal_.stop();
  stopped_ = outcome;
  return outcome;
}

std::string ChatSession::summary() const {
  return fmt::format(
      "summary: sent={} received={} logged={} kernel_drops={} send_errors={} log_errors={} "
      "not_shown={} receive_errors={} delivered={} undelivered={} duplicates={}",
      sender_.sent(), receiver_.received(), log_ ? log_->logged() : 0, receiver_.kernel_drops(),
      sender_.send_errors(), log_ ? log_->failed() : 0, terminal_.not_shown(),
      receiver_.receive_errors(), receipts_.delivered(), receipts_.undelivered(),
      receiver_.duplicates());
}

}  // namespace chat
