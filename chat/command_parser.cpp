#include "chat/command_parser.h"

#include <exception>

#include "base/text_escape.h"
#include "chat/protocol.h"
#include "net/error.h"

namespace chat {

namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(kBlank);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kBlank);
  return text.substr(first, last - first + 1);
}

using base::quote_for_error;

bool is_address(std::string_view text) {
  try {
    net::parse_address(text);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

Command invalid(std::string message) {
  return Command{Command::Kind::invalid, std::move(message), {}};
}

}  // namespace

Command parse_command(std::string_view line) {
  if (line.empty()) return Command{};
  if (line.front() != '/') return Command{Command::Kind::send, std::string(line), {}};
  if (line.starts_with("//")) return Command{Command::Kind::send, std::string(line.substr(1)), {}};
  const auto space = line.find_first_of(" \t");
  const std::string_view name = line.substr(0, space);
  const std::string_view argument =
      space == std::string_view::npos ? std::string_view() : trim(line.substr(space));
  if (name == "/peer") {
    if (argument.empty())
      return invalid("usage: /peer HOST:PORT (IPv6 as [::1]:7890) or /peer NAME");
    if (argument.find(':') == std::string_view::npos && valid_peer_name(argument) &&
        !is_address(argument)) {
      // No port: the name a peer announced (a literal address without a port stays an error).
      return Command{Command::Kind::peer_name, std::string(argument), {}};
    }
    try {
      return Command{Command::Kind::peer, {}, net::parse_host_port(argument)};
    } catch (const std::exception& error) {
      return invalid(error.what());
    }
  }
  if (name == "/quit" || name == "/exit") {
    if (!argument.empty()) return invalid(name == "/quit" ? "usage: /quit" : "usage: /exit");
    return Command{Command::Kind::quit, {}, {}};
  }
  if (name == "/help" || name == "/?") return Command{Command::Kind::help, {}, {}};
  if (name == "/who") {
    if (!argument.empty()) return invalid("usage: /who");
    return Command{Command::Kind::who, {}, {}};
  }
  return invalid("unknown command " + quote_for_error(name) +
                 "; type /help (start a line with // to send "
                 "a line that begins with /)");
}

std::string_view command_help() {
  return "commands:\n"
         "  /peer HOST:PORT  send the following lines to HOST:PORT (IPv6 as [::1]:7890)\n"
         "  /peer NAME       send them to the peer that announced NAME (see /who)\n"
         "  /who             the peers discovered on the LAN\n"
         "  /quit            stop (end of input, Ctrl-D, does too)\n"
         "  /help            this text\n"
         "  //text           send a line that starts with '/'\n"
         "any other line is sent to the current peer";
}

MenuStep menu_step(const MenuContext& context, std::string_view line) {
  MenuStep step;
  step.next = context;
  switch (context.state) {
    case MenuState::choosing: {
      const auto choice = trim(line);
      if (choice == "1") {
        step.next = MenuContext{MenuState::asking_ip, {}};
      } else if (choice == "2") {
        step.action = MenuStep::Action::quit;
      } else {
        step.message = "please type 1 (send messages) or 2 (quit), not " + quote_for_error(choice);
      }
      return step;
    }
    case MenuState::asking_ip: {
      const auto ip = trim(line);
      if (ip.empty()) {
        step.message = "the IP address is empty; type one like 192.168.1.20 or ::1";
        return step;
      }
      try {
        net::parse_address(ip);
      } catch (const std::exception& error) {
        step.message = error.what();
        return step;
      }
      step.next = MenuContext{MenuState::asking_port, std::string(ip)};
      return step;
    }
    case MenuState::asking_port: {
      try {
        const auto port = net::parse_port(trim(line));
        std::string host = context.ip;
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
          host = host.substr(1, host.size() - 2);
        }
        step.peer = net::HostPort{std::move(host), port};
        step.action = MenuStep::Action::set_peer;
        step.next = MenuContext{MenuState::sending, {}};
      } catch (const std::exception& error) {
        step.message = error.what();
      }
      return step;
    }
    case MenuState::sending:
      if (line.empty()) {
        step.next = MenuContext{MenuState::choosing, {}};
      } else {
        step.action = MenuStep::Action::send;
        step.text = std::string(line);
      }
      return step;
  }
  return step;
}

std::string_view menu_prompt(MenuState state) {
  switch (state) {
    case MenuState::choosing:
      return "1: send messages\n2: quit\nchoose 1 or 2:";
    case MenuState::asking_ip:
      return "peer IP address (like 192.168.1.20 or ::1):";
    case MenuState::asking_port:
      return "peer port (1-65535):";
    case MenuState::sending:
      return "type messages, one per line; an empty line goes back to the menu:";
  }
  return "";
}

}  // namespace chat
