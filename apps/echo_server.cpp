// echo-server: RFC 862 echo over TCP, on the engine --engine picks. The contract and the design are
// in docs/design.md; the parts live in net/ and base/.
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apps/app_support.h"
#include "base/diagnostics.h"
#include "base/process_settings.h"
#include "base/signal_waiter.h"
#include "net/echo_engine.h"
#include "net/echo_session.h"
#include "net/endpoint.h"
#include "net/server_log.h"
#include "net/socket_activation.h"
#include "net/tcp_listener.h"
#include "net/thread_per_connection_server.h"

int main(int argc, char** argv) {
  base::reexec_with_lean_thread_memory(argv);  // one resident stack page per connection thread
  // Before any thread starts: this reads and clears LISTEN_PID/LISTEN_FDS. The re-exec above
  // keeps the pid, the environment and the passed descriptors (docs/design.md, "Socket
  // activation").
  const std::vector<int> passed_listeners = net::take_listen_fds();
  base::SignalWaiter signals("echo-server");  // first: also ignores SIGPIPE, for every thread
  app::flush_lines_always();
  base::Diagnostics diagnostics(STDERR_FILENO, "echo-server");
  std::string bind = "::";
  std::uint16_t port = 12000;
  net::ServerLimits limits;
  double idle_timeout = 0;
  std::vector<std::string> allow;
  std::size_t stack_kib = 256;
  bool quiet = false, verbose = false;
  net::TcpListener::Options listen_options;
  std::string engine_name = "threads";
  std::size_t engine_threads = 0;
  CLI::App cli{"TCP echo server (RFC 862): a thread per connection or event loops", "echo-server"};
  cli.add_option("--bind", bind, "address to listen on (default :: = IPv4 and IPv6)")
      ->check(app::ip_address());
  cli.add_option("--port", port, "TCP port; 0 picks a free one")
      ->capture_default_str()
      ->check(app::whole_number(0, 65535));
  cli.add_option("--max-conns", limits.max_connections, "close connections beyond N (0: no cap)")
      ->check(app::whole_number(0, SIZE_MAX));
  cli.add_option("--idle-timeout", idle_timeout, "close a connection idle either way for SECS")
      ->check(app::seconds(/*zero_allowed=*/false));
  cli.add_option("--allow", allow, "accept only peers in this CIDR block (repeatable)")
      ->check(app::cidr_block());
  cli.add_flag("--reuse-port", listen_options.reuse_port,
               "share the port with other echo-servers started with it (SO_REUSEPORT)");
  cli.add_option("--stack-size", stack_kib, "stack of each connection thread, in KiB")
      ->capture_default_str()
      ->check(app::whole_number(64, 65536));
  cli.add_option("--engine", engine_name,
                 "threads: a thread per connection; async, uring: event loops (docs/design.md)")
      ->capture_default_str()
      ->check(CLI::IsMember({"threads", "async", "uring"}));
  cli.add_option("--threads", engine_threads,
                 "event-loop threads of async/uring (default: cores; threads ignores it)")
      ->check(app::whole_number(1, 1024));
  auto* quiet_flag = cli.add_flag("--quiet,-q", quiet, "no per-connection lines");
  cli.add_flag("--verbose,-v", verbose, "also show the data, escaped")->excludes(quiet_flag);
  app::set_help_layout(
      cli, {.groups = {{"Listening", {"--bind", "--port", "--reuse-port", "--allow"}},
                       {"Connections", {"--max-conns", "--idle-timeout", "--stack-size"}},
                       {"Engine", {"--engine", "--threads"}},
                       {"Output", {"--quiet", "--verbose"}}},
            .labels = {{"--port", "PORT"}, {"--stack-size", "KIB"}, {"--threads", "N"}},
            .footer = "Started by systemd with a listening socket (echo-server.socket), the\n"
                      "server serves that socket and ignores --bind, --port and --reuse-port.\n"
                      "\n"
                      "Examples:\n"
                      "  echo-server\n"
                      "      port 12000, IPv4 and IPv6\n"
                      "  echo-server --bind 127.0.0.1 --port 0\n"
                      "      loopback only, on a port the kernel picks\n"
                      "  echo-server --allow 10.0.0.0/8 --max-conns 1000 --idle-timeout 60\n"
                      "      the local network only, at most 1000 at once, idle ones closed\n"
                      "  echo-server --reuse-port & echo-server --reuse-port &\n"
                      "      two processes on port 12000; the kernel spreads connections\n"
                      "  printf 'hello\\n' | nc -N localhost 12000\n"
                      "      a client: prints hello"});
  if (const int code = app::parse_command_line(cli, argc, argv, diagnostics); code >= 0) {
    return code;
  }
  if (idle_timeout > 0)
    limits.idle_timeout = app::to_duration<net::TcpStream::Duration>(idle_timeout);
  for (const auto& block : allow) limits.allow.push_back(net::Cidr::parse(block));
  using Verbosity = net::ServerLog::Verbosity;
  // Refusal lines name this program's options, so a user knows which one to change.
  net::ServerLog log(diagnostics,
                     quiet     ? Verbosity::quiet
                     : verbose ? Verbosity::verbose
                               : Verbosity::normal,
                     [](net::Refusal why) {
                       if (why == net::Refusal::over_capacity)
                         return std::string("over --max-conns");
                       if (why == net::Refusal::not_allowed) return std::string("not in --allow");
                       return std::string(net::to_string(why));
                     });
  try {
    base::set_default_thread_stack_size(stack_kib * 1024);
    base::raise_open_file_limit();  // one descriptor per connection: take what the system allows
    // A listener passed by systemd (echo-server.socket) replaces --bind and --port.
    if (passed_listeners.size() > 1) {
      throw std::runtime_error(fmt::format(
          "systemd passed {} sockets; echo-server serves one (one ListenStream= in the .socket)",
          passed_listeners.size()));
    }
    const auto listener =
        passed_listeners.empty()
            ? std::make_unique<net::TcpListener>(net::parse_address(bind), port, listen_options)
            : std::make_unique<net::TcpListener>(net::TcpListener::Inherited{passed_listeners[0]});
    net::EngineOptions options{.threads = engine_threads, .on_data = {}, .on_running = {}};
    if (log.verbose()) {
      options.on_data = [&log](const net::ConnectionInfo& info, std::span<const std::byte> data) {
        log.data(info, data);
      };
    }
    // Said only once the engine's threads run, so that the line means "ready".
    options.on_running = [&listener] {
      std::printf("listening on %s\n", net::format_endpoint(listener->local_endpoint()).c_str());
    };
    const auto engine = net::make_echo_engine(*net::parse_engine_kind(engine_name), *listener,
                                              limits, log, std::move(options));
    net::EchoEngine& server = *engine;
    const auto stopper = signals.call_on_signal([&server] { server.stop(); });
    server.run();  // returns after stop(), every thread of the engine joined
    diagnostics.line(net::summary_line(server.stats()));
    return 0;
  } catch (const std::exception& error) {
    diagnostics.error(error.what());
    return app::kExitFailure;
  }
}
