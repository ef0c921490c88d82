// udp-chat at a terminal, as a person uses it: in tmux, typed into with send-keys, its screen read
// with capture-pane, talking to a real udp-chat on 127.0.0.1 (stdin and stdout on pipes, so its
// received lines show exactly what was sent). Each test has a tmux server of its own. Ports come
// from the kernel; every wait is bounded; no timing assertions.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/chat/chat_harness.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tmux.h"

using namespace chat_test;
using namespace testing_support;

namespace {

// A udp-chat in tmux, sending to `peer`, its history under `state_home`.
struct TerminalChat {
  TmuxSession tmux;
  std::uint16_t port = 0;

  TerminalChat(const std::string& server, const Chat& peer, const std::string& state_home,
               std::vector<std::string> extra = {})
      : tmux(server, command(peer, std::move(extra)), {"XDG_STATE_HOME=" + state_home}) {
    REQUIRE(tmux.wait_for_text("listening on 127.0.0.1:", kWait));
    std::smatch found;
    const auto screen = tmux.screen();
    REQUIRE(std::regex_search(screen, found, std::regex("listening on 127\\.0\\.0\\.1:(\\d+)")));
    port = static_cast<std::uint16_t>(std::stoi(found[1]));
  }

  static std::vector<std::string> command(const Chat& peer, std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        program_path("udp-chat"), "--bind", "127.0.0.1", "--port", "0", "--no-log"};
    if (std::find(extra.begin(), extra.end(), "--menu") == extra.end()) {
      argv.push_back("--peer");
      argv.push_back("127.0.0.1:" + std::to_string(peer.port));
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // The last row with anything on it.
  std::string last_row() {
    auto rows = tmux.rows();
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    return rows.empty() ? std::string() : rows.back();
  }
};

// The next message the peer shows from `from`, without its ">>>(127.0.0.1, PORT):" prefix.
std::string received(Chat& peer, std::uint16_t from) {
  const auto prefix = fmt::format(">>>(127.0.0.1, {}):", from);
  const auto line = peer.process->wait_for_stdout(prefix, kWait);
  REQUIRE(line.has_value());
  return line->substr(line->find(prefix) + prefix.size());
}

bool skip_without_tmux() {
  if (const auto reason = tmux_unavailable()) {
    MESSAGE("skipped: " << *reason);
    return true;
  }
  return false;
}

}  // namespace

TEST_CASE("cursor keys, Home and End edit the line, and the peer gets what the user meant") {
  if (skip_without_tmux()) return;
  TempDir dir;
  auto peer = start_chat(dir, "peer", {"--bind", "127.0.0.1"});
  TerminalChat chat("udp-chat-test-keys", peer, dir.file("state"));
  chat.tmux.type("helo wrd");
  chat.tmux.keys({"Left"});
  chat.tmux.type("l");
  chat.tmux.keys({"Home", "Right", "Right", "Right"});
  chat.tmux.type("l");
  chat.tmux.keys({"End"});
  chat.tmux.type("!");
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "hello wrld!");
  // Ctrl-W deletes the word before the cursor, Ctrl-U everything before it.
  chat.tmux.type("one two");
  chat.tmux.keys({"C-w"});
  chat.tmux.type("three");
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "one three");
  chat.tmux.type("all gone");
  chat.tmux.keys({"C-u"});
  chat.tmux.type("kept");
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "kept");
  // Up recalls earlier lines, not an escape sequence.
  chat.tmux.keys({"Up", "Up", "Up"});
  REQUIRE(chat.tmux.wait_for([](const auto& rows) {
    return std::find(rows.begin(), rows.end(), "hello wrld!") != rows.end() &&
           std::count(rows.begin(), rows.end(), "hello wrld!") == 2;
  }));
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "hello wrld!");
}

TEST_CASE("Backspace over CJK deletes whole characters and the screen shows what was sent") {
  if (skip_without_tmux()) return;
  TempDir dir;
  auto peer = start_chat(dir, "peer", {"--bind", "127.0.0.1"});
  TerminalChat chat("udp-chat-test-cjk", peer, dir.file("state"));
  chat.tmux.type("中文退格测试");
  REQUIRE(chat.tmux.wait_for_text("中文退格测试"));
  chat.tmux.keys({"BSpace", "BSpace"});
  chat.tmux.type("好了");
  REQUIRE(chat.tmux.wait_for_text("中文退格好了"));
  CHECK(chat.last_row() == "中文退格好了");
  // Six wide characters: the cursor is twelve columns in.
  CHECK(chat.tmux.wait_for([&](const auto&) { return chat.tmux.cursor().first == 12; }));
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "中文退格好了");
}

TEST_CASE("a message arriving mid-line shows above the prompt and the half-typed line is intact") {
  if (skip_without_tmux()) return;
  TempDir dir;
  auto peer = start_chat(dir, "peer", {"--bind", "127.0.0.1"});
  TerminalChat chat("udp-chat-test-interrupt", peer, dir.file("state"));
  peer.type(fmt::format("/peer 127.0.0.1:{}", chat.port));
  REQUIRE(peer.process->wait_for_stdout("sending to", kWait));
  chat.tmux.type("I am in the middle of typ");
  REQUIRE(chat.tmux.wait_for_text("I am in the middle of typ"));
  chat.tmux.keys({"Left", "Left"});
  REQUIRE(chat.tmux.wait_for([&](const auto&) { return chat.tmux.cursor().first == 23; }));
  peer.type("interrupting message from B");
  const auto message = fmt::format(">>>(127.0.0.1, {}):interrupting message from B", peer.port);
  REQUIRE(chat.tmux.wait_for_text(message));
  // The message is written first and the line drawn again after it: wait for both.
  const auto drawn_again = [&](const std::vector<std::string>& screen) {
    auto rows = screen;
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    return rows.size() >= 2 && rows[rows.size() - 2] == message &&
           rows.back() == "I am in the middle of typ";
  };
  CHECK(chat.tmux.wait_for(drawn_again));
  // The cursor where it was, two to the left of the end, on the line's row.
  CHECK(chat.tmux.wait_for([&](const std::vector<std::string>& screen) {
    auto rows = screen;
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    const auto [column, row] = chat.tmux.cursor();
    return column == 23 && row == static_cast<int>(rows.size()) - 1;
  }));
  chat.tmux.keys({"End"});
  chat.tmux.type("ing");
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "I am in the middle of typing");
}

TEST_CASE("the history survives a restart and its file is private") {
  if (skip_without_tmux()) return;
  TempDir dir;
  auto peer = start_chat(dir, "peer", {"--bind", "127.0.0.1"});
  {
    TerminalChat first("udp-chat-test-history-1", peer, dir.file("state"));
    first.tmux.type("remember me");
    first.tmux.keys({"Enter"});
    CHECK(received(peer, first.port) == "remember me");
    first.tmux.type("/quit");
    first.tmux.keys({"Enter"});
    CHECK(first.tmux.wait_for_exit() == 0);
  }
  struct stat info {};
  REQUIRE(::stat(dir.file("state/udp-chat/history").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  TerminalChat second("udp-chat-test-history-2", peer, dir.file("state"));
  second.tmux.keys({"Up", "Up"});  // "/quit", then the line before it
  REQUIRE(second.tmux.wait_for_text("remember me"));
  CHECK(second.last_row() == "remember me");
  second.tmux.keys({"Enter"});
  CHECK(received(peer, second.port) == "remember me");
}

TEST_CASE("a history file that cannot be written is said once and the chat goes on") {
  if (skip_without_tmux()) return;
  TempDir dir;
  auto peer = start_chat(dir, "peer", {"--bind", "127.0.0.1"});
  const auto blocker = dir.file("not-a-folder");
  std::ofstream(blocker) << "a file where the history's folder must be\n";
  TerminalChat chat("udp-chat-test-history-fails", peer, blocker);
  chat.tmux.type("first");
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "first");
  // Said at start (the folder cannot even be read), once.
  REQUIRE(chat.tmux.wait_for_text("the history file " + blocker + "/udp-chat/history"));
  chat.tmux.type("second");
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "second");
  const auto screen = chat.tmux.screen();
  std::size_t notices = 0;
  for (auto at = screen.find("history file"); at != std::string::npos;
       at = screen.find("history file", at + 1)) {
    ++notices;
  }
  CHECK(notices == 1);
}

TEST_CASE("menu prompts keep the cursor on the prompt line") {
  if (skip_without_tmux()) return;
  TempDir dir;
  auto peer = start_chat(dir, "peer", {"--bind", "127.0.0.1"});
  TerminalChat chat("udp-chat-test-menu", peer, dir.file("state"), {"--menu"});
  const auto on_prompt_line = [&](const std::string& prompt_start) {
    return chat.tmux.wait_for([&](const std::vector<std::string>& rows) {
      const auto [column, row] = chat.tmux.cursor();
      if (row < 0 || row >= static_cast<int>(rows.size())) return false;
      const auto& line = rows[static_cast<std::size_t>(row)];
      return line.rfind(prompt_start, 0) == 0 && column == static_cast<int>(line.size()) + 1;
    });
  };
  CHECK(on_prompt_line("choose 1 or 2:"));
  chat.tmux.type("1");
  chat.tmux.keys({"Enter"});
  CHECK(on_prompt_line("IP address"));
  chat.tmux.type("127.0.0.1");
  chat.tmux.keys({"Enter"});
  CHECK(on_prompt_line("port"));
  chat.tmux.type(std::to_string(peer.port));
  chat.tmux.keys({"Enter"});
  REQUIRE(chat.tmux.wait_for_text("sending to 127.0.0.1:"));
  chat.tmux.type("hi from the menu");
  chat.tmux.keys({"Enter"});
  CHECK(received(peer, chat.port) == "hi from the menu");
}

TEST_CASE("Ctrl-C in the line editor stops the chat cleanly with its summary") {
  if (skip_without_tmux()) return;
  TempDir dir;
  auto peer = start_chat(dir, "peer", {"--bind", "127.0.0.1"});
  TerminalChat chat("udp-chat-test-ctrl-c", peer, dir.file("state"));
  chat.tmux.type("half a line");
  REQUIRE(chat.tmux.wait_for_text("half a line"));
  chat.tmux.keys({"C-c"});
  CHECK(chat.tmux.wait_for_exit() == 0);
  CHECK(chat.tmux.wait_for_text("summary: sent=0"));
}
