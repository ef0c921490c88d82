#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "base/diagnostics.h"
#include "chat/chat_log.h"
#include "chat/dedup_window.h"
#include "chat/peer_error_reporter.h"
#include "chat/presence.h"
#include "chat/receipts.h"
#include "chat/terminal.h"
#include "chat/text_encoding.h"
#include "net/udp_socket.h"

namespace chat {

// The receiving thread of the chat. Takes datagrams from the socket in batches (one recvmmsg for
// up to 64 queued datagrams, 64 KiB buffers: a 65,507-byte datagram arrives whole), and turns each
// into one escaped line ">>>(IP, PORT):TEXT" with its real sender, for the log and the terminal.
//
// Built for floods (200,000 datagrams/s): lines of a batch are escaped into one string, which the
// terminal gets in one piece (one write per batch) and the log as one queue item; only the
// sender's "(IP, PORT)" text is cached between datagrams.
//
// It never dies on input: a 0-byte datagram is a message with empty text, bytes that are not
// text are escaped, an error from the socket (ICMP reports) is reported and receiving goes on.
// Every datagram the socket delivered is handed to the log (waiting for room when the log is
// behind), so the log holds all of them, in order, and it is handed to the log before the
// terminal: a reply the user types after seeing a message is always logged after it. It counts
// received datagrams and the kernel's drops (SO_RXQ_OVFL).
//
// Frames of other udp-chats (chat/protocol.h) are taken apart here: a numbered message is acked
// (every time it arrives, so its sender stops sending it again) and shown and logged only the
// first time (DedupWindow; repeats are counted as duplicates); acks go to `receipts`,
// announcements and goodbyes to `presence` (nullptr: discovery is off, they are ignored). A
// datagram that is not a frame is a plain message, shown as it is.
//
// Threading: constructed and stopped by the owning thread; stop() may be called once the sender
// no longer sends (it stops the socket). Its thread sends acks on the socket (sending is
// thread-safe). Counters from any thread.
class Receiver {
 public:
  Receiver(net::UdpSocket& socket, Terminal& terminal, ChatLog* log, PeerErrorReporter& peer_errors,
           base::Diagnostics& diagnostics, Encoding encoding, Receipts& receipts,
           Presence* presence);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Wakes the thread through socket.stop() and joins it. Owning thread; idempotent.
  void stop();

  std::uint64_t received() const { return received_.load(); }
  std::uint64_t kernel_drops() const { return kernel_drops_.load(); }
  std::uint64_t receive_errors() const { return receive_errors_.load(); }
  // Numbered messages that arrived again after the first time (acked, not shown).
  std::uint64_t duplicates() const { return duplicates_.load(); }

 private:
  void run();
  void hand_over(std::string& lines, std::size_t count);
  // Acts on a frame from `sender`; true if it carries a message to show (a new numbered one).
  bool take_frame(const asio::ip::udp::endpoint& sender, const Frame& frame);

  net::UdpSocket& socket_;
  Terminal& terminal_;
  ChatLog* log_;
  PeerErrorReporter& peer_errors_;
  base::Diagnostics& diagnostics_;
  const Encoding encoding_;
  Receipts& receipts_;
  Presence* presence_;
  DedupWindow dedup_;  // receiver thread only
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> kernel_drops_{0};
  std::atomic<std::uint64_t> receive_errors_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::jthread thread_;
};

}  // namespace chat
