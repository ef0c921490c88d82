// Integration: several real echo-server processes sharing one kernel-chosen loopback port through
// --reuse-port (docs/design.md, "Scaling out"). Only counts and verdicts are asserted; which
// process the kernel picks for a connection is its business, so the checks are "every process
// served some" and "the sums add up", never a split.
#include <doctest/doctest.h>

#include <signal.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/bytes.h"
#include "tests/support/echo_server_process.h"
#include "tests/support/process.h"
#include "tests/support/tcp_client.h"
#include "tests/support/text_checks.h"

using namespace std::chrono_literals;
using namespace testing_support;

namespace {

constexpr int kServers = 4;
constexpr int kConnections = 400;

// Starts echo-server on 127.0.0.1 `port` (already bound by another process) with `args`, and
// waits for "listening on"; the process is returned either way, so a failed start can be checked.
EchoServerProcess start_on_port(std::uint16_t port, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {program_path("echo-server"), "--bind", "127.0.0.1", "--port",
                                   std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  EchoServerProcess server;
  server.process = std::make_unique<ChildProcess>(argv);
  if (const auto line = server.process->wait_for_stdout("listening on ", 60s)) {
    server.listening_line = *line;
    server.port = port;
  }
  return server;
}

// Sends `text` on `client` and checks the same bytes come back.
bool echoes_on(Client& client, const std::string& text) {
  const auto message = bytes_of(text);
  if (!client.send_all(message, 20s)) return false;
  const auto back = client.read_exact(message.size(), 20s);
  return back.end == End::complete && back.data == message;
}

}  // namespace

TEST_CASE("four echo-servers with --reuse-port share one port and each serves some connections") {
  std::vector<EchoServerProcess> servers;
  servers.push_back(start_echo_server({"--bind", "127.0.0.1", "--reuse-port", "--quiet"}));
  const std::uint16_t port = servers.front().port;
  for (int i = 1; i < kServers; ++i) {
    servers.push_back(start_on_port(port, {"--reuse-port", "--quiet"}));
    REQUIRE_MESSAGE(!servers.back().listening_line.empty(),
                    servers.back().process->read_all_stderr(1s));
  }

  std::vector<Client> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(Client::connect("127.0.0.1", port));
    REQUIRE_MESSAGE(echoes_on(clients.back(), "hello " + std::to_string(i) + "\n"), "connection ",
                    i, " got no echo");
  }

  // The first process stops; the clients of the other three must not notice.
  const auto first = servers.front().stop(SIGTERM);
  REQUIRE(first.exit_code == 0);
  const auto served_by_first = first.count("served");
  CHECK(served_by_first > 0);
  int still_echoing = 0;
  for (int i = 0; i < kConnections; ++i) {
    if (echoes_on(clients[i], "again " + std::to_string(i) + "\n")) ++still_echoing;
  }
  CHECK(still_echoing == kConnections - served_by_first);

  // New connections go to the survivors only, and all are served.
  constexpr int kLater = 40;
  for (int i = 0; i < kLater; ++i) {
    auto client = Client::connect("127.0.0.1", port);
    REQUIRE_MESSAGE(echoes_on(client, "later " + std::to_string(i) + "\n"), "later connection ", i,
                    " got no echo");
  }

  clients.clear();
  std::int64_t total = served_by_first;
  for (int i = 1; i < kServers; ++i) {
    const auto stopped = servers[i].stop(SIGTERM);
    CHECK(stopped.exit_code == 0);
    const auto served = stopped.count("served");
    CAPTURE(i);
    CHECK(served > 0);
    total += served;
  }
  CHECK(total == kConnections + kLater);
}

TEST_CASE("without --reuse-port a second echo-server on a taken port fails with one line") {
  for (const bool first_reuses : {false, true}) {
    CAPTURE(first_reuses);
    std::vector<std::string> args = {"--bind", "127.0.0.1", "--quiet"};
    if (first_reuses) args.push_back("--reuse-port");
    auto first = start_echo_server(args);
    auto second = start_on_port(first.port, {"--quiet"});
    CHECK(second.listening_line.empty());
    CHECK(second.process->wait(60s) == 1);
    const auto error = second.process->read_all_stderr(5s);
    CHECK(count_lines(error) == 1);
    CHECK(error.find("in use") != std::string::npos);
    CHECK(echoes("127.0.0.1", first.port));  // the first one is untouched
    CHECK(first.stop(SIGTERM).exit_code == 0);
  }
}
