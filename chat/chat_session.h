#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/ip/udp.hpp>

#include "base/diagnostics.h"
#include "chat/chat_log.h"
#include "chat/line_end.h"
#include "chat/line_source.h"
#include "chat/peer_error_reporter.h"
#include "chat/presence.h"
#include "chat/receipts.h"
#include "chat/receiver.h"
#include "chat/sender.h"
#include "chat/terminal.h"
#include "chat/text_encoding.h"
#include "net/udp_socket.h"

namespace chat {

// What a chat is asked to do (udp-chat's options, already checked). Threading: a plain value.
struct ChatSettings {
  Encoding encoding = Encoding::utf8;
  bool menu = false;
  std::chrono::duration<double> linger{0};
  std::optional<asio::ip::udp::endpoint> peer;  // resolved; nullopt: the user picks one later
  std::optional<std::string> log_path;          // nullopt: no chat log
  int input_fd = 0;                             // the keyboard (stdin)
  // The line editor's history file when stdin and stdout are a terminal (empty: none; nullopt:
  // chat::LineEditor::default_history_path(), under $XDG_STATE_HOME or ~/.local/state).
  std::optional<std::string> history_path;
  int output_fd = 1;       // the screen (stdout)
  std::string name = "?";  // announced to the LAN (--name)
  bool discovery = true;   // presence on link-local multicast
  ReceiptMode receipts = ReceiptMode::automatic;
  RetransmitSchedule schedule;
  LineEnd eol = LineEnd::lf;      // appended to each sent line
  std::size_t history_lines = 0;  // last lines of the log to show at start
};

// One running chat on a bound socket: the terminal writer, the chat log, delivery receipts,
// presence, the receiver and the keyboard sender, wired together, and the one stop sequence that
// ends them in order (messages still waiting for an ack are given up and said, goodbye is
// announced, then the keyboard, then the receiver, then the log drains and syncs, then the
// screen). The program's main only parses options, waits for a signal or for `finished`, and
// calls stop().
//
// Threading: construct, stop() and summary() from the owning thread; `finished` runs on the
// sender thread (after /quit, or at the end of input once the linger is over).
//
// When stdin and stdout are both terminals the keyboard is a chat::LineEditor that shares the
// screen with the terminal writer; otherwise a chat::LineReader, for scripts and pipes.
class ChatSession {
 public:
  // How the stop went, for the program's exit code. Threading: a plain value.
  struct StopOutcome {
    // False when the chat log did not drain within its grace period: lines it had accepted were
    // not written (said on stderr, counted in log_errors).
    bool log_drained = true;
    // False when the log's writer is still inside a system call (a write to a hung mount) and was
    // not joined. The process must then end with std::_Exit after its last words; destroying the
    // session would wait for that thread for ever.
    bool all_joined = true;
  };

  ChatSession(net::UdpSocket& socket, base::Diagnostics& diagnostics, ChatSettings settings,
              std::function<void()> finished);
  ~ChatSession();
  ChatSession(const ChatSession&) = delete;
  ChatSession& operator=(const ChatSession&) = delete;

  // Ends every thread of the chat, drains and syncs the log, within bounded time even when the
  // log never drains. Idempotent: later calls return the first outcome.
  StopOutcome stop();

  // After stop(): waits up to `limit` for a /peer name lookup the keyboard gave up on (see
  // PeerResolver); true if none runs, so destroying the session does not wait for it.
  bool lookup_finished_within(std::chrono::milliseconds limit) {
    return sender_.lookup_finished_within(limit);
  }

  // "summary: sent=N received=N logged=N kernel_drops=N ... delivered=N undelivered=N
  // duplicates=N" (the key=value pairs scripts read).
  std::string summary() const;

 private:
  std::unique_ptr<LineSource> input_;  // first: the terminal writer draws through it until stop()
  // A receipt's outcome or a presence line: on the screen (never waiting for it), and for an
  // outcome in the log.
  void report(const ReceiptOutcome& outcome);
  void say_now(const std::string& line);

  Terminal terminal_;
  std::unique_ptr<ChatLog> log_;
  PeerErrorReporter peer_errors_;
  Receipts receipts_;
  std::unique_ptr<Presence> presence_;  // nullptr: discovery is off
  Receiver receiver_;
  Sender sender_;
  std::optional<StopOutcome> stopped_;  // owning thread only
};

}  // namespace chat
