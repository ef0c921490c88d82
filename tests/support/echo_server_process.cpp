#include "tests/support/echo_server_process.h"

#include <cstdlib>
#include <stdexcept>

#include "tests/support/deadline.h"
#include "tests/support/eventually.h"
#include "tests/support/proc_stats.h"

namespace testing_support {

using namespace std::chrono_literals;

namespace {

// A count read until two readings in a row agree (bounded: 5 s), so a figure still settling
// after start (threads a sanitizer runtime adds, say) is not taken too early.
template <typename Count>
std::size_t settled(Count count) {
  std::size_t last = 0;
  eventually(
      [&] {
        const auto now = count();
        const bool same = now == last;
        last = now;
        return same;
      },
      5s);
  return last;
}

}  // namespace

EchoServerProcess start_echo_server(const std::vector<std::string>& extra_args,
                                    const std::vector<std::string>& wrapper) {
  return start_echo_server_at(program_path("echo-server"), extra_args, wrapper);
}

EchoServerProcess start_echo_server_at(const std::string& program,
                                       const std::vector<std::string>& extra_args,
                                       const std::vector<std::string>& wrapper) {
  std::vector<std::string> argv = wrapper;
  argv.push_back(program);
  argv.push_back("--port");
  argv.push_back("0");
  EchoServerProcess server;
  // ctest runs the echo suites once per engine (tests/echo/CMakeLists.txt).
  if (const char* engine = std::getenv("SUITE_ENGINE"); engine != nullptr && *engine != '\0') {
    argv.push_back("--engine");
    argv.push_back(engine);
    server.engine = engine;
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  server.process = std::make_unique<ChildProcess>(argv);
  const auto line = server.process->wait_for_stdout("listening on ", 60s);
  if (!line) {
    throw std::runtime_error("echo-server did not start: " + server.process->read_all_stderr(1s));
  }
  server.listening_line = *line;
  server.port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  return server;
}

StoppedServer EchoServerProcess::stop(int signal, std::chrono::milliseconds limit) {
  process->signal(signal);
  StoppedServer stopped;
  const auto deadline = Clock::now() + limit;
  // Drain stderr while waiting, so a chatty server never blocks on a full pipe.
  while (!stopped.exit_code && Clock::now() < deadline) {
    process->stderr_so_far();
    stopped.exit_code = process->wait(100ms);
  }
  stopped.stderr_text = process->read_all_stderr(5s);
  stopped.summary = Summary::parse(stopped.stderr_text);
  return stopped;
}

std::size_t EchoServerProcess::idle_threads() const {
  return settled([&] { return count_threads(pid()); });
}

ServerFootprint EchoServerProcess::idle_footprint() const {
  const auto threads = idle_threads();
  return {.threads = threads, .sockets = settled([&] { return count_sockets(pid()); })};
}

bool EchoServerProcess::holds(const ServerFootprint& idle, std::size_t connections) const {
  const auto threads = idle.threads + (thread_per_connection() ? connections : 0);
  return count_sockets(pid()) == idle.sockets + connections && count_threads(pid()) == threads;
}

std::size_t EchoServerProcess::connections_beyond(const ServerFootprint& idle) const {
  const auto sockets = count_sockets(pid());
  return sockets > idle.sockets ? sockets - idle.sockets : 0;
}

bool echoes(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  auto client = Client::try_connect(host, port, timeout);
  if (!client) return false;
  const auto message = bytes_of("are you there?\n");
  if (!client->send_all(message, timeout)) return false;
  const auto back = client->read_exact(message.size(), timeout);
  return back.end == End::complete && back.data == message;
}

std::vector<Client> hold_served(const std::string& host, std::uint16_t port, int count) {
  std::vector<Client> held;
  for (int i = 0; i < count; ++i) {
    held.push_back(Client::connect(host, port));
    const auto hello = bytes_of("held " + std::to_string(i));
    if (!held.back().send_all(hello) || held.back().read_exact(hello.size()).data != hello) {
      throw std::runtime_error("connection " + std::to_string(i) + " was not served");
    }
  }
  return held;
}

}  // namespace testing_support
