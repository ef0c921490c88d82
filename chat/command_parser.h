#pragma once

#include <string>
#include <string_view>

#include "net/endpoint.h"

namespace chat {

// What one line typed in line mode (the default) asks for. Parsing is pure: no I/O, no name
// resolution, no exceptions; a fuzz target calls these functions directly.
//   /peer HOST:PORT   -> peer (HOST a name or address, IPv6 in brackets: [::1]:7890)
//   /peer NAME        -> peer_name (a name peers announce, like alice@lab; no ':' in it)
//   /who              -> who (the peers discovered on the LAN)
//   /quit             -> quit
//   /help, /?         -> help
//   //text            -> send "/text" (a line that starts with '/')
//   (empty line)      -> nothing
//   /anything-else    -> invalid, with a message
//   anything else     -> send the line as it is
struct Command {
  enum class Kind { send, peer, quit, help, nothing, invalid, who, peer_name };
  Kind kind = Kind::nothing;
  // send: the line to send; invalid: a one-line message for the user; peer_name: the name
  std::string text;
  net::HostPort peer;  // peer
};

// Thread-safe (pure).
Command parse_command(std::string_view line);

// The one-line help shown for /help, lines separated by '\n'. Thread-safe.
std::string_view command_help();

// The classic menu flow of the Python chat this replaces (--menu), as a pure state machine: the
// caller shows menu_prompt(state), reads a line, calls menu_step, acts on the result and shows its
// message (if any) and the next prompt. Bad input keeps the state and explains what is wanted.
//   choosing     "1" -> asking_ip; "2" -> quit
//   asking_ip    a literal IPv4/IPv6 address (not empty, not 256.1.1.1) -> asking_port
//   asking_port  1..65535 (not abc, 0, 65536) -> sending, with the new peer
//   sending      a non-empty line -> send it; an empty line -> back to choosing
enum class MenuState { choosing, asking_ip, asking_port, sending };

struct MenuContext {
  MenuState state = MenuState::choosing;
  std::string ip;  // asking_port: the address entered, as typed (trimmed)
};

struct MenuStep {
  enum class Action { none, quit, set_peer, send };
  MenuContext next;
  Action action = Action::none;
  net::HostPort peer;   // set_peer
  std::string text;     // send
  std::string message;  // a one-line explanation for bad input, to show before the prompt
};

// Thread-safe (pure).
MenuStep menu_step(const MenuContext& context, std::string_view line);

// The prompt to show in `state` (may span lines, separated by '\n'). Thread-safe.
std::string_view menu_prompt(MenuState state);

}  // namespace chat
