// echo-server: RFC 862 echo over TCP, one thread per connection. The contract and the design are
// in docs/design.md; the parts live in net/ and base/.
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "apps/app_support.h"
#include "base/diagnostics.h"
#include "base/process_settings.h"
#include "base/signal_waiter.h"
#include "net/cidr.h"
#include "net/echo_session.h"
#include "net/endpoint.h"
#include "net/server_log.h"
#include "net/tcp_listener.h"
#include "net/thread_per_connection_server.h"

namespace {

struct Options {
  std::string bind = "::";
  std::uint16_t port = 12000;
  std::size_t max_conns = 0;
  double idle_timeout = 0;
  std::vector<std::string> allow;
  std::size_t stack_kib = 256;
  bool quiet = false;
  bool verbose = false;
};

// The server names its own options in refusal lines, so a user knows which one to change.
std::string refusal_words(net::Refusal why) {
  if (why == net::Refusal::over_capacity) return "over --max-conns";
  if (why == net::Refusal::not_allowed) return "not in --allow";
  return std::string(net::to_string(why));
}

}  // namespace

int main(int argc, char** argv) {
  base::reexec_with_lean_thread_memory(argv);  // one resident stack page per connection thread
  app::flush_lines_always();
  base::Diagnostics diagnostics(STDERR_FILENO, "echo-server");
  Options o;
  CLI::App cli{"TCP echo server (RFC 862): one thread per connection", "echo-server"};
  cli.add_option("--bind", o.bind, "address to listen on (default :: = IPv4 and IPv6)")
      ->check(app::ip_address());
  cli.add_option("--port", o.port, "TCP port; 0 picks a free one")
      ->capture_default_str()
      ->check(app::whole_number(0, 65535));
  cli.add_option("--max-conns", o.max_conns, "close new connections beyond this many (0 = no cap)")
      ->check(app::whole_number(0, SIZE_MAX));
  cli.add_option("--idle-timeout", o.idle_timeout,
                 "close a connection with no progress either way for SECS (fractions allowed)")
      ->check(app::seconds(/*zero_allowed=*/false));
  cli.add_option("--allow", o.allow, "accept only peers in this CIDR block (repeatable)")
      ->check(app::cidr_block());
  cli.add_option("--stack-size", o.stack_kib, "stack of each connection thread, in KiB")
      ->capture_default_str()
      ->check(app::whole_number(64, 65536));
  auto* quiet = cli.add_flag("--quiet,-q", o.quiet, "no per-connection lines");
  cli.add_flag("--verbose,-v", o.verbose, "also show the data, escaped")->excludes(quiet);
  if (const int code = app::parse_command_line(cli, argc, argv, diagnostics); code >= 0) {
    return code;
  }
  net::ServerLimits limits;
  limits.max_connections = o.max_conns;
  if (o.idle_timeout > 0) {
    limits.idle_timeout = app::to_duration<net::TcpStream::Duration>(o.idle_timeout);
  }
  for (const auto& block : o.allow) limits.allow.push_back(net::Cidr::parse(block));
  using Verbosity = net::ServerLog::Verbosity;
  net::ServerLog log(diagnostics,
                     o.quiet     ? Verbosity::quiet
                     : o.verbose ? Verbosity::verbose
                                 : Verbosity::normal,
                     refusal_words);
  try {
    base::SignalWaiter signals;  // also ignores SIGPIPE
    base::set_default_thread_stack_size(o.stack_kib * 1024);
    base::raise_open_file_limit();  // one descriptor per connection: take what the system allows
    net::TcpListener listener(net::parse_address(o.bind), o.port);
    auto handler = [&log](net::TcpStream& stream, const net::ConnectionInfo& info) {
      if (!log.verbose()) return net::echo_session(stream);
      return net::echo_session(stream,
                               [&](std::span<const std::byte> data) { log.data(info, data); });
    };
    net::ThreadPerConnectionServer server(listener, limits, handler, log);
    const auto stopper = signals.call_on_signal([&server] { server.stop(); });
    // Said only now, with the server's own threads running, so that the line means "ready".
    std::printf("listening on %s\n", net::format_endpoint(listener.local_endpoint()).c_str());
    server.run();  // returns after stop(), every connection thread joined
    const auto s = server.stats();
    diagnostics.print(
        "summary: served={} refused={} bytes={} denied={} thread_failures={} "
        "timed_out={} peak_active={}",
        s.served, s.refused, s.bytes, s.denied, s.thread_failures, s.timed_out, s.peak_active);
    return 0;
  } catch (const std::exception& error) {
    diagnostics.error(error.what());
    return app::kExitFailure;
  }
}
