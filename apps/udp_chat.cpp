// udp-chat: full-duplex UDP chat on port 7890. A keyboard (sender) thread, a receiver thread and
// a chat-log writer thread, joined by bounded FIFO queues; plus a terminal writer thread that
// owns stdout. See DESIGN.md for the contract and chat/ for the parts.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "apps/app_support.h"
#include "chat/chat_log.h"
#include "chat/peer_error_reporter.h"
#include "chat/receiver.h"
#include "chat/sender.h"
#include "chat/terminal.h"
#include "chat/text_escape.h"
#include "net/endpoint.h"
#include "net/error.h"
#include "net/signal_waiter.h"
#include "net/udp_socket.h"

namespace {

constexpr std::string_view kProgram = "udp-chat";
// Room for bursts: with the default buffer a flood of small datagrams overflows within a
// millisecond of the receiver being busy. Best effort; capped by net.core.rmem_max.
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

struct Options {
  std::string bind = "::";
  std::uint16_t port = 7890;
  std::string peer;
  std::string log = "chat.txt";
  bool no_log = false;
  bool menu = false;
  std::string encoding = "utf8";
  double linger_seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  app::flush_lines_always();
  Options options;
  CLI::App cli{"Full-duplex UDP chat: type lines to send them, see what peers send",
               std::string(kProgram)};
  cli.add_option("--bind", options.bind, "address to listen on (default :: = IPv4 and IPv6)");
  cli.add_option("--port", options.port, "UDP port; 0 picks a free one")
      ->capture_default_str()
      ->check(app::whole_number(0, 65535));
  cli.add_option("--peer", options.peer, "send typed lines to HOST:PORT (IPv6 as [::1]:7890)");
  auto* log = cli.add_option("--log", options.log, "append the chat to FILE")
                  ->capture_default_str();
  cli.add_flag("--no-log", options.no_log, "keep no chat log")->excludes(log);
  cli.add_flag("--menu", options.menu, "the classic menu: 1 send / 2 quit, ask IP, ask port");
  cli.add_option("--encoding", options.encoding, "how to read peers' bytes: utf8, gbk or hex")
      ->capture_default_str()
      ->check(CLI::IsMember({"utf8", "gbk", "hex"}));
  cli.add_option("--linger", options.linger_seconds,
                 "after the end of input, keep receiving for SECS before quitting")
      ->capture_default_str()
      ->check(app::seconds(/*zero_allowed=*/true));
  if (const int code = app::parse_command_line(cli, argc, argv); code >= 0) return code;

  asio::ip::address bind_address;
  std::optional<net::HostPort> peer;
  try {
    bind_address = net::parse_address(options.bind);
    if (!options.peer.empty()) peer = net::parse_host_port(options.peer);
  } catch (const net::InvalidArgument& error) {
    return app::usage_error(kProgram, error.what());
  }
  const auto encoding = chat::parse_encoding(options.encoding).value_or(chat::Encoding::utf8);

  try {
    net::SignalWaiter signals;  // before any thread starts; also ignores SIGPIPE
    net::UdpSocket socket(bind_address, options.port);
    socket.set_receive_buffer(kReceiveBufferBytes);

    chat::Sender::Options sender_options;
    sender_options.menu = options.menu;
    sender_options.encoding = encoding;
    sender_options.linger = std::chrono::duration<double>(options.linger_seconds);
    if (peer) {
      sender_options.peer = chat::Sender::reachable(socket.local_endpoint(), net::resolve_udp(*peer));
      if (!sender_options.peer) {
        fmt::print(stderr, "{}: peer {}: no address of the family this chat is bound to ({})\n",
                   kProgram, options.peer, net::format_endpoint(socket.local_endpoint()));
        return app::kExitFailure;
      }
    }
    fmt::print("listening on {}\n", net::format_endpoint(socket.local_endpoint()));
    std::fflush(stdout);

    // From here on only the terminal thread writes to stdout.
    chat::Terminal terminal(STDOUT_FILENO, std::string(kProgram));
    std::unique_ptr<chat::ChatLog> chat_log;
    if (!options.no_log) chat_log = std::make_unique<chat::ChatLog>(options.log, std::string(kProgram));
    chat::PeerErrorReporter peer_errors(socket.native_handle(),
                                        socket.local_endpoint().address().is_v6(),
                                        std::string(kProgram));
    chat::Receiver receiver(socket, terminal, chat_log.get(), peer_errors,
                            chat::Receiver::Options{encoding, std::string(kProgram), stderr});
    // /quit and the end of input end the wait below the same way a signal does.
    chat::Sender sender(socket, terminal, chat_log.get(), peer_errors, STDIN_FILENO, sender_options,
                        [&signals] { signals.cancel(); });

    signals.wait();

    // The one stop sequence, whatever asked for it: the keyboard ends (close() first wakes it if it
    // waits for a stalled stdout), the receiver is woken and joined, the log drains and syncs.
    terminal.close();
    sender.stop();
    receiver.stop();
    if (chat_log) chat_log->stop();
    terminal.stop();
    fmt::print(stderr,
               "summary: sent={} received={} logged={} kernel_drops={} send_errors={} "
               "log_errors={} not_shown={} receive_errors={}\n",
               sender.sent(), receiver.received(), chat_log ? chat_log->logged() : 0,
               receiver.kernel_drops(), sender.send_errors(), chat_log ? chat_log->failed() : 0,
               terminal.not_shown(), receiver.receive_errors());
    return 0;
  } catch (const std::exception& error) {
    fmt::print(stderr, "{}: {}\n", kProgram, error.what());
    return app::kExitFailure;
  }
}
