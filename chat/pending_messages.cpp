#include "chat/pending_messages.h"

#include <algorithm>

#include <fmt/format.h>

#include "net/endpoint.h"

namespace chat {

namespace {

constexpr std::size_t kOutcomeTextCharacters = 60;

// Bytes of the character or escape that starts at text[at].
std::size_t unit_length(std::string_view text, std::size_t at) {
  const auto first = static_cast<unsigned char>(text[at]);
  if (first == '\\' && at + 1 < text.size()) return text[at + 1] == 'x' ? 4 : 2;
  std::size_t length = 1;
  if (first >= 0xC0) {
    while (at + length < text.size() &&
           (static_cast<unsigned char>(text[at + length]) & 0xC0) == 0x80) {
      ++length;
    }
  }
  return length;
}

std::string milliseconds(std::chrono::nanoseconds round_trip) {
  return fmt::format("{:.1f} ms", std::chrono::duration<double, std::milli>(round_trip).count());
}

}  // namespace

PendingMessages::PendingMessages(RetransmitSchedule schedule, std::size_t capacity)
    : schedule_(std::move(schedule)), capacity_(std::max<std::size_t>(capacity, 1)) {
  if (schedule_.tries.empty()) schedule_.tries.push_back(std::chrono::milliseconds(0));
}

void PendingMessages::schedule_next(Entry& entry) {
  entry.due = entry.next_try < schedule_.tries.size()
                  ? entry.first_try + schedule_.tries[entry.next_try]
                  : entry.first_try + schedule_.give_up;
}

std::optional<ReceiptOutcome> PendingMessages::track(std::uint32_t number,
                                                     const asio::ip::udp::endpoint& peer,
                                                     std::string wire, std::string text,
                                                     Clock::time_point now) {
  std::optional<ReceiptOutcome> evicted;
  if (waiting_.size() >= capacity_ && !waiting_.contains(number)) {
    // The oldest by first try; numbers grow, so that is the first released one in the map.
    auto oldest = std::min_element(waiting_.begin(), waiting_.end(), [](auto& a, auto& b) {
      return a.second.first_try < b.second.first_try;
    });
    evicted = std::move(oldest->second.outcome);
    evicted->delivered = false;
    waiting_.erase(oldest);
  }
  Entry entry;
  entry.peer = peer;
  entry.wire = std::move(wire);
  entry.outcome.number = number;
  entry.outcome.peer = peer;
  entry.outcome.text = std::move(text);
  entry.outcome.tries = 1;
  entry.first_try = now;
  schedule_next(entry);
  waiting_[number] = std::move(entry);
  return evicted;
}

std::optional<ReceiptOutcome> PendingMessages::release(std::uint32_t number) {
  const auto found = waiting_.find(number);
  if (found == waiting_.end()) return std::nullopt;
  found->second.released = true;
  if (!found->second.settled) return std::nullopt;
  auto outcome = std::move(found->second.outcome);
  waiting_.erase(found);
  return outcome;
}

void PendingMessages::cancel(std::uint32_t number) {
  waiting_.erase(number);
}

std::optional<ReceiptOutcome> PendingMessages::ack(const asio::ip::udp::endpoint& peer,
                                                   std::uint32_t number, Clock::time_point now) {
  const auto found = waiting_.find(number);
  if (found == waiting_.end() || found->second.settled) return std::nullopt;
  if (net::unmapped(found->second.peer.address()) != net::unmapped(peer.address()) ||
      found->second.peer.port() != peer.port()) {
    return std::nullopt;
  }
  Entry& entry = found->second;
  entry.outcome.delivered = true;
  entry.outcome.round_trip = now - entry.first_try;
  if (!entry.released) {
    entry.settled = true;
    return std::nullopt;
  }
  auto outcome = std::move(entry.outcome);
  waiting_.erase(found);
  return outcome;
}

void PendingMessages::take_due(Clock::time_point now,
                               std::vector<std::pair<asio::ip::udp::endpoint, std::string>>& resend,
                               std::vector<ReceiptOutcome>& outcomes) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Entry& entry = it->second;
    if (entry.settled || entry.due > now) {
      ++it;
      continue;
    }
    if (entry.next_try < schedule_.tries.size()) {
      resend.emplace_back(entry.peer, entry.wire);
      ++entry.outcome.tries;
      ++entry.next_try;
      schedule_next(entry);
      ++it;
      continue;
    }
    entry.outcome.delivered = false;
    if (!entry.released) {
      entry.settled = true;  // given out at its release
      ++it;
      continue;
    }
    outcomes.push_back(std::move(entry.outcome));
    it = waiting_.erase(it);
  }
}

std::optional<PendingMessages::Clock::time_point> PendingMessages::next_due() const {
  std::optional<Clock::time_point> earliest;
  for (const auto& [number, entry] : waiting_) {
    if (entry.settled) continue;
    if (!earliest || entry.due < *earliest) earliest = entry.due;
  }
  return earliest;
}

std::vector<ReceiptOutcome> PendingMessages::give_up_all() {
  std::vector<ReceiptOutcome> outcomes;
  for (auto& [number, entry] : waiting_) {
    if (!entry.settled) entry.outcome.delivered = false;
    outcomes.push_back(std::move(entry.outcome));
  }
  waiting_.clear();
  return outcomes;
}

std::string cut_for_outcome(std::string_view escaped) {
  std::size_t at = 0;
  for (std::size_t characters = 0; at < escaped.size() && characters < kOutcomeTextCharacters;
       ++characters) {
    at += unit_length(escaped, at);
  }
  if (at >= escaped.size()) return std::string(escaped);
  return std::string(escaped.substr(0, at)) + "...";
}

std::string outcome_screen_line(const ReceiptOutcome& outcome) {
  const auto where =
      fmt::format("({}, {})", net::format_address(outcome.peer.address()), outcome.peer.port());
  if (outcome.delivered) {
    return fmt::format("delivered #{} to {} in {}: {}", outcome.number, where,
                       milliseconds(outcome.round_trip), outcome.text);
  }
  return fmt::format("not delivered #{} to {} after {} tries: {}", outcome.number, where,
                     outcome.tries, outcome.text);
}

std::string outcome_log_line(const ReceiptOutcome& outcome) {
  std::string text;
  for (const char c : outcome.text) {
    if (c == '<') {
      text += "\\x3c";
    } else if (c == '>') {
      text += "\\x3e";
    } else {
      text += c;
    }
  }
  const auto where =
      fmt::format("===({}, {}):", net::format_address(outcome.peer.address()), outcome.peer.port());
  if (outcome.delivered) {
    return fmt::format("{}delivered #{} in {}: {}", where, outcome.number,
                       milliseconds(outcome.round_trip), text);
  }
  return fmt::format("{}not delivered #{} after {} tries: {}", where, outcome.number, outcome.tries,
                     text);
}

}  // namespace chat
