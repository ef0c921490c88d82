// udp-chat: full-duplex UDP chat on port 7890: a keyboard (sender) thread, a receiver thread, a
// chat-log thread fed by a bounded FIFO queue, and a terminal thread that owns stdout. The
// contract and the design are in docs/design.md; the parts live in chat/.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

#include "apps/app_support.h"
#include "base/diagnostics.h"
#include "base/signal_waiter.h"
#include "chat/chat_session.h"
#include "chat/command_parser.h"
#include "chat/line_end.h"
#include "chat/presence.h"
#include "chat/protocol.h"
#include "chat/sender.h"
#include "chat/text_encoding.h"
#include "net/endpoint.h"
#include "net/error.h"
#include "net/udp_socket.h"

namespace {

// Room for bursts: with the default buffer a flood of small datagrams overflows within a
// millisecond of the receiver being busy. Best effort; capped by net.core.rmem_max.
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

// How long the end of the program waits for a /peer name lookup that the stop left running.
constexpr auto kLookupGrace = std::chrono::milliseconds(500);

// --bind takes a literal address or a name; a name that resolves to several addresses is bound
// to the first the resolver gives (for localhost, ::1 or 127.0.0.1 as /etc/hosts orders them).
// A name that does not resolve throws net::Error: a runtime failure.
asio::ip::address bind_address(const std::string& text, std::uint16_t port) {
  try {
    return net::parse_address(text);
  } catch (const net::InvalidArgument&) {
    return net::resolve_udp(net::HostPort{text, port}).front().address();
  }
}

// The footer of --help: the commands a user types in the chat (chat::command_help, also what
// /help prints, minus its own heading) and examples.
std::string help_footer() {
  std::string commands(chat::command_help());
  if (const auto first_end = commands.find('\n');
      first_end != std::string::npos && commands.substr(0, first_end).ends_with(":")) {
    commands.erase(0, first_end + 1);
  }
  return "Chat commands (typed as a line of their own):\n" + commands +
         "\n"
         "\n"
         "Examples:\n"
         "  udp-chat --peer 192.168.1.20:7890\n"
         "      chat with another udp-chat (or any UDP peer) on that machine\n"
         "  udp-chat --port 0 --no-log\n"
         "      a port the kernel picks, no chat log\n"
         "  udp-chat --menu\n"
         "      the classic menu: 1 send / 2 quit, then IP, port and lines\n"
         "  nc -u localhost 7890\n"
         "      a peer without udp-chat: type lines to it";
}

}  // namespace

int main(int argc, char** argv) {
  base::SignalWaiter signals("udp-chat");  // first: also ignores SIGPIPE, for every thread
  app::flush_lines_always();
  base::Diagnostics diagnostics(STDERR_FILENO, "udp-chat");
  std::string bind = "::", peer, log = "chat.txt", encoding = "utf8", eol = "lf";
  std::uint16_t port = 7890;
  bool no_log = false;
  chat::ChatSettings settings;
  double linger = 0;
  std::string name = chat::default_peer_name(), receipts = "auto";
  bool no_discovery = false;
  CLI::App cli{"Full-duplex UDP chat: type lines to send them, see what peers send", "udp-chat"};
  cli.add_option("--bind", bind, "address or host name to listen on (default :: = IPv4 and IPv6)")
      ->check(app::host());
  cli.add_option("--port", port, "UDP port; 0 picks a free one")
      ->capture_default_str()
      ->check(app::whole_number(0, 65535));
  cli.add_option("--peer", peer, "send typed lines to HOST:PORT (IPv6 as [::1]:7890)")
      ->check(app::host_and_port());
  auto* log_option = cli.add_option("--log", log, "append the chat to FILE")->capture_default_str();
  auto* no_log_option = cli.add_flag("--no-log", no_log, "keep no chat log")->excludes(log_option);
  cli.add_flag("--menu", settings.menu, "the classic menu: 1 send / 2 quit, ask IP, ask port");
  cli.add_option("--encoding", encoding, "how to read peers' bytes: utf8, gbk or hex")
      ->capture_default_str()
      ->check(CLI::IsMember({"utf8", "gbk", "hex"}));
  cli.add_option("--eol", eol, "end sent lines with lf, crlf or none (none: as the Python chat)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "lf", "crlf"}));
  cli.add_option("--history", settings.history_lines,
                 "at start, show the last N lines of the chat log")
      ->capture_default_str()
      ->check(app::whole_number(0, 100000))
      ->excludes(no_log_option);
  cli.add_option("--linger", linger, "after the end of input, keep receiving for SECS")
      ->capture_default_str()
      ->check(app::seconds(/*zero_allowed=*/true));
  cli.add_option("--name", name, "the name peers see in /who (default: user@host)")
      ->check([](const std::string& value) {
        return chat::valid_peer_name(value)
                   ? std::string()
                   : std::string("a name is 1 to 64 bytes of UTF-8 without control characters");
      });
  cli.add_flag("--no-discovery", no_discovery,
               "do not announce this chat on the LAN nor listen for others (multicast)");
  cli.add_option("--receipts", receipts,
                 "number messages and wait for acks: auto (peers that speak them), always, "
                 "never")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app::set_help_layout(
      cli, {.groups = {{"Network", {"--bind", "--port", "--peer"}},
                       {"Chat log", {"--log", "--no-log", "--history"}},
                       {"Chat", {"--menu", "--encoding", "--eol", "--linger"}},
                       {"LAN presence and receipts", {"--name", "--no-discovery", "--receipts"}}},
            .labels =
                {{"--port", "PORT"}, {"--log", "FILE"}, {"--name", "NAME"}, {"--receipts", "MODE"}},
            .footer = help_footer()});
  if (const int code = app::parse_command_line(cli, argc, argv, diagnostics); code >= 0) {
    return code;
  }
  settings.encoding = chat::parse_encoding(encoding).value_or(chat::Encoding::utf8);
  settings.eol = chat::parse_line_end(eol).value_or(chat::LineEnd::lf);
  settings.linger = std::chrono::duration<double>(linger);
  if (!no_log) settings.log_path = log;
  settings.name = name;
  settings.discovery = !no_discovery;
  settings.receipts = receipts == "always"  ? chat::ReceiptMode::always
                      : receipts == "never" ? chat::ReceiptMode::never
                                            : chat::ReceiptMode::automatic;
  settings.input_fd = STDIN_FILENO;
  settings.output_fd = STDOUT_FILENO;
  try {
    net::UdpSocket socket(bind_address(bind, port), port);
    socket.set_receive_buffer(kReceiveBufferBytes);
    if (!peer.empty()) {
      const auto resolved = net::resolve_udp(net::parse_host_port(peer));
      settings.peer = chat::Sender::reachable(socket.local_endpoint(), resolved);
      if (!settings.peer) {
        diagnostics.print_error("peer {}: no address of the family this chat is bound to ({})",
                                peer, net::format_endpoint(socket.local_endpoint()));
        return app::kExitFailure;
      }
    }
    std::printf("listening on %s\n", net::format_endpoint(socket.local_endpoint()).c_str());
    std::fflush(stdout);  // from here on only the chat's terminal thread writes to stdout
    // /quit and the end of input end the wait below the same way a signal does.
    chat::ChatSession chat(socket, diagnostics, settings, [&signals] { signals.cancel(); });
    signals.wait();
    const auto stopped = chat.stop();
    diagnostics.line(chat.summary());
    if (!stopped.all_joined || !chat.lookup_finished_within(kLookupGrace)) {
      // A thread that can never be joined in time: the log's writer stuck inside a write to a
      // hung mount, or a getaddrinfo that cannot be cancelled and could take the resolver's full
      // timeout. Everything else has ended, the log is synced where it could be, and stderr is
      // written out first; then the process ends without waiting for it (docs/design.md,
      // "Stopping a blocked thread").
      diagnostics.stop();
      std::_Exit(stopped.log_drained ? 0 : app::kExitFailure);
    }
    // Lines the log had accepted and could not write (said on stderr) fail the run.
    return stopped.log_drained ? 0 : app::kExitFailure;
  } catch (const std::exception& error) {
    diagnostics.error(error.what());
    return app::kExitFailure;
  }
}
