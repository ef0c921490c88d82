#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <asio/ip/udp.hpp>

#include "base/diagnostics.h"
#include "chat/chat_log.h"
#include "chat/line_reader.h"
#include "chat/peer_error_reporter.h"
#include "chat/peer_resolver.h"
#include "chat/presence.h"
#include "chat/receipts.h"
#include "chat/terminal.h"
#include "chat/text_encoding.h"
#include "net/endpoint.h"
#include "net/udp_socket.h"

namespace chat {

// The keyboard thread of the chat: reads lines from the input descriptor (stdin), and sends them
// to the current peer, in line mode (/peer, /quit, /help; see command_parser.h) or in the classic
// menu flow (--menu). Sent lines go to the log as "<<<(IP, PORT):TEXT"; they are not echoed.
//
// The peer changes only by /peer or the menu; incoming datagrams never redirect replies. A failed
// send (peer not listening, unresolvable name, wrong address family, too long) is reported through
// the diagnostics sink and the chat goes on.
//
// It ends by itself on /quit (or menu choice 2) at once, and at the end of input after `linger`
// of further receiving (the receiver keeps going meanwhile); either way it then calls `finished`,
// which makes the program stop. stop() ends it early (SIGINT/SIGTERM) from any point, also from
// the middle of a blocking read of a terminal or of a /peer name lookup (PeerResolver), which it
// leaves running; the destructor joins it.
//
// A line to a peer that speaks receipts (Receipts::wants_receipts) goes out as a numbered frame,
// and its one outcome line comes later; /quit and the end of input wait (at most 3.5 s) until
// every message sent has its outcome. /who lists the peers `presence` discovered, /peer NAME
// picks one by name (presence nullptr: discovery is off, nobody is listed).
//
// Threading: constructed and stopped by the owning thread; the thread it starts is the only one
// that sends typed lines on the socket (retries, acks and announcements go from other threads;
// sending is thread-safe); counters from any thread. `finished` runs on the sender thread.
class Sender {
 public:
  struct Options {
    bool menu = false;
    Encoding encoding = Encoding::utf8;
    std::chrono::duration<double> linger{0};
    std::optional<asio::ip::udp::endpoint> peer;  // from --peer, already resolved
  };

  Sender(net::UdpSocket& socket, Terminal& terminal, ChatLog* log, PeerErrorReporter& peer_errors,
         base::Diagnostics& diagnostics, int input_fd, Options options,
         std::function<void()> finished, Receipts& receipts, Presence* presence);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Ends the thread (interrupting a read, a name lookup or the linger wait) and joins it. Owning
  // thread; idempotent. A lookup it interrupted goes on until getaddrinfo returns.
  void stop();

  // After stop(): waits up to `limit` for a name lookup the keyboard thread gave up on; true if
  // none is running, so destroying the Sender does not wait. Owning thread.
  bool lookup_finished_within(std::chrono::milliseconds limit) {
    return resolver_.finished_within(limit);
  }

  std::uint64_t sent() const { return sent_.load(); }
  std::uint64_t send_errors() const { return send_errors_.load(); }

  // Picks, among resolved endpoints, the first this socket can reach: an IPv4 socket reaches only
  // IPv4 peers, a socket bound to a specific IPv6 address only IPv6 peers, a dual-stack one both.
  // nullopt if none fits. Thread-safe (pure).
  static std::optional<asio::ip::udp::endpoint> reachable(
      const asio::ip::udp::endpoint& local, const std::vector<asio::ip::udp::endpoint>& candidates);

 private:
  void run(std::stop_token stop);
  // The next typed line, or why there is none (end of input, interrupted); over-long lines are
  // reported and skipped here.
  LineReader::Status next_line(std::string& line);
  void run_line_mode(std::stop_token& stop);
  void run_menu(std::stop_token& stop);
  void linger(std::stop_token& stop);
  bool set_peer(const net::HostPort& where, std::stop_token& stop);
  void set_peer_by_name(const std::string& name);
  void list_peers();
  void send_line(std::string_view text);
  void say(std::string_view text);
  void error(std::string_view text);

  net::UdpSocket& socket_;
  Terminal& terminal_;
  ChatLog* log_;
  PeerErrorReporter& peer_errors_;
  base::Diagnostics& diagnostics_;
  Options options_;
  std::function<void()> finished_;
  Receipts& receipts_;
  Presence* presence_;
  LineReader reader_;
  std::optional<asio::ip::udp::endpoint> peer_;  // sender thread only
  std::string peer_prefix_;                      // sender thread only: "<<<(IP, PORT):"
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> send_errors_{0};
  PeerResolver resolver_;  // before thread_: joined after it, in the destructor
  std::jthread thread_;
};

}  // namespace chat
