// Interop: the tools people talk to the server with (nc from netcat-openbsd, ncat, socat), over
// 127.0.0.1 and ::1, get their bytes back: a file of random bytes (every byte value) compared
// byte for byte. Each tool runs under `timeout`, so a hang is a failure, not a stuck test.
#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/bytes.h"
#include "tests/support/echo_server_process.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_files.h"

using namespace testing_support;

namespace {

constexpr std::size_t kFileBytes = 256 * 1024;
const char* const kHosts[] = {"127.0.0.1", "::1"};

// A private temporary folder with the random input file, removed at the end.
class Scratch {
 public:
  Scratch() : input_(random_bytes(kFileBytes, 2026)) {
    std::ofstream out(input_path(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(input_.data()),
              static_cast<std::streamsize>(input_.size()));
  }

  std::string input_path() const { return dir_.file("input.bin"); }
  std::string output_path(const std::string& name) const { return dir_.file(name); }
  const Bytes& input() const { return input_; }
  // What a tool wrote to output_path(name).
  Bytes output(const std::string& name) const { return bytes_of(read_file(output_path(name))); }

 private:
  TempDir dir_{"echo-interop"};
  Bytes input_;
};

// Paths here are ours (mkdtemp), but quote them anyway.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

void require_tool(const std::string& name) {
  REQUIRE_MESSAGE(!find_in_path(name).empty(), name << " is not installed (scripts/setup.sh "
                                                       "installs netcat-openbsd, ncat, socat)");
}

// Runs `client_command` (reading the input file, writing `name`), under timeout, and checks
// that the output is the input, byte for byte.
void check_file_echo(const Scratch& scratch, const std::string& name,
                     const std::string& client_command) {
  const auto output = scratch.output_path(name);
  const std::string command = "timeout 60 " + client_command + " < " +
                              quoted(scratch.input_path()) + " > " + quoted(output);
  CAPTURE(command);
  const auto run = run_command(command);
  CHECK(run.exit_code == 0);
  const auto echoed = scratch.output(name);
  CHECK(echoed.size() == scratch.input().size());
  CHECK(echoed == scratch.input());
}

}  // namespace

TEST_CASE("nc (netcat-openbsd) -N echoes a binary file over 127.0.0.1 and ::1") {
  require_tool("nc");
  const auto help = run_command("nc -h 2>&1");
  REQUIRE_MESSAGE(help.output.find("OpenBSD") != std::string::npos,
                  "nc is not netcat-openbsd: " << help.output.substr(0, 200));
  Scratch scratch;
  auto server = start_echo_server();
  for (const std::string host : kHosts) {
    // -N: shut the socket's sending side at the end of the file, then read until the server's
    // end of stream. Everything must come back before that.
    check_file_echo(scratch, "nc-" + host,
                    "nc -N " + host + " " + std::to_string(server.port));
  }
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == 2);
  CHECK(stopped.count("bytes") == static_cast<std::int64_t>(2 * kFileBytes));
}

TEST_CASE("printf 'hi\\n' | nc -q1 gets hi back, as the README shows") {
  require_tool("nc");
  auto server = start_echo_server();
  for (const std::string host : kHosts) {
    CAPTURE(host);
    const auto run = run_command("printf 'hi\\n' | timeout 30 nc -q1 " + host + " " +
                                 std::to_string(server.port));
    CHECK(run.exit_code == 0);
    CHECK(run.output == "hi\n");
  }
  CHECK(server.stop(SIGTERM).exit_code == 0);
}

TEST_CASE("ncat echoes a binary file over 127.0.0.1 and ::1") {
  require_tool("ncat");
  Scratch scratch;
  auto server = start_echo_server();
  for (const std::string host : kHosts) {
    // ncat half-closes at the end of its input and exits at the server's end of stream.
    check_file_echo(scratch, "ncat-" + host, "ncat " + host + " " + std::to_string(server.port));
  }
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == 2);
  CHECK(stopped.count("bytes") == static_cast<std::int64_t>(2 * kFileBytes));
}

TEST_CASE("socat echoes a binary file over 127.0.0.1 and ::1") {
  require_tool("socat");
  Scratch scratch;
  auto server = start_echo_server();
  const auto port = std::to_string(server.port);
  // -t 30: after the end of its input, socat half-closes and waits (up to 30 s, not its default
  // 0.5 s) for the rest of the echo and the server's end of stream.
  check_file_echo(scratch, "socat-v4", "socat -t 30 - TCP4:127.0.0.1:" + port);
  check_file_echo(scratch, "socat-v6", "socat -t 30 - TCP6:[::1]:" + port);
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == 2);
  CHECK(stopped.count("bytes") == static_cast<std::int64_t>(2 * kFileBytes));
}

TEST_CASE("several tools at once, each gets its own bytes") {
  require_tool("nc");
  require_tool("ncat");
  require_tool("socat");
  Scratch scratch;
  auto server = start_echo_server({"--quiet"});
  const auto port = std::to_string(server.port);
  // One shell runs them in parallel and waits for all; each is bounded by timeout.
  const std::string in = quoted(scratch.input_path());
  const std::string command =
      "timeout 60 nc -N 127.0.0.1 " + port + " < " + in + " > " +
      quoted(scratch.output_path("p-nc")) + " & " +
      "timeout 60 ncat ::1 " + port + " < " + in + " > " + quoted(scratch.output_path("p-ncat")) +
      " & " + "timeout 60 socat -t 30 - TCP6:[::1]:" + port + " < " + in + " > " +
      quoted(scratch.output_path("p-socat")) + " & wait";
  run_command(command);
  for (const std::string name : {"p-nc", "p-ncat", "p-socat"}) {
    CAPTURE(name);
    CHECK(scratch.output(name) == scratch.input());
  }
  const auto stopped = server.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.count("served") == 3);
}
