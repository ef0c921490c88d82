#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <asio/ip/udp.hpp>

#include "chat/pending_messages.h"
#include "net/udp_socket.h"

namespace chat {

// Whom messages are numbered for (--receipts). Threading: a plain value.
enum class ReceiptMode { automatic, always, never };

// Delivery receipts for the messages this chat sends (docs/design.md, "Delivery receipts";
// docs/protocol.md): numbers each message to a peer that speaks receipts, sends it again on the
// schedule until its ack arrives, and reports exactly one outcome per message through `report`.
// Its own thread sends the retries and gives up on messages at their deadline; acks come from the
// receiver thread. Which peers speak receipts is learnt from what they send (any frame, or an
// announcement saying so); at most 256 peers are remembered, the one heard from longest ago
// making room.
//
// Threading: every method is thread-safe, except stop() and the destructor (owning thread
// only). `report` runs on the retry thread, on the receiver thread (an ack), on the keyboard
// thread (release) or on the thread calling stop(); it must not block for long.
class Receipts {
 public:
  using Report = std::function<void(const ReceiptOutcome&)>;

  Receipts(net::UdpSocket& socket, ReceiptMode mode, std::uint32_t session, Report report,
           RetransmitSchedule schedule = {});
  ~Receipts();
  Receipts(const Receipts&) = delete;
  Receipts& operator=(const Receipts&) = delete;

  std::uint32_t session() const { return session_; }

  // True if a message to `peer` is to be numbered (--receipts always, or auto and it speaks).
  bool wants_receipts(const asio::ip::udp::endpoint& peer) const;
  // `peer` speaks receipts (it sent a frame, or announced so).
  void mark_speaks(const asio::ip::udp::endpoint& peer);
  bool speaks(const asio::ip::udp::endpoint& peer) const;

  // Numbers a message (its text already encoded for the wire) and tracks it: returns the
  // datagram to send and its number. Call release() once it is sent and logged, or cancel() if
  // the send failed. After stop() the message is given up at once on release.
  std::pair<std::uint32_t, std::string> track(const asio::ip::udp::endpoint& peer,
                                              std::string_view wire, std::string escaped_text);
  void release(std::uint32_t number);
  void cancel(std::uint32_t number);

  // An ack arrived from `peer` (receiver thread).
  void on_ack(const asio::ip::udp::endpoint& peer, std::uint32_t session, std::uint32_t number);

  // Waits until no message waits for its outcome, for at most `limit` or until `stop` is
  // requested; true if none waits. For /quit and the end of input, so every outcome is said.
  bool wait_settled(std::stop_token stop, std::chrono::milliseconds limit);

  // Gives up every waiting message (their outcomes reported as not delivered), then ends and
  // joins the retry thread. Owning thread; idempotent.
  void stop();

  std::uint64_t delivered() const { return delivered_.load(); }
  std::uint64_t undelivered() const { return undelivered_.load(); }

 private:
  void run(std::stop_token stop);
  void say(std::optional<ReceiptOutcome> outcome);

  net::UdpSocket& socket_;
  const ReceiptMode mode_;
  const std::uint32_t session_;
  Report report_;
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  PendingMessages pending_;                        // guarded by mutex_
  std::vector<asio::ip::udp::endpoint> speakers_;  // guarded by mutex_: most recent last
  std::uint32_t next_number_ = 1;                  // guarded by mutex_
  bool stopped_ = false;                           // guarded by mutex_
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> undelivered_{0};
  std::jthread thread_;
};

}  // namespace chat
