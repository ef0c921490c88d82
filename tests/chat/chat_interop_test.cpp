// udp-chat against the tools people chat with: nc -u (OpenBSD netcat) and socat. They send what
// is typed including its newline, and print what arrives as it is.
#include <doctest/doctest.h>

#include <signal.h>

#include <string>

#include "tests/chat/chat_harness.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_files.h"

using namespace chat_test;
using namespace testing_support;

namespace {

// The tool's command line with PORT filled in.
std::string with_port(std::string command, std::uint16_t port) {
  return command.replace(command.find("PORT"), 4, std::to_string(port));
}

// `tool_command` talks to the chat on 127.0.0.1:PORT; its stdout goes to a file.
void talk_with(const std::string& tool, const std::string& tool_command) {
  if (find_in_path(tool).empty()) {
    MESSAGE("SKIPPED: " << tool << " is not installed (scripts/setup.sh installs it)");
    return;
  }
  TempDir dir;
  auto chat = start_chat(dir, "chat", {"--bind", "127.0.0.1"});
  const auto out = dir.file(tool + ".out");
  ChildProcess other(
      {"/bin/sh", "-c", "exec " + with_port(tool_command, chat.port) + " > '" + out + "'"});
  other.write_stdin("hello from " + tool + "\n");
  // The chat shows the real sender; the tool's newline ends the line on screen (the log keeps
  // it, escaped).
  const auto line = chat.process->wait_for_stdout("hello from " + tool, kWait);
  REQUIRE(line);
  CHECK(line->ends_with(":hello from " + tool));
  const auto open = line->find(", ");
  const auto close = line->find("):");
  REQUIRE(open != std::string::npos);
  const auto tool_port = line->substr(open + 2, close - open - 2);
  CHECK(line->starts_with(">>>(127.0.0.1, "));
  // Reply to it: the tool prints exactly the bytes sent (the file's last line, with no newline).
  chat.type("/peer 127.0.0.1:" + tool_port);
  chat.type("hi " + tool + ", 你好");
  CHECK(wait_for_file_line(out, "hi " + tool + ", 你好"));
  other.write_stdin("second\n");
  const auto second = chat.process->wait_for_stdout(":second", kWait);
  REQUIRE(second);
  CHECK(second->ends_with(":second"));
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
  CHECK(chat.summary.count("sent") == 1);
  CHECK(chat.summary.count("received") == 2);
  const auto log = read_lines(chat.log);
  REQUIRE(log.size() == 3);
  CHECK(count_log_lines(log, "<<<(127.0.0.1, " + tool_port + "):hi " + tool + ", 你好") == 1);
  // The reply was typed after the message was on the screen, so the log has them in that order.
  const auto hello =
      find_log_line(log, ">>>(127.0.0.1, " + tool_port + "):hello from " + tool + "\\n");
  const auto reply =
      find_log_line(log, "<<<(127.0.0.1, " + tool_port + "):hi " + tool + ", 你好");
  REQUIRE(hello);
  REQUIRE(reply);
  CHECK(*hello < *reply);
  other.signal(SIGTERM);
  other.wait(kWait);
}

}  // namespace

TEST_CASE("interop: nc -u as the other side") {
  talk_with("nc", "nc -u 127.0.0.1 PORT");
}

TEST_CASE("interop: socat as the other side") {
  talk_with("socat", "socat STDIO UDP:127.0.0.1:PORT");
}
