#include "chat/receipts.h"

#include <algorithm>
#include <exception>
#include <span>

#include "chat/protocol.h"
#include "net/endpoint.h"

namespace chat {

namespace {

constexpr std::size_t kMaxSpeakers = 256;

asio::ip::udp::endpoint canonical(const asio::ip::udp::endpoint& peer) {
  return {net::unmapped(peer.address()), peer.port()};
}

}  // namespace

Receipts::Receipts(net::UdpSocket& socket, ReceiptMode mode, std::uint32_t session, Report report,
                   RetransmitSchedule schedule)
    : socket_(socket),
      mode_(mode),
      session_(session),
      report_(std::move(report)),
      pending_(std::move(schedule)) {
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Receipts::~Receipts() {
  stop();
}

bool Receipts::wants_receipts(const asio::ip::udp::endpoint& peer) const {
  if (mode_ == ReceiptMode::never) return false;
  return mode_ == ReceiptMode::always || speaks(peer);
}

void Receipts::mark_speaks(const asio::ip::udp::endpoint& peer) {
  const auto key = canonical(peer);
  std::lock_guard lock(mutex_);
  const auto found = std::find(speakers_.begin(), speakers_.end(), key);
  if (found != speakers_.end()) {
    std::rotate(found, found + 1, speakers_.end());
    return;
  }
  if (speakers_.size() >= kMaxSpeakers) speakers_.erase(speakers_.begin());
  speakers_.push_back(key);
}

bool Receipts::speaks(const asio::ip::udp::endpoint& peer) const {
  const auto key = canonical(peer);
  std::lock_guard lock(mutex_);
  return std::find(speakers_.begin(), speakers_.end(), key) != speakers_.end();
}

void Receipts::say(std::optional<ReceiptOutcome> outcome) {
  if (!outcome) return;
  ++(outcome->delivered ? delivered_ : undelivered_);
  if (report_) report_(*outcome);
}

std::pair<std::uint32_t, std::string> Receipts::track(const asio::ip::udp::endpoint& peer,
                                                      std::string_view wire,
                                                      std::string escaped_text) {
  std::optional<ReceiptOutcome> evicted;
  std::uint32_t number = 0;
  std::string datagram;
  {
    std::lock_guard lock(mutex_);
    number = next_number_++;
    if (next_number_ == 0) next_number_ = 1;
    datagram = encode_message(session_, number, wire);
    evicted = pending_.track(number, canonical(peer), datagram, cut_for_outcome(escaped_text),
                             PendingMessages::Clock::now());
  }
  changed_.notify_all();
  say(std::move(evicted));
  return {number, std::move(datagram)};
}

void Receipts::release(std::uint32_t number) {
  std::optional<ReceiptOutcome> outcome;
  std::vector<ReceiptOutcome> given_up;
  {
    std::lock_guard lock(mutex_);
    outcome = pending_.release(number);
    if (stopped_) given_up = pending_.give_up_all();
  }
  changed_.notify_all();  // wait_settled may be waiting for this one
  say(std::move(outcome));
  for (auto& each : given_up) say(std::move(each));
}

void Receipts::cancel(std::uint32_t number) {
  {
    std::lock_guard lock(mutex_);
    pending_.cancel(number);
  }
  changed_.notify_all();
}

void Receipts::on_ack(const asio::ip::udp::endpoint& peer, std::uint32_t session,
                      std::uint32_t number) {
  if (session != session_) return;  // about another run of this chat, or forged
  std::optional<ReceiptOutcome> outcome;
  {
    std::lock_guard lock(mutex_);
    outcome = pending_.ack(canonical(peer), number, PendingMessages::Clock::now());
  }
  if (outcome) changed_.notify_all();
  say(std::move(outcome));
}

bool Receipts::wait_settled(std::stop_token stop, std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, stop, limit, [this] { return pending_.size() == 0; });
}

void Receipts::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  std::vector<ReceiptOutcome> given_up;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    given_up = pending_.give_up_all();
  }
  for (auto& each : given_up) say(std::move(each));
}

void Receipts::run(std::stop_token stop) {
  std::vector<std::pair<asio::ip::udp::endpoint, std::string>> resend;
  std::vector<ReceiptOutcome> outcomes;
  while (!stop.stop_requested()) {
    try {
      {
        std::unique_lock lock(mutex_);
        // Wakes at the earliest deadline, or when a message tracked or settled changes it.
        const auto due = pending_.next_due();
        const auto changed_or_due = [&] {
          const auto next = pending_.next_due();
          return next != due || (next && *next <= PendingMessages::Clock::now());
        };
        if (due) {
          changed_.wait_until(lock, stop, *due, changed_or_due);
        } else {
          changed_.wait(lock, stop, changed_or_due);
        }
        if (stop.stop_requested()) break;
        pending_.take_due(PendingMessages::Clock::now(), resend, outcomes);
      }
      for (const auto& [peer, datagram] : resend) {
        // A failed retry is one lost try: the schedule goes on and the outcome says it.
        static_cast<void>(
            socket_.send_to(std::as_bytes(std::span(datagram.data(), datagram.size())), peer));
      }
      resend.clear();
      for (auto& outcome : outcomes) say(std::move(outcome));
      outcomes.clear();
      changed_.notify_all();
    } catch (const std::exception&) {
      // Out of memory is the only plausible cause; outcomes then come from stop().
      resend.clear();
      outcomes.clear();
    }
  }
}

}  // namespace chat
