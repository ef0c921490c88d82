#include <doctest/doctest.h>

#include <string>

#include "chat/command_parser.h"

using chat::Command;
using chat::menu_step;
using chat::MenuContext;
using chat::MenuState;
using chat::MenuStep;
using chat::parse_command;

TEST_CASE("commands: lines, /peer, /quit, /help, //escape") {
  CHECK(parse_command("hello").kind == Command::Kind::send);
  CHECK(parse_command("hello").text == "hello");
  CHECK(parse_command("").kind == Command::Kind::nothing);
  CHECK(parse_command("   ").kind == Command::Kind::send);  // spaces are a message
  const auto peer = parse_command("/peer 127.0.0.1:7890");
  REQUIRE(peer.kind == Command::Kind::peer);
  CHECK(peer.peer == net::HostPort{"127.0.0.1", 7890});
  CHECK(parse_command("/peer   [::1]:9  ").peer == net::HostPort{"::1", 9});
  CHECK(parse_command("/peer chat.example:7890").peer == net::HostPort{"chat.example", 7890});
  CHECK(parse_command("/quit").kind == Command::Kind::quit);
  CHECK(parse_command("/quit ").kind == Command::Kind::quit);
  CHECK(parse_command("/help").kind == Command::Kind::help);
  CHECK(parse_command("//not a command").text == "/not a command");
  CHECK(parse_command("//not a command").kind == Command::Kind::send);
}

TEST_CASE("commands: bad input gets a clear one-line message") {
  const std::string bad[] = {"/peer",
                             "/peer 127.0.0.1",
                             "/peer 127.0.0.1:0",
                             "/peer 127.0.0.1:65536",
                             "/peer 127.0.0.1:abc",
                             "/peer ::1:7890",
                             "/peer :7890",
                             "/frobnicate",
                             "/quit now",
                             "/peer a\x1b[2Jb:1"};
  for (const auto& line : bad) {
    const auto command = parse_command(line);
    CAPTURE(line);
    CHECK(command.kind == Command::Kind::invalid);
    CHECK_FALSE(command.text.empty());
    CHECK(command.text.find('\n') == std::string::npos);
    CHECK(command.text.find('\x1b') == std::string::npos);
  }
  CHECK(parse_command("/peer 127.0.0.1:abc").text.find("bad port") != std::string::npos);
  CHECK(parse_command("/frobnicate").text.find("/help") != std::string::npos);
}

TEST_CASE("menu: the classic flow, 1 send, IP, port, lines until an empty one, 2 quit") {
  MenuContext context;
  auto step = menu_step(context, "1");
  CHECK(step.action == MenuStep::Action::none);
  CHECK(step.next.state == MenuState::asking_ip);
  step = menu_step(step.next, "127.0.0.1");
  CHECK(step.next.state == MenuState::asking_port);
  step = menu_step(step.next, "7890");
  REQUIRE(step.action == MenuStep::Action::set_peer);
  CHECK(step.peer == net::HostPort{"127.0.0.1", 7890});
  CHECK(step.next.state == MenuState::sending);
  step = menu_step(step.next, "你好");
  CHECK(step.action == MenuStep::Action::send);
  CHECK(step.text == "你好");
  CHECK(step.next.state == MenuState::sending);
  step = menu_step(step.next, "");
  CHECK(step.action == MenuStep::Action::none);
  CHECK(step.next.state == MenuState::choosing);
  step = menu_step(step.next, " 2 ");
  CHECK(step.action == MenuStep::Action::quit);
}

TEST_CASE("menu: IPv6 with or without brackets") {
  auto step = menu_step(MenuContext{MenuState::asking_ip, {}}, "[::1]");
  REQUIRE(step.next.state == MenuState::asking_port);
  step = menu_step(step.next, "9");
  CHECK(step.peer == net::HostPort{"::1", 9});
  step = menu_step(MenuContext{MenuState::asking_ip, {}}, "::1");
  step = menu_step(step.next, "9");
  CHECK(step.peer == net::HostPort{"::1", 9});
}

TEST_CASE("menu: bad input re-prompts with a clear message and keeps the state") {
  struct Case {
    MenuContext context;
    std::string line;
    std::string expected;
  };
  const MenuContext ip{MenuState::asking_ip, {}};
  const MenuContext port{MenuState::asking_port, "127.0.0.1"};
  const Case cases[] = {
      {MenuContext{}, "3", "1"},
      {MenuContext{}, "", "1"},
      {MenuContext{}, "abc", "1"},
      {ip, "", "empty"},
      {ip, "   ", "empty"},
      {ip, "256.1.1.1", "bad address"},
      {ip, "localhost", "bad address"},
      {ip, "1.2.3", "bad address"},
      {port, "abc", "bad port"},
      {port, "0", "bad port"},
      {port, "65536", "bad port"},
      {port, "-1", "bad port"},
      {port, "", "bad port"},
      {port, "80x", "bad port"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    const auto step = menu_step(c.context, c.line);
    CHECK(step.action == MenuStep::Action::none);
    CHECK(step.next.state == c.context.state);
    CHECK(step.message.find(c.expected) != std::string::npos);
    CHECK(step.message.find('\n') == std::string::npos);
  }
}

TEST_CASE("menu: prompts exist for every state") {
  for (auto state :
       {MenuState::choosing, MenuState::asking_ip, MenuState::asking_port, MenuState::sending}) {
    CHECK_FALSE(chat::menu_prompt(state).empty());
  }
  CHECK_FALSE(chat::command_help().empty());
}

TEST_CASE("/who lists peers and /peer NAME picks one by its announced name") {
  CHECK(parse_command("/who").kind == Command::Kind::who);
  CHECK(parse_command("/who now").kind == Command::Kind::invalid);
  const auto by_name = parse_command("/peer alice@lab");
  REQUIRE(by_name.kind == Command::Kind::peer_name);
  CHECK(by_name.text == "alice@lab");
  CHECK(parse_command("/peer  bob 李 ").text == "bob 李");
  // A port makes it HOST:PORT; an address without a port stays an error, as before.
  CHECK(parse_command("/peer alice:7890").kind == Command::Kind::peer);
  CHECK(parse_command("/peer 127.0.0.1").kind == Command::Kind::invalid);
  CHECK(parse_command("/peer ::1").kind == Command::Kind::invalid);
  // A name that cannot have been announced (a control character) is no name.
  CHECK(parse_command("/peer a\x1b[2Jb").kind == Command::Kind::invalid);
  CHECK(chat::command_help().find("/who") != std::string_view::npos);
}
