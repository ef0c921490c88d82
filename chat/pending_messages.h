#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/ip/udp.hpp>

namespace chat {

// When a numbered message is sent again, as offsets from its first try, and when it is given up
// (docs/protocol.md, "Retransmission"): 4 tries within 1.75 s, "not delivered" at 2.75 s.
// Threading: a plain value.
struct RetransmitSchedule {
  std::vector<std::chrono::milliseconds> tries{
      std::chrono::milliseconds(0), std::chrono::milliseconds(250), std::chrono::milliseconds(750),
      std::chrono::milliseconds(1750)};
  std::chrono::milliseconds give_up{2750};
};

// The one outcome of a numbered message. Threading: a plain value.
struct ReceiptOutcome {
  std::uint32_t number = 0;
  asio::ip::udp::endpoint peer;
  std::string text;  // the sent text, escaped as in the log, cut to 60 characters
  bool delivered = false;
  std::chrono::nanoseconds round_trip{0};  // delivered: from the first try to the ack
  std::size_t tries = 0;                   // datagrams sent
};

// The numbered messages waiting for their ack, as a pure state machine over times the caller
// passes in, so the schedule is tested without waiting. A message is tracked before its first
// datagram leaves (an ack can then never outrun it) and released once its sender logged it;
// its outcome is given out only after the release, so the log holds a message's line before
// its outcome line. At most `capacity` messages wait: tracking one more gives up the oldest.
//
// Threading: owning thread only (Receipts guards it with its mutex).
class PendingMessages {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PendingMessages(RetransmitSchedule schedule = {}, std::size_t capacity = 1024);

  // A message about to be sent for the first time at `now`. Returns the outcome of the message
  // given up to make room, if any.
  std::optional<ReceiptOutcome> track(std::uint32_t number, const asio::ip::udp::endpoint& peer,
                                      std::string wire, std::string text, Clock::time_point now);
  // Its first datagram is out and logged: an outcome already known is given out now.
  std::optional<ReceiptOutcome> release(std::uint32_t number);
  // Its first datagram could not be sent (the error was reported): forgets it, no outcome.
  void cancel(std::uint32_t number);
  // An ack from `peer`. The outcome if this settles a message; nullopt for an ack that matches
  // nothing waiting (a repeat, a stranger's, a forgery).
  std::optional<ReceiptOutcome> ack(const asio::ip::udp::endpoint& peer, std::uint32_t number,
                                    Clock::time_point now);

  // What is due at `now`: datagrams to send again (appended to `resend`), and messages given up
  // (appended to `outcomes`).
  void take_due(Clock::time_point now,
                std::vector<std::pair<asio::ip::udp::endpoint, std::string>>& resend,
                std::vector<ReceiptOutcome>& outcomes);
  // The earliest time take_due has something to do, or nullopt when nothing waits.
  std::optional<Clock::time_point> next_due() const;
  // Gives up every message now (the chat stops): their outcomes, as not delivered.
  std::vector<ReceiptOutcome> give_up_all();

  std::size_t size() const { return waiting_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    asio::ip::udp::endpoint peer;
    std::string wire;
    ReceiptOutcome outcome;
    Clock::time_point first_try;
    Clock::time_point due;
    std::size_t next_try = 1;  // index into schedule_.tries
    bool released = false;
    bool settled = false;  // acked (or given up) before its release
  };

  void schedule_next(Entry& entry);

  RetransmitSchedule schedule_;
  std::size_t capacity_;
  std::map<std::uint32_t, Entry> waiting_;
};

// TEXT of an outcome line: `escaped` cut to 60 characters (an escape such as \n or \xNN counts
// as one) with "..." added when longer. Thread-safe (pure).
std::string cut_for_outcome(std::string_view escaped);

// "delivered #7 to (127.0.0.1, 7890) in 1.2 ms: TEXT" or
// "not delivered #7 to (127.0.0.1, 7890) after 4 tries: TEXT". Thread-safe (pure).
std::string outcome_screen_line(const ReceiptOutcome& outcome);

// The chat log's receipt line (after the stamp): "===(127.0.0.1, 7890):delivered #7 in 1.2 ms:
// TEXT" or "===(127.0.0.1, 7890):not delivered #7 after 4 tries: TEXT", with '<' and '>' in
// TEXT written as \x3c and \x3e, so no "<<<" or ">>>" appears in it. Thread-safe (pure).
std::string outcome_log_line(const ReceiptOutcome& outcome);

}  // namespace chat
