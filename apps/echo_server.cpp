// echo-server: RFC 862 echo over TCP, one thread per connection. See DESIGN.md for the contract.
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "apps/app_support.h"
#include "chat/text_escape.h"
#include "net/cidr.h"
#include "net/echo_session.h"
#include "net/endpoint.h"
#include "net/error.h"
#include "net/lean_thread_memory.h"
#include "net/open_file_limit.h"
#include "net/signal_waiter.h"
#include "net/tcp_listener.h"
#include "net/thread_per_connection_server.h"

namespace {

constexpr std::string_view kProgram = "echo-server";

enum class Verbosity { quiet, normal, verbose };

// Connection lines on stderr. fmt::print to stderr writes each line with one call, so lines from
// different connection threads do not interleave.
class LoggingEvents : public net::ServerEvents {
 public:
  explicit LoggingEvents(Verbosity verbosity) : verbosity_(verbosity) {}

  void opened(const net::ConnectionInfo& info) override {
    if (verbosity_ == Verbosity::quiet) return;
    fmt::print(stderr, "open #{} {}\n", info.id, net::format_endpoint(info.peer));
  }
  void closed(const net::ConnectionInfo& info, const net::SessionEnd& end) override {
    if (verbosity_ == Verbosity::quiet) return;
    fmt::print(stderr, "close #{} {} bytes={} ({})\n", info.id, net::format_endpoint(info.peer),
               end.bytes, end.reason);
  }
  void refused(const asio::ip::tcp::endpoint& peer, net::Refusal why) override {
    if (verbosity_ == Verbosity::quiet) return;
    fmt::print(stderr, "refused {} ({})\n", net::format_endpoint(peer), net::to_string(why));
  }
  void notice(std::string_view text) override { fmt::print(stderr, "{}: {}\n", kProgram, text); }

 private:
  Verbosity verbosity_;
};

struct Options {
  std::string bind = "::";
  std::uint16_t port = 12000;
  std::size_t max_conns = 0;
  double idle_timeout_seconds = 0;
  std::vector<std::string> allow;
  std::size_t stack_kib = 256;
  bool quiet = false;
  bool verbose = false;
};

}  // namespace

int main(int argc, char** argv) {
  net::reexec_with_lean_thread_memory(argv);  // one resident stack page per connection thread
  app::flush_lines_always();
  Options options;
  CLI::App cli{"TCP echo server (RFC 862): one thread per connection", std::string(kProgram)};
  cli.add_option("--bind", options.bind, "address to listen on (default :: = IPv4 and IPv6)");
  cli.add_option("--port", options.port, "TCP port; 0 picks a free one")
      ->capture_default_str();
  cli.add_option("--max-conns", options.max_conns,
                 "close new connections beyond this many at once (0 = no cap)");
  cli.add_option("--idle-timeout", options.idle_timeout_seconds,
                 "close a connection with no progress either way for SECS (fractions allowed)")
      ->check(CLI::PositiveNumber);
  cli.add_option("--allow", options.allow,
                 "accept only peers in this CIDR block (repeatable; default: everyone)");
  cli.add_option("--stack-size", options.stack_kib, "stack of each connection thread, in KiB")
      ->capture_default_str()
      ->check(CLI::Range(64, 65536));
  auto* quiet = cli.add_flag("--quiet,-q", options.quiet, "no per-connection lines");
  cli.add_flag("--verbose,-v", options.verbose, "also show the data, escaped")->excludes(quiet);
  if (const int code = app::parse_command_line(cli, argc, argv); code >= 0) return code;

  net::ServerLimits limits;
  asio::ip::address bind_address;
  try {
    bind_address = net::parse_address(options.bind);
    for (const auto& block : options.allow) limits.allow.push_back(net::Cidr::parse(block));
  } catch (const net::InvalidArgument& error) {
    return app::usage_error(kProgram, error.what());
  }
  limits.max_connections = options.max_conns;
  if (options.idle_timeout_seconds > 0) {
    limits.idle_timeout = std::chrono::duration_cast<net::TcpStream::Duration>(
        std::chrono::duration<double>(options.idle_timeout_seconds));
  }
  const auto verbosity = options.quiet     ? Verbosity::quiet
                         : options.verbose ? Verbosity::verbose
                                           : Verbosity::normal;
  try {
    net::SignalWaiter signals;  // before any thread starts; also ignores SIGPIPE
    net::set_default_thread_stack_size(options.stack_kib * 1024);
    net::raise_open_file_limit();  // one descriptor per connection: take what the system allows
    net::TcpListener listener(bind_address, options.port);
    fmt::print("listening on {}\n", net::format_endpoint(listener.local_endpoint()));

    LoggingEvents events(verbosity);
    auto handler = [verbosity](net::TcpStream& stream, const net::ConnectionInfo& info) {
      if (verbosity != Verbosity::verbose) return net::echo_session(stream);
      return net::echo_session(stream, [&info](std::span<const std::byte> data) {
        fmt::print(stderr, "data #{} {}\n", info.id, chat::escape_text(data));
      });
    };
    net::ThreadPerConnectionServer server(listener, limits, handler, events);
    std::jthread stopper([&] {
      signals.wait();
      server.stop();
    });
    try {
      server.run();
    } catch (...) {
      signals.cancel();
      throw;
    }
    signals.cancel();  // run() ended by itself (it only does so after stop(): harmless)
    stopper.join();
    const auto stats = server.stats();
    fmt::print(stderr,
               "summary: served={} refused={} bytes={} denied={} thread_failures={} "
               "timed_out={} peak_active={}\n",
               stats.served, stats.refused, stats.bytes, stats.denied, stats.thread_failures,
               stats.timed_out, stats.peak_active);
    return 0;
  } catch (const std::exception& error) {
    fmt::print(stderr, "{}: {}\n", kProgram, error.what());
    return app::kExitFailure;
  }
}
