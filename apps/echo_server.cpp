// echo-server: RFC 862 echo over TCP, one thread per connection. See DESIGN.md for the contract.
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <thread>
#include <utility>
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

// One line on stderr. fmt::print writes each line with one call, so lines from different
// connection threads do not interleave. It throws when the write fails, as it does for good once
// the reader of a pipe has gone (`echo-server 2>&1 | head -1`); a log line that cannot be written
// must not cost a connection or the service, so that error ends here.
template <typename... Args>
void log_line(fmt::format_string<Args...> format, Args&&... args) noexcept {
  try {
    fmt::print(stderr, format, std::forward<Args>(args)...);
  } catch (...) {
    // Nowhere left to report it.
  }
}

// Connection lines on stderr. Threading: called from the accept thread and connection threads
// at once; it holds no state but the immutable verbosity, and log_line is thread-safe.
class LoggingEvents : public net::ServerEvents {
 public:
  explicit LoggingEvents(Verbosity verbosity) : verbosity_(verbosity) {}

  void opened(const net::ConnectionInfo& info) override {
    if (verbosity_ == Verbosity::quiet) return;
    log_line("open #{} {}\n", info.id, net::format_endpoint(info.peer));
  }
  void closed(const net::ConnectionInfo& info, const net::SessionEnd& end) override {
    if (verbosity_ == Verbosity::quiet) return;
    log_line("close #{} {} bytes={} ({})\n", info.id, net::format_endpoint(info.peer), end.bytes,
             end.reason);
  }
  void refused(const asio::ip::tcp::endpoint& peer, net::Refusal why) override {
    if (verbosity_ == Verbosity::quiet) return;
    log_line("refused {} ({})\n", net::format_endpoint(peer), net::to_string(why));
  }
  void notice(std::string_view text) override { log_line("{}: {}\n", kProgram, text); }

 private:
  Verbosity verbosity_;
};

// Numbers arrive as text and are parsed here rather than by CLI11, whose conversions accept
// "-3" as a huge count, "0x10" as a port, and "nan" or "1e300" as seconds (the latter overflows
// the microsecond count into a 1 µs timeout), and echo a bad value raw into the error line.
struct Options {
  std::string bind = "::";
  std::string port = "12000";
  std::string max_conns = "0";
  std::string idle_timeout;
  std::vector<std::string> allow;
  std::string stack_kib = "256";
  bool quiet = false;
  bool verbose = false;
};

// The user's text for an error line: control bytes escaped, so it stays one line.
std::string shown(std::string_view text) {
  constexpr std::size_t kMaxShown = 64;
  return "'" + chat::escape_text(text.substr(0, kMaxShown)) +
         (text.size() > kMaxShown ? "...'" : "'");
}

// A whole decimal number in [low, high]; anything else throws InvalidArgument naming `option`.
std::size_t parse_count(std::string_view option, std::string_view text, std::size_t low,
                        std::size_t high) {
  std::size_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end || value < low || value > high) {
    if (high == std::numeric_limits<std::size_t>::max()) {
      throw net::InvalidArgument(
          fmt::format("bad {} {}: expected a whole number of {} or more", option, shown(text), low));
    }
    throw net::InvalidArgument(fmt::format("bad {} {}: expected a whole number from {} to {}",
                                           option, shown(text), low, high));
  }
  return value;
}

// Seconds, fractions allowed: finite, above 0, at most a year.
net::TcpStream::Duration parse_seconds(std::string_view option, std::string_view text) {
  constexpr double kMaxSeconds = 365.0 * 24 * 3600;
  double seconds = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, seconds);
  if (text.empty() || error != std::errc() || stop != end || !std::isfinite(seconds) ||
      seconds <= 0 || seconds > kMaxSeconds) {
    throw net::InvalidArgument(fmt::format(
        "bad {} {}: expected seconds above 0 and at most {}, such as 0.5 or 30", option,
        shown(text), kMaxSeconds));
  }
  // Rounded up, so a tiny value is the shortest timeout rather than none.
  return std::chrono::ceil<net::TcpStream::Duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

int main(int argc, char** argv) {
  net::reexec_with_lean_thread_memory(argv);  // one resident stack page per connection thread
  app::flush_lines_always();
  Options options;
  CLI::App cli{"TCP echo server (RFC 862): one thread per connection", std::string(kProgram)};
  cli.add_option("--bind", options.bind, "address to listen on (default :: = IPv4 and IPv6)")
      ->type_name("ADDR");
  cli.add_option("--port", options.port, "TCP port; 0 picks a free one")
      ->type_name("N")
      ->capture_default_str();
  cli.add_option("--max-conns", options.max_conns,
                 "close new connections beyond this many at once (0 = no cap)")
      ->type_name("N");
  cli.add_option("--idle-timeout", options.idle_timeout,
                 "close a connection with no progress either way for SECS (fractions allowed)")
      ->type_name("SECS");
  cli.add_option("--allow", options.allow,
                 "accept only peers in this CIDR block (repeatable; default: everyone)")
      ->type_name("CIDR");
  cli.add_option("--stack-size", options.stack_kib, "stack of each connection thread, in KiB")
      ->type_name("KIB")
      ->capture_default_str();
  auto* quiet = cli.add_flag("--quiet,-q", options.quiet, "no per-connection lines");
  cli.add_flag("--verbose,-v", options.verbose, "also show the data, escaped")->excludes(quiet);
  if (const int code = app::parse_command_line(cli, argc, argv); code >= 0) return code;

  net::ServerLimits limits;
  asio::ip::address bind_address;
  std::uint16_t port = 0;
  std::size_t stack_kib = 0;
  try {
    bind_address = net::parse_address(options.bind);
    port = net::parse_port(options.port, net::PortZero::allowed);
    limits.max_connections =
        parse_count("--max-conns", options.max_conns, 0, std::numeric_limits<std::size_t>::max());
    if (!options.idle_timeout.empty()) {
      limits.idle_timeout = parse_seconds("--idle-timeout", options.idle_timeout);
    }
    stack_kib = parse_count("--stack-size", options.stack_kib, 64, 65536);
    for (const auto& block : options.allow) limits.allow.push_back(net::Cidr::parse(block));
  } catch (const net::InvalidArgument& error) {
    return app::usage_error(kProgram, error.what());
  }
  const auto verbosity = options.quiet     ? Verbosity::quiet
                         : options.verbose ? Verbosity::verbose
                                           : Verbosity::normal;
  try {
    net::SignalWaiter signals;  // before any thread starts; also ignores SIGPIPE
    net::set_default_thread_stack_size(stack_kib * 1024);
    net::raise_open_file_limit();  // one descriptor per connection: take what the system allows
    net::TcpListener listener(bind_address, port);
    LoggingEvents events(verbosity);
    auto handler = [verbosity](net::TcpStream& stream, const net::ConnectionInfo& info) {
      if (verbosity != Verbosity::verbose) return net::echo_session(stream);
      return net::echo_session(stream, [&info](std::span<const std::byte> data) {
        log_line("data #{} {}\n", info.id, chat::escape_text(data));
      });
    };
    net::ThreadPerConnectionServer server(listener, limits, handler, events);
    std::jthread stopper([&] {
      signals.wait();
      server.stop();
    });
    try {
      // Said only now, with the server's own threads running, so that the line means "ready":
      // whoever waits for it (scripts, tests counting threads in /proc) sees the steady state.
      fmt::print("listening on {}\n", net::format_endpoint(listener.local_endpoint()));
      server.run();
    } catch (...) {
      signals.cancel();
      throw;
    }
    signals.cancel();  // run() ended by itself (it only does so after stop(): harmless)
    stopper.join();
    const auto stats = server.stats();
    log_line("summary: served={} refused={} bytes={} denied={} thread_failures={} "
             "timed_out={} peak_active={}\n",
             stats.served, stats.refused, stats.bytes, stats.denied, stats.thread_failures,
             stats.timed_out, stats.peak_active);
    return 0;
  } catch (const std::exception& error) {
    log_line("{}: {}\n", kProgram, error.what());
    return app::kExitFailure;
  }
}
